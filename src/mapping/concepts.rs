//! What a column header means, for the names people and tools give the usual fields of
//! contact, address and order data: `E-mail Address`, `Tel.`, `Zip/Postal Code`, `DOB`,
//! `Billing First Name` and `Address 1 - City` each name one concept, and a field whose key
//! or label names the same concept is the column's field.

use super::sides::sides;
use super::vocabulary::{concepts, FILLER, NOISE, QUESTIONS, SHORT};

/// The words of a name, lowercase: split at punctuation, spaces, camelCase and a number
/// after letters (`ADDR1`), `e-mail` joined and short forms written out.
pub(super) fn tokens(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            let case_turns = c.is_uppercase() && prev_lower;
            let number_starts = c.is_ascii_digit() && current.chars().last().is_some_and(char::is_alphabetic);
            if (case_turns || number_starts) && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            current.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            // `Order #`, `Phone #`: a number.
            if c == '#' {
                words.push("number".into());
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    // `e-mail`, `E_mail`: one word.
    let mut joined: Vec<String> = Vec::new();
    for w in words {
        // `E-mailadres` too.
        if w.starts_with("mail") && joined.last().is_some_and(|p| p == "e") {
            joined.pop();
            joined.push(format!("e{w}"));
        } else {
            joined.push(w);
        }
    }
    joined
        .into_iter()
        .map(|w| {
            SHORT
                .iter()
                .find(|(short, _)| *short == w)
                .map_or(w, |(_, long)| long.to_string())
        })
        .collect()
}

/// The words of a name that say what it is: its [`tokens`] without those that only say
/// which one.
fn words(name: &str) -> Vec<String> {
    tokens(name)
        .into_iter()
        .filter(|w| !NOISE.contains(&w.as_str()))
        .collect()
}

fn lookup(phrase: &str) -> Option<&'static str> {
    concepts()
        .find(|(_, phrases)| phrases.contains(&phrase))
        .map(|(concept, _)| *concept)
}

/// The concept a column header or a field's key or label names, if it is one of the usual
/// ones: its words as a phrase, else run together (`D.O.B.`), else without a leading
/// `address` (`Address 1 - City`).
pub fn concept_of(name: &str) -> Option<&'static str> {
    let concept = concept_in(name)?;
    // A code of a country, a region or a post office is one of theirs; of a city or a
    // person, an identifier (`City Code`).
    let coded = tokens(name).iter().any(|w| w == "code");
    let has_codes = matches!(
        concept,
        "country"
            | "region"
            | "postal code"
            | "phone"
            | "currency"
            | "sku"
            | "tracking number"
            | "order id"
            | "barcode"
    );
    if coded && !has_codes {
        return None;
    }
    // `Shipping Total`, `Shipping Cost`, `Billing Tax`: what the delivery or the invoice
    // costs, not the order's amounts.
    let amount = matches!(
        concept,
        "total" | "tax" | "discount" | "unit price" | "quantity" | "cost price"
    );
    if amount && sides(name)[0].is_some() {
        return None;
    }
    (!about_another(name)).then_some(concept)
}

fn concept_in(name: &str) -> Option<&'static str> {
    let tokens = tokens(name);
    let asks = |q: &[&str]| tokens.len() >= q.len() && q.iter().zip(&tokens).all(|(a, b)| a == b);
    if let Some((_, concept)) = QUESTIONS.iter().find(|(q, _)| asks(q)) {
        return Some(concept);
    }
    // A phrase known with its which-one words (`Customer Name`, `Purchase Date`).
    if let Some(concept) = lookup(&tokens.join(" ")) {
        return Some(concept);
    }
    let words = words(name);
    if words.is_empty() {
        return None;
    }
    // `Código postal de envío`: the phrase without its particles.
    let said: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !PARTICLES.contains(w))
        .collect();
    lookup(&words.join(" "))
        .or_else(|| lookup(&words.concat()))
        .or_else(|| of_an_order(&words))
        .or_else(|| {
            (said.len() < words.len() && !said.is_empty())
                .then(|| lookup(&said.join(" ")))
                .flatten()
        })
        .or_else(|| match words.split_first() {
            Some((first, rest)) if first == "address" && !rest.is_empty() => {
                lookup(&rest.join(" ")).or_else(|| agreed(rest))
            }
            _ => None,
        })
        .or_else(|| agreed(&words))
        .or_else(|| whose_number(name, &words))
        .or_else(|| last_part(name))
        .or_else(|| {
            without_remarks(name)
                .filter(|_| !remark_names_another(name))
                .and_then(|n| concept_of(&n))
        })
}

