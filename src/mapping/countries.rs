//! Countries in enum values: a column writing `USA`, `U.K.` or `Holland` for a field whose
//! options name countries another way (`US` / `United States`). The names come from the
//! `celes` crate (ISO 3166-1 codes, official English names and common aliases).

use super::EnumChoice;
use std::str::FromStr;
use unicode_normalization::UnicodeNormalization;

/// The ISO 3166-1 two-letter code of the country a text names, ignoring case, spaces and
/// punctuation (`u.s.a.`, `United Kingdom`, `GBR`). Numeric codes are not read: a number
/// in an enum is rarely a country.
pub(super) fn country_code(text: &str) -> Option<&'static str> {
    let letters: String = text
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    if letters.len() < 2 {
        return None;
    }
    // `UK` is ISO's "exceptionally reserved" code for the United Kingdom, not in the table;
    // Wales is the one nation of it the table leaves out.
    let letters = match letters.as_str() {
        "uk" | "wales" => "gb",
        other => other,
    };
    let find = |key: &str| celes::Country::from_str(key).ok().map(|c| c.alpha2);
    // Written with or without its accents: the table has `Türkiye` and `Cote d'Ivoire`
    // (probe 76b D3).
    let plain: String = letters
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect();
    let plain = plain.replace('ß', "ss");
    find(letters)
        .or_else(|| (plain != letters).then(|| find(&plain)).flatten())
        .or_else(|| super::country_exonyms::code_of(&plain))
}

/// The country an option's name says, when it is a name (a code such as `CA` or `de` is
/// no evidence: California and German share them; probe 76b D1).
fn named_country(name: &str) -> Option<&'static str> {
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    (letters > 3).then(|| country_code(name)).flatten()
}

/// The country each option names (by its label or an alternative name, in words: not a
/// code), when the options are a list of countries: at least two, and at most one in five
/// naming none. `None` for any other enum, so that `IN` or `NO` in a list of answers is
/// never read as India or Norway, nor `CA` in a list of states as Canada.
pub(super) fn option_countries(options: &[EnumChoice]) -> Option<Vec<Option<&'static str>>> {
    let countries: Vec<Option<&'static str>> = options
        .iter()
        .map(|o| {
            std::iter::once(&o.label)
                .chain(o.alternative_names.iter())
                .find_map(|name| named_country(name))
        })
        .collect();
    let named = countries.iter().filter(|c| c.is_some()).count();
    (options.len() >= 2 && named * 5 >= options.len() * 4).then_some(countries)
}

/// The option naming the country `value` names, if exactly one does.
pub(super) fn option_for<'a>(
    value: &str,
    options: &'a [EnumChoice],
    countries: &[Option<&'static str>],
) -> Option<&'a EnumChoice> {
    let code = country_code(value)?;
    let mut naming = options.iter().zip(countries).filter(|(_, c)| **c == Some(code));
    match (naming.next(), naming.next()) {
        (Some((o, _)), None) => Some(o),
        _ => None,
    }
}
