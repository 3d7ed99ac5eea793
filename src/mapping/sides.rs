//! Which side of a pair a header puts its value on: billing or shipping, home or work
//! (`Billing Zip`, `Telefon privat`), so that a column never fills a field of the other
//! side, and among address parts the home one comes first.

use super::concepts::tokens;

/// Which of two sides a header's words put a value on, by group: billing or shipping,
/// home or work. `None` where it says neither.
pub fn sides(name: &str) -> [Option<bool>; 2] {
    let tokens = tokens(name);
    let has = |ws: &[&str]| tokens.iter().any(|t| ws.contains(&t.as_str()));
    GROUPS.map(|(a, b)| match (has(a), has(b)) {
        (true, false) => Some(false),
        (false, true) => Some(true),
        _ => None,
    })
}

/// Every word that puts a value on a side.
const SIDE_WORDS: [&[&str]; 4] = [GROUPS[0].0, GROUPS[0].1, GROUPS[1].0, GROUPS[1].1];

/// Billing or shipping, home or work: the words of each side.
const GROUPS: [(&[&str], &[&str]); 2] = [
    (
        &[
            "billing",
            "bill",
            "invoice",
            "invoicing",
            "facturation",
            "facturación",
            "facturacion",
            "facturatie",
            "rechnung",
            "rechnungsadresse",
        ],
        &[
            "shipping",
            "ship",
            "delivery",
            "livraison",
            "envío",
            "envio",
            "verzending",
            "lieferadresse",
            "afleveradres",
            "lieferung",
            "versand",
        ],
    ),
    (
        &[
            "home", "personal", "private", "privat", "privé", "prive", "domicile", "casa", "thuis",
        ],
        &[
            "business",
            "work",
            "office",
            "geschäftlich",
            "geschaeftlich",
            "geschaftlich",
            "bureau",
            "ufficio",
        ],
    ),
];

/// How much an address part's header makes it a person's own (a contacts sheet's address is
/// the home one before the business one, so its parts come from one address),
/// for a field that names no side: a little, to choose between columns naming one concept.
pub fn own_weight(name: &str) -> f64 {
    match sides(name)[1] {
        Some(false) => 0.004,
        Some(true) => -0.004,
        None => 0.0,
    }
}

/// The words of a name that say something besides its side (`Ort privat` says `Ort`).
pub fn besides_side(name: &str) -> usize {
    let sided = |w: &String| SIDE_WORDS.iter().any(|group| group.contains(&w.as_str()));
    tokens(name).iter().filter(|w| !sided(w)).count()
}
