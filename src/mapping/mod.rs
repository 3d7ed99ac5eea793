//! Automap: which source column goes to which destination field, and which source value to
//! which enum option. Pure: names in, pairs out.
//!
//! Names are compared after normalising case, spaces and punctuation: first the key, the
//! label and the alternative names, then the usual names of the usual fields (see
//! `concepts`), then by similarity of their letter pairs. No field
//! receives two columns, and no column goes to two fields.

mod concepts;
mod countries;
mod country_exonyms;
#[cfg(test)]
mod quality;
mod sides;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_countries;
mod units;
mod vocabulary;

use serde::{Deserialize, Serialize};

/// A column of the source sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceColumn {
    pub key: String,
    pub label: String,
}

/// A field of the destination sheet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetField {
    pub key: String,
    pub label: String,
    pub alternative_names: Vec<String>,
}

/// Flatfile's certainty of an edge, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    Weak,
    Moderate,
    Strong,
    Absolute,
}

/// A source column mapped to a destination field.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub source: usize,
    pub target: usize,
    pub certainty: Certainty,
    pub confidence: f64,
}

/// Lowercase letters and digits only, accents aside: "First Name", "first_name" and
/// "FIRST-NAME" agree, as do "Âge" and "age".
pub fn normalise(name: &str) -> String {
    crate::names::without_accents(name)
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Sørensen–Dice similarity of the letter pairs of two normalised names, 0 to 1.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (normalise(a), normalise(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let pairs = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() == 1 {
            return vec![(chars[0], ' ')];
        }
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (pa, mut pb) = (pairs(&a), pairs(&b));
    let total = pa.len() + pb.len();
    let mut common = 0;
    for p in &pa {
        if let Some(i) = pb.iter().position(|q| q == p) {
            pb.swap_remove(i);
            common += 1;
        }
    }
    (2 * common) as f64 / total as f64
}

/// Whether two names share a word but each has another word unlike any of the other's:
/// one word swapped for an unlike one names another field, whatever letters the names
/// share (`First Name (2)` is no `Last name`, `Shipping cost (EUR)` no `Shipping country`:
/// probe 54b 7, 8). Numbers are left out; a word like another is the same word, one of
/// them its start (`Ship`, `Shipping`) or most of their letter pairs shared.
fn one_word_swapped(a: &str, b: &str) -> bool {
    let words = |name: &str| -> Vec<String> {
        concepts::tokens(name)
            .into_iter()
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
            .collect()
    };
    let like = |x: &str, y: &str| {
        x == y
            || (x.len() >= 2 && y.starts_with(x))
            || (y.len() >= 2 && x.starts_with(y))
            || similarity(x, y) >= WEAK_AT
    };
    let (wa, wb) = (words(a), words(b));
    let only = |these: &[String], those: &[String]| {
        these.iter().filter(|w| !those.iter().any(|o| like(w, o))).count()
    };
    let (only_a, only_b) = (only(&wa, &wb), only(&wb, &wa));
    only_a > 0 && only_b > 0 && only_a < wa.len()
}

/// Similarity at or above which a pair is proposed at all.
pub const WEAK_AT: f64 = 0.6;
/// Similarity at or above which a pair is `moderate`.
pub const MODERATE_AT: f64 = 0.8;

/// How well a column fits a field, if at all: a column in another unit than the field's
/// (`Weight (lbs)` for `Weight (kg)`) is a guess at most.
pub fn score(source: &SourceColumn, target: &TargetField) -> Option<(Certainty, f64)> {
    // A file's column key is its header with only the ASCII letters and digits left
    // (`Item #` is `item`, `Price [€]` is `price`): it says less than the header, and
    // read alone it made `Item #` a product name (probe 54b 6, 11).
    let key_says_more = crate::extract::header::key_of(&source.label)
        .is_none_or(|k| k != source.key && !source.key.starts_with(&format!("{k}_")));
    let names: Vec<&str> = match key_says_more {
        true => vec![source.label.as_str(), source.key.as_str()],
        false => vec![source.label.as_str()],
    };
    let found = score_names(&names, target)?;
    let field = format!("{} {}", target.key, target.label);
    let other_unit = names.iter().any(|n| units::disagree(n, &field));
    // `Email 2`, `Price 2`: a second one of the field's kind, unless the field is numbered
    // alike (`Address 2` for `Address line 2`).
    let second = number_after(&source.label).is_some_and(|n| {
        n >= 2 && number_after(&target.label) != Some(n) && number_after(&target.key) != Some(n)
    });
    match (other_unit || second) && found.0 > Certainty::Weak {
        true => Some((Certainty::Weak, WEAK_AT)),
        false => Some(found),
    }
}

/// The small number a name ends with (`Email 2`, `phone2`), not a year.
fn number_after(name: &str) -> Option<u32> {
    let last = concepts::tokens(name).pop()?;
    last.parse().ok().filter(|n| *n < 100)
}

/// Whether a name says a whole name and nothing besides (`Full Name`, `Nom complet`): a
/// sheet's plain `Name` field, where a qualified one (`Last Name`, `File Name`) is not.
fn whole_name(name: &str) -> bool {
    const WHOLE: [&str; 6] = [
        "fullname",
        "completename",
        "wholename",
        "nomcomplet",
        "nombrecompleto",
        "nomecompleto",
    ];
    WHOLE.contains(&normalise(name).as_str())
}

fn score_names(names: &[&str], target: &TargetField) -> Option<(Certainty, f64)> {
    let source = SourceColumn {
        key: names.get(1).unwrap_or(&names[0]).to_string(),
        label: names[0].to_string(),
    };
    let source = &source;
    if names
        .iter()
        .any(|n| *n == target.key || (!target.label.is_empty() && *n == target.label))
    {
        return Some((Certainty::Absolute, 1.0));
    }
    let norm: Vec<String> = names
        .iter()
        .map(|n| normalise(n))
        .filter(|n| !n.is_empty())
        .collect();
    let equals = |other: &str| {
        let other = normalise(other);
        !other.is_empty() && norm.contains(&other)
    };
    if equals(&target.key) || equals(&target.label) {
        return Some((Certainty::Strong, 0.95));
    }
    if target.alternative_names.iter().any(|n| equals(n)) {
        return Some((Certainty::Strong, 0.9));
    }
    // `Order Date (do not use)`, `Return Tracking Number`: marked as not the field's.
    if names.iter().any(|n| concepts::not_for_use(n)) {
        return None;
    }
    let targets = || {
        std::iter::once(target.key.as_str())
            .chain(std::iter::once(target.label.as_str()))
            .chain(target.alternative_names.iter().map(String::as_str))
    };
    // What a name says in parentheses is a remark: `AGE (years)` is `Age`.
    let bare: Vec<String> = names
        .iter()
        .filter_map(|n| concepts::without_remarks(n))
        .map(|n| normalise(&n))
        .filter(|n| !n.is_empty())
        .collect();
    if targets().any(|t| !normalise(t).is_empty() && bare.contains(&normalise(t))) {
        return Some((Certainty::Strong, 0.9));
    }
    // `Unsubscribed` is as near `Subscribed` as a name gets, and means the opposite.
    if names.iter().any(|n| targets().any(|t| concepts::opposite(n, t))) {
        return None;
    }
    // `Billing Zip` is not a shipping postal code, nor `Business Phone` a home phone.
    let field_sides = sides::sides(&format!("{} {}", target.key, target.label));
    let column_sides = sides::sides(&names.join(" "));
    let same_side = field_sides
        .iter()
        .zip(&column_sides)
        .any(|(f, c)| f.is_some() && f == c);
    if field_sides
        .iter()
        .zip(&column_sides)
        .any(|(f, c)| matches!((f, c), (Some(a), Some(b)) if a != b))
    {
        return None;
    }
    // `Email Client`, `Notes Count`: about a field's value, not it.
    if names.iter().any(|n| concepts::about_another(n)) {
        return None;
    }
    // The usual names of the usual fields (`E-mail Address` for `Email`, `Tel.` for `Phone`).
    let concept = names.iter().find_map(|n| concepts::concept_of(n));
    let field_concept = [target.key.as_str(), target.label.as_str()]
        .iter()
        .find_map(|t| concepts::concept_of(t).filter(|f| concept.is_some_and(|c| concepts::fills(c, f))));
    if let (Some(concept), Some(field_concept)) = (concept, field_concept) {
        // A bare `Title` or `Role` is proposed, as no more than a guess; so is what a line
        // cost for a unit price (an order's `Item Cost`, or a catalogue's `Cost Price`,
        // which is not what the buyer paid: probe 55a M3).
        if names.iter().any(|n| concepts::ambiguous(n))
            || (concept == "cost price" && field_concept == "unit price")
        {
            return Some((Certainty::Weak, WEAK_AT));
        }
        // Several columns may name the field's concept: the one on the field's side
        // first, then the one that says least besides (`Email` before `Email Address 2`).
        let address = matches!(concept, "street" | "city" | "region" | "postal code" | "country");
        // An address part's side is weighed below, not counted as more words.
        let said = match address {
            true => sides::besides_side(&source.label),
            false if concept == "phone" => match concepts::plain_phone(&source.label) {
                true => 1,
                false => 2,
            },
            false => concepts::tokens(&source.label).len(),
        };
        let extra = said
            .saturating_sub(concepts::tokens(&target.label).len().max(1))
            .min(3);
        // A creation date fills a signup or order date after a column naming it.
        let near = if concept == field_concept { 0.0 } else { 0.005 };
        let own = match address && field_sides.iter().all(Option::is_none) {
            true => sides::own_weight(&source.label),
            false => 0.0,
        };
        let side = if same_side { 0.02 } else { 0.0 };
        // An order's status or amounts: the order's own column before a payment's, a
        // shipment's or a line's (`Order Status` before `Shipping Status`, `Order Total`
        // before `Line Total`); a status of something else alone is only a guess.
        let whose = match concepts::of_the_order_or_another(concept, &source.label) {
            Some(true) => 0.015,
            Some(false) if concept == "status" => return Some((Certainty::Weak, WEAK_AT)),
            Some(false) => -0.015,
            None => 0.0,
        };
        let confidence = 0.85 + side - 0.01 * extra as f64 + own - near + whose;
        return Some((Certainty::Strong, (confidence * 1000.0).round() / 1000.0));
    }
    // `Full Name` is a plain `Name` field.
    if names.iter().any(|n| whole_name(n)) && targets().any(|t| normalise(t) == "name") {
        return Some((Certainty::Strong, 0.85));
    }
    // `Name` is as near `Last name` as to `First name`, and is neither.
    if names.iter().all(|n| concepts::says_nothing(n)) {
        return None;
    }
    // `Company City`: two fields' words, and neither field, whatever its letters share
    // with one.
    if names.iter().any(|n| concepts::names_two(n)) {
        return None;
    }
    // `Customer ID` is not the customer's name, nor `Payment ID` the payment method.
    let ends_with_id = |n: &str| concepts::tokens(n).last().is_some_and(|w| w == "id");
    if names.iter().any(|n| ends_with_id(n)) && !targets().any(ends_with_id) {
        return None;
    }
    let best = targets()
        .flat_map(|t| names.iter().map(move |n| (*n, t)))
        .filter(|(n, t)| !one_word_swapped(n, t))
        .map(|(n, t)| similarity(n, t))
        .fold(0.0_f64, f64::max);
    // `Subscribed date` and `Subscribed` share their letters, not their kind of value: a
    // guess at most.
    let other_kind = names
        .iter()
        .any(|n| targets().any(|t| concepts::differ_in_kind(n, t)));
    if best >= MODERATE_AT && !other_kind {
        Some((Certainty::Moderate, round2(best)))
    } else if best >= WEAK_AT {
        Some((Certainty::Weak, round2(best)))
    } else {
        None
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The best one-to-one pairing, most certain pairs first; sorted by source column.
pub fn automap(sources: &[SourceColumn], targets: &[TargetField]) -> Vec<Match> {
    automap_checked(sources, targets, |_, _| true)
}

/// [`automap`], a pair whose column's values cannot be the field's (`fits(source, target)`
/// false: no value an option of an enum, names for a number) being a weak guess at most,
/// unless its header is the field's own name (probe 62c D7: `Level` holding floors went to
/// a tier).
pub fn automap_checked(
    sources: &[SourceColumn],
    targets: &[TargetField],
    fits: impl Fn(usize, usize) -> bool,
) -> Vec<Match> {
    let mut candidates: Vec<Match> = Vec::new();
    for (s, source) in sources.iter().enumerate() {
        for (t, target) in targets.iter().enumerate() {
            if let Some((mut certainty, mut confidence)) = score(source, target) {
                // A header that is the field's own name is taken at its word.
                if certainty > Certainty::Weak && certainty < Certainty::Absolute && !fits(s, t) {
                    certainty = Certainty::Weak;
                    confidence = round2(confidence / 2.0);
                }
                candidates.push(Match {
                    source: s,
                    target: t,
                    certainty,
                    confidence,
                });
            }
        }
    }
    candidates.sort_by(|a, b| {
        (b.certainty, b.confidence)
            .partial_cmp(&(a.certainty, a.confidence))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.source.cmp(&b.source))
            .then(a.target.cmp(&b.target))
    });
    let mut used_s = vec![false; sources.len()];
    let mut used_t = vec![false; targets.len()];
    let mut out = Vec::new();
    for m in candidates {
        if !used_s[m.source] && !used_t[m.target] {
            used_s[m.source] = true;
            used_t[m.target] = true;
            out.push(m);
        }
    }
    one_address(sources, targets, &mut out);
    out.sort_by_key(|m| m.source);
    out
}

/// The address parts going to fields that name no side all come from one address: once the
/// pairing took parts of a home and of a business address (`Home Street`, `Business
/// Country`), the parts of the side fewer of them came from are left out (an address that
/// does not exist is worse than one left to fill).
fn one_address(sources: &[SourceColumn], targets: &[TargetField], out: &mut Vec<Match>) {
    let side_of = |m: &Match| -> Option<bool> {
        let target = &targets[m.target];
        let field_sides = sides::sides(&format!("{} {}", target.key, target.label));
        let part = matches!(
            concepts::concept_of(&target.label).or_else(|| concepts::concept_of(&target.key)),
            Some("street" | "city" | "region" | "postal code" | "country")
        );
        let source = &sources[m.source];
        (part && field_sides[1].is_none())
            .then(|| sides::sides(&format!("{} {}", source.key, source.label))[1])
            .flatten()
    };
    let sides: Vec<Option<bool>> = out.iter().map(side_of).collect();
    let count = |want: bool| sides.iter().filter(|s| **s == Some(want)).count();
    let (home, business) = (count(false), count(true));
    if home == 0 || business == 0 {
        return;
    }
    let dropped = Some(home >= business);
    let mut k = 0;
    out.retain(|_| {
        k += 1;
        sides[k - 1] != dropped
    });
}

/// An option of an enum field.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumChoice {
    pub value: String,
    pub label: String,
    pub alternative_names: Vec<String>,
}

/// For each distinct source value, the option it most likely means, if any: by value,
/// label or alternative name after normalising, then as the same country (`USA` for an
/// option `US` / `United States`, when the options are countries), then by similarity.
pub fn map_enum_values(values: &[String], options: &[EnumChoice]) -> Vec<(String, Option<String>)> {
    let countries = countries::option_countries(options);
    values
        .iter()
        .map(|v| {
            let n = normalise(v);
            let exact = options.iter().find(|o| {
                !n.is_empty()
                    && (normalise(&o.value) == n
                        || normalise(&o.label) == n
                        || o.alternative_names.iter().any(|a| normalise(a) == n))
            });
            // A country no option names is none of them, however like one it is spelt
            // (probe 76b D2: Niger was proposed as Nigeria).
            let named = countries
                .as_deref()
                .filter(|_| countries::country_code(v).is_some());
            // Nor is a value that names no country one by its spelling, when the options
            // are countries (probe 77a D3: Indiana was proposed as India, Roman as Oman).
            let chosen = match (exact, named) {
                (Some(o), _) => Some(o),
                (None, Some(countries)) => countries::option_for(v, options, countries),
                (None, None) if countries.is_some() => None,
                (None, None) => similar(v, options),
            };
            (v.clone(), chosen.map(|o| o.value.clone()))
        })
        .collect()
}

/// The option whose value, label or alternative name is spelt most like `v`, if any is
/// like enough.
fn similar<'a>(v: &str, options: &'a [EnumChoice]) -> Option<&'a EnumChoice> {
    options
        .iter()
        .map(|o| {
            let s = std::iter::once(&o.value)
                .chain(std::iter::once(&o.label))
                .chain(o.alternative_names.iter())
                .map(|name| similarity(v, name))
                .fold(0.0_f64, f64::max);
            (o, s)
        })
        .filter(|(_, s)| *s >= MODERATE_AT)
        .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(o, _)| o)
}

/// A stable fingerprint of a set of headers, for remembering a mapping: normalised,
/// sorted, de-duplicated, joined.
pub fn header_fingerprint<'a>(headers: impl IntoIterator<Item = &'a str>) -> String {
    let mut names: Vec<String> = headers.into_iter().map(normalise).collect();
    names.sort();
    names.dedup();
    names.join("|")
}