/// Small words of other languages between the words of a name.
const PARTICLES: [&str; 5] = ["de", "del", "du", "des", "la"];

/// Words that say which thing of an order a field is about: `Order Notes`, `Item SKU`,
/// `Line Total` are the notes, the SKU and the total.
const OF_AN_ORDER: [&str; 5] = ["order", "item", "product", "line", "sale"];

/// The concept of a name after a leading word of [`OF_AN_ORDER`], when the rest names one.
fn of_an_order(words: &[String]) -> Option<&'static str> {
    match words.split_first() {
        Some((first, rest)) if OF_AN_ORDER.contains(&first.as_str()) && !rest.is_empty() => {
            concept_in(&rest.join(" "))
        }
        _ => None,
    }
}

/// Whether what a name says in parentheses names a concept of its own, or a word of one:
/// `Bemerkung (Telefon GL)` is a note about a phone, not a note. A remark that starts with a filler
/// word says how (`Mobile number (with country code)`).
fn remark_names_another(name: &str) -> bool {
    let Some(open) = name.find('(') else {
        return false;
    };
    let inner = name[open + 1..].split(')').next().unwrap_or("");
    let said = tokens(inner);
    let starts_with_filler = said.first().is_some_and(|w| FILLER.contains(&w.as_str()));
    !starts_with_filler && (concept_in(inner).is_some() || said.iter().any(|w| lookup(w).is_some()))
}

/// Whether a column naming `column` may fill a field naming `field`: the same concept, or a
/// record's creation date for a signup or an order date (and a signup date for a field
/// named for creation).
pub fn fills(column: &str, field: &str) -> bool {
    column == field
        || matches!(
            (column, field),
            ("created", "signup date" | "order date")
                | ("signup date", "created")
                | ("cost price", "unit price")
        )
}

/// A name without what it says in parentheses or brackets (`Mobile number (with country
/// code)`).
pub(super) fn without_remarks(name: &str) -> Option<String> {
    // `Gewicht [kg]` as `Gewicht (kg)`.
    let open = name.find(['(', '['])?;
    let shut = if name[open..].starts_with('(') { ')' } else { ']' };
    let close = name[open..].find(shut).map_or(name.len(), |c| open + c + 1);
    let rest = format!("{}{}", &name[..open], &name[close..]);
    (!rest.trim().is_empty()).then_some(rest)
}

/// A word that names the concept as often as something else: a `Title` may be a job's or a
/// courtesy title (`Mr`), a `Role` a job's or one in an app (`admin`), a `Nome` a first
/// name (Italian) or a whole one (Brazilian exports).
pub fn ambiguous(name: &str) -> bool {
    matches!(words(name).as_slice(), [w] if w == "title" || w == "role" || w == "nome")
}

/// Whether a name is only words that add to others (`Name`, `Date`, `Number`): such a
/// column is like any field whose name ends that way (`Name` and `Last name`), and none in
/// particular.
pub fn says_nothing(name: &str) -> bool {
    let words = words(name);
    !words.is_empty() && words.iter().all(|w| FILLER.contains(&w.as_str()))
}

