//! Country names in enum values: each maps onto the option naming the same country, or
//! onto none.

use super::*;

fn options(pairs: &[(&str, &str)]) -> Vec<EnumChoice> {
    pairs
        .iter()
        .map(|(value, label)| EnumChoice {
            value: value.to_string(),
            label: label.to_string(),
            alternative_names: vec![],
        })
        .collect()
}

/// The option each value maps onto, if any.
fn mapped(values: &[&str], options: &[EnumChoice]) -> Vec<Option<String>> {
    let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    map_enum_values(&values, options)
        .into_iter()
        .map(|(_, o)| o)
        .collect()
}

/// Option values as [`mapped`] gives them.
fn chosen(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}

/// Probe 74c D4: `USA` and `UK` stayed as written (then errors) under options `US` /
/// `United States` and `GB` / `United Kingdom`, while `Canada` found `CA`; and `UK` must
/// not read as Ukraine by the letters they share.
#[test]
fn country_names_map_onto_the_options_naming_the_same_country() {
    let countries = options(&[
        ("US", "United States"),
        ("CA", "Canada"),
        ("DE", "Germany"),
        ("GB", "United Kingdom"),
        ("UA", "Ukraine"),
    ]);
    let got = mapped(
        &[
            "USA",
            "U.S.A.",
            "uk",
            "Great Britain",
            "GBR",
            "deu",
            "Ukraine",
            "Atlantis",
        ],
        &countries,
    );
    let want = [
        Some("US"),
        Some("US"),
        Some("GB"),
        Some("GB"),
        Some("GB"),
        Some("DE"),
        Some("UA"),
        None,
    ];
    assert_eq!(got, chosen(&want));
}

/// Probe 78c D3: a German or Spanish export's country names (`España`, `Deutschland`,
/// `Frankreich`, `Irland`, `Österreich`, `Großbritannien`) find their options too.
#[test]
fn countries_named_in_other_languages_find_their_options() {
    let countries = options(&[
        ("ES", "Spain"),
        ("DE", "Germany"),
        ("FR", "France"),
        ("IE", "Ireland"),
        ("AT", "Austria"),
        ("GB", "United Kingdom"),
    ]);
    let got = mapped(
        &[
            "España",
            "Deutschland",
            "Frankreich",
            "Irland",
            "Österreich",
            "Großbritannien",
            "Narnia",
        ],
        &countries,
    );
    let want = [
        Some("ES"),
        Some("DE"),
        Some("FR"),
        Some("IE"),
        Some("AT"),
        Some("GB"),
        None,
    ];
    assert_eq!(got, chosen(&want));
}

/// Options that are not countries are never read as countries: `no` is not Norway, a
/// language's or a state's code no country (probe 76b D1: Canada became California, the
/// United Kingdom Ukrainian).
#[test]
fn answers_that_spell_country_codes_are_not_countries() {
    let answers = options(&[("yes", "Yes"), ("no", "No"), ("maybe", "Maybe")]);
    assert_eq!(mapped(&["Norway", "NOR"], &answers), vec![None, None]);
    let languages = options(&[
        ("ar", "Arabic"),
        ("de", "German"),
        ("fr", "French"),
        ("uk", "Ukrainian"),
    ]);
    assert_eq!(
        mapped(&["United Kingdom", "Argentina"], &languages),
        vec![None, None]
    );
    let coded = options(&[("uk", "uk"), ("de", "de"), ("fr", "fr"), ("it", "it")]);
    assert_eq!(mapped(&["England", "Germany"], &coded), vec![None, None]);
    let states = options(&[
        ("CA", "California"),
        ("DE", "Delaware"),
        ("PA", "Pennsylvania"),
        ("GA", "Georgia"),
    ]);
    assert_eq!(
        mapped(&["Canada", "Germany", "Panama"], &states),
        vec![None, None, None]
    );
}

/// A country no option names is none of them, however like one it is spelt (probe 76b D2),
/// nor is a value that names no country (77a D3: Indiana was India); accents or their
/// absence do not matter (76b D3).
#[test]
fn a_country_no_option_names_maps_onto_none() {
    let countries = options(&[
        ("NG", "Nigeria"),
        ("ZM", "Zambia"),
        ("CG", "Republic of the Congo"),
        ("TR", "Türkiye"),
        ("CI", "Côte d'Ivoire"),
        ("GB", "United Kingdom"),
        ("IN", "India"),
        ("OM", "Oman"),
    ]);
    assert_eq!(
        mapped(&["Indiana", "Roman", "Georgia (US)"], &countries),
        vec![None, None, None]
    );
    let got = mapped(
        &["Niger", "Gambia", "Turkiye", "Cote d'Ivoire", "Wales"],
        &countries,
    );
    assert_eq!(got, chosen(&[None, None, Some("TR"), Some("CI"), Some("GB")]));
}