/// A header in parts (`Person - Postal address - ZIP/Postal code`, `Contact: Email`): the
/// last part that names a concept, the most specific one.
fn last_part(name: &str) -> Option<&'static str> {
    let parts: Vec<&str> = name
        .split([':', '|', '>'])
        .flat_map(|p| p.split(" - "))
        .flat_map(|p| p.split(" – "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 2 {
        return None;
    }
    // From the end, past parts that only say which one (`Email - Work`, `E-mail 1 - Value`);
    // a part that says something else (`E-mail 1 - Label`, `Address 1 - Formatted`) makes
    // the header about the value, not the value.
    for part in parts.iter().rev() {
        if let Some(concept) = concept_of(part) {
            return Some(concept);
        }
        let said = words(part);
        if !said.iter().all(|w| FILLER.contains(&w.as_str())) {
            return None;
        }
    }
    None
}

/// Words that, after the words naming a concept, make a header about that concept instead
/// of the concept itself: `Email Client`, `E-mail Type`, `Email Opt Out`, `Notes Count`,
/// `First Purchase Date`, `Job Function`, `Signup IP`.
const ABOUT: [&str; 31] = [
    "typ",
    "libellé",
    "libelle",
    "etiqueta",
    "etichetta",
    "angezeigter",
    "formatiert",
    "client",
    "purchase",
    "label",
    "type",
    "kind",
    "status",
    "verified",
    "bounced",
    "consent",
    "domain",
    "sent",
    "function",
    "ip",
    "valid",
    "count",
    "opt",
    "out",
    "format",
    "provider",
    "source",
    "category",
    "rating",
    "score",
    "formatted",
];

/// Whether a header's last word that says anything is one of [`ABOUT`], after another
/// word (`Email Client`; a bare `Type` names nothing anyway).
pub fn about_another(name: &str) -> bool {
    let tokens = tokens(name);
    // A phrase known whole says what it is (`Order Status`, `Payment Type`).
    if lookup(&tokens.join(" ")).is_some() {
        return false;
    }
    let said: Vec<&String> = tokens
        .iter()
        .filter(|w| !FILLER.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    said.len() >= 2 && said.last().is_some_and(|w| ABOUT.contains(&w.as_str()))
}

/// Whether a phone column is the plain one: no side, not a mobile (`Phone`, `Tel.`,
/// `Telefono fijo`, `Phone Number`). The plain phone goes first to a sheet's phone; among
/// the others (`Business Phone`, `Mobile`, `Home Phone`), the first column.
pub fn plain_phone(name: &str) -> bool {
    const LANDLINE: [&str; 5] = ["fijo", "fixe", "fixo", "festnetz", "landline"];
    const MOBILE: [&str; 13] = [
        "mobile",
        "cell",
        "celular",
        "cellulare",
        "handy",
        "mobil",
        "mobiel",
        "móvil",
        "movil",
        "telemóvel",
        "telemovel",
        "portable",
        "sms",
    ];
    tokens(name).iter().all(|w| {
        FILLER.contains(&w.as_str())
            || LANDLINE.contains(&w.as_str())
            || w.chars().all(|c| c.is_ascii_digit())
            || (lookup(w) == Some("phone") && !MOBILE.contains(&w.as_str()))
    })
}

/// For an order's status or amounts, whether a header says they are the order's (`Order
/// Status`, `Sale Total`: `Some(true)`) or another thing's (`Shipping Status`, `Payment
/// Status`, `Line Total`: `Some(false)`); `None` when it says neither or for other concepts.
pub fn of_the_order_or_another(concept: &str, name: &str) -> Option<bool> {
    const ORDER: [&str; 9] = [
        "order",
        "sale",
        "pedido",
        "commande",
        "bestellung",
        "orden",
        "ordine",
        "bestelling",
        "zamówienia",
    ];
    const ANOTHER: [&str; 22] = [
        "shipping",
        "ship",
        "shipment",
        "delivery",
        "payment",
        "financial",
        "fulfillment",
        "fulfilment",
        "transaction",
        "line",
        "item",
        "lineitem",
        "envio",
        "envío",
        "pagamento",
        "pago",
        "paiement",
        "livraison",
        "zahlung",
        "versand",
        "verzending",
        "betaling",
    ];
    if !matches!(concept, "status" | "total" | "tax" | "discount") {
        return None;
    }
    let tokens = tokens(name);
    let has = |ws: &[&str]| tokens.iter().any(|t| ws.contains(&t.as_str()));
    match (has(&ORDER), has(&ANOTHER)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Whether a header says its column is not the field's value: marked unused (`Email (do
/// not use)`, `Old Phone`), or a return's or a refund's (`Return Tracking Number`,
/// `Refunded Amount`), or a fee (`Payment Method Fee`).
pub fn not_for_use(name: &str) -> bool {
    const NOT: [&str; 10] = [
        "unused",
        "deprecated",
        "obsolete",
        "old",
        "legacy",
        "return",
        "returned",
        "refund",
        "refunded",
        "fee",
    ];
    let tokens = tokens(name);
    let said = tokens.join(" ");
    said.contains("do number use")
        || said.contains("do not use")
        || tokens.iter().any(|t| NOT.contains(&t.as_str()))
}

/// A header naming two of the usual concepts at once (`Company City`, `City of Birth`): it
/// is neither, whatever its letters share with one.
pub fn names_two(name: &str) -> bool {
    let mut found: Option<&str> = None;
    // `Address` goes with every part of one (`Address City`, `Email Address`).
    for w in words(name).iter().filter(|w| *w != "address") {
        if let Some(c) = lookup(w) {
            if found.is_some_and(|f| f != c) {
                return true;
            }
            found = Some(c);
        }
    }
    false
}

/// Several words that each name the same concept, with nothing else but filler
/// (`Title/Position`, `Mobile Phone Number`, `Job Role`).
fn agreed(words: &[String]) -> Option<&'static str> {
    let mut found = None;
    for w in words {
        match lookup(w) {
            Some(c) if found.is_none_or(|f| f == c) => found = Some(c),
            Some(_) => return None,
            None if FILLER.contains(&w.as_str()) => {}
            // A time zone's offset: `Created At (UTC+0)`.
            None if w.chars().all(|c| c.is_ascii_digit())
                && words.iter().any(|w| w == "utc" || w == "gmt") => {}
            None => return None,
        }
    }
    // A number of anything but a phone is an identifier: `Account Number`, `Registration
    // Number`.
    let numbered = matches!(found, Some("phone" | "order id" | "tracking number" | "sku"));
    if words.iter().any(|w| w == "number") && !numbered {
        return None;
    }
    found
}

/// Words that say which line a number is on (`Contact Number`, `Home Number`, `Numéro
/// privé`): with nothing else, a phone number. A party's number (`Customer Number`,
/// `Member No`, `Employee Number`) is an identifier (probe 54b 1).
const LINES: [&str; 13] = [
    "contact", "home", "work", "office", "business", "private", "personal", "main", "primary", "privat",
    "privé", "prive", "bureau",
];

fn whose_number(name: &str, words: &[String]) -> Option<&'static str> {
    let said = name.to_lowercase();
    let on_a_line = LINES
        .iter()
        .any(|n| said.split(|c: char| !c.is_alphanumeric()).any(|w| w == *n));
    (on_a_line && words == ["number"]).then_some("phone")
}

/// Words that undo a word: `Unsubscribed`, `Not subscribed`, `Inactive`, `Opted out`.
const NEGATIONS: [&str; 6] = ["un", "non", "not", "no", "dis", "in"];

/// Whether one name says the opposite of the other (`Unsubscribed` and `Subscribed`,
/// `Not active` and `Active`): letters alike, meaning reversed.
pub fn opposite(a: &str, b: &str) -> bool {
    let (ta, tb) = (tokens(a), tokens(b));
    let negates = |x: &[String], y: &[String]| {
        // A word of x is a negated word of y (`unsubscribed` / `subscribed`), or x has a
        // negation word y lacks before the same words.
        x.iter().any(|w| {
            NEGATIONS.iter().any(|n| {
                w.strip_prefix(n)
                    .is_some_and(|rest| rest.len() >= 3 && y.iter().any(|v| v == rest))
            })
        }) || (x.iter().any(|w| matches!(w.as_str(), "not" | "no" | "non"))
            && !y.iter().any(|w| matches!(w.as_str(), "not" | "no" | "non"))
            && y.iter().all(|w| x.contains(w)))
    };
    negates(&ta, &tb) || negates(&tb, &ta)
}

/// Whether two names differ only by words that say what kind of value it is (`Subscribed`
/// and `Subscribed date`: a yes or no, and a date).
pub fn differ_in_kind(a: &str, b: &str) -> bool {
    const KIND: [&str; 9] = [
        "date", "time", "at", "on", "number", "count", "code", "id", "amount",
    ];
    let (ta, tb) = (tokens(a), tokens(b));
    let core = |t: &[String]| -> Vec<String> {
        t.iter()
            .filter(|w| !KIND.contains(&w.as_str()))
            .cloned()
            .collect()
    };
    ta != tb && !core(&ta).is_empty() && core(&ta) == core(&tb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_phrase_names_two_concepts() {
        let mut seen = std::collections::HashMap::new();
        for (concept, phrases) in concepts() {
            for phrase in *phrases {
                if let Some(other) = seen.insert(*phrase, *concept) {
                    panic!("{phrase:?} names both {other} and {concept}");
                }
            }
        }
    }

    #[test]
    fn the_usual_names_of_a_field_name_one_concept() {
        for (name, concept) in [
            ("E-mail Address", "email"),
            ("e_mail", "email"),
            ("Tel.", "phone"),
            ("Phone #", "phone"),
            ("Zip/Postal Code", "postal code"),
            ("DOB", "date of birth"),
            ("D.O.B.", "date of birth"),
            ("Billing First Name", "first name"),
            ("Address 1 - City", "city"),
            ("firstName", "first name"),
            ("State / Region", "region"),
            ("signup_date", "signup date"),
            ("Province Code", "region"),
            ("Default Address Zip", "postal code"),
            ("Person - Email - Work", "email"),
            ("Person - Postal address - City/town/village/locality", "city"),
            ("ADDR1", "street"),
            ("PH1", "phone"),
            ("ZIP+4", "postal code"),
            ("Mobile number (with country code)", "phone"),
            ("Where do you work?", "company"),
            ("Anything else you'd like us to know?", "notes"),
            ("Ship State", "region"),
            ("メールアドレス", "email"),
            ("郵便番号", "postal code"),
            ("Soyadı", "last name"),
            ("Correio eletrónico", "email"),
            ("Order Total", "total"),
            ("Order #", "order id"),
            ("Lineitem quantity", "quantity"),
            ("Item SKU", "sku"),
            ("Lieferadresse PLZ", "postal code"),
            ("Código postal de envío", "postal code"),
            ("E-mailadres", "email"),
            ("Payment Type", "payment method"),
            ("Contact Number", "phone"),
            ("Employee Number", "employee id"),
            ("Emp ID", "employee id"),
            ("Gewicht [kg]", "weight"),
            ("Code EAN", "barcode"),
            ("Unit Cost", "cost price"),
            ("Home No", "phone"),
        ] {
            assert_eq!(concept_of(name), Some(concept), "{name}");
        }
        for name in [
            "Address2",
            "Customer ID",
            "Lead Source",
            "AccountNumber",
            "Registration Number",
            "Item Number",
            "Shipping Total",
            "Shipping Cost",
            "Discount Code",
            "Bemerkung (Fax)",
            // A party's number is its identifier (probe 54b 1).
            "Customer Number",
            "Client Number",
            "Member No",
            "Patient No",
            "",
        ] {
            assert_eq!(concept_of(name), None, "{name}");
        }
        assert_eq!(concept_of("ADDR2"), None, "a second address line");
        assert!(ambiguous("Title") && ambiguous("role") && !ambiguous("Job Title"));
        assert!(says_nothing("Name") && says_nothing("Date (UTC)"));
        assert!(!says_nothing("Full Name") && !says_nothing("Customer"));
    }
}
