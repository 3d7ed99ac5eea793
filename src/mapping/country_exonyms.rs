//! Countries as other languages name them (`Deutschland`, `España`, `Frankreich`): the
//! `celes` table knows English names only, and an export from a German or Spanish tool
//! writes its own (probe 78c D3). The usual names in German, French, Spanish, Italian,
//! Dutch and Portuguese of the countries most exports name, folded to plain lowercase
//! letters as [`super::countries::country_code`] folds a text.

const NAMES: &[(&str, &[&str])] = &[
    ("AT", &["osterreich", "autriche", "austria", "oostenrijk"]),
    ("BE", &["belgien", "belgique", "belgica", "belgio", "belgie"]),
    ("BR", &["brasilien", "bresil", "brasil", "brasile", "brazilie"]),
    ("CA", &["kanada", "canada"]),
    (
        "CH",
        &["schweiz", "suisse", "suiza", "svizzera", "zwitserland", "suica"],
    ),
    ("CN", &["chine", "cina"]),
    (
        "CZ",
        &[
            "tschechien",
            "tchequie",
            "chequia",
            "cechia",
            "tsjechie",
            "tschechischerepublik",
        ],
    ),
    (
        "DE",
        &[
            "deutschland",
            "allemagne",
            "alemania",
            "germania",
            "duitsland",
            "alemanha",
        ],
    ),
    ("DK", &["danemark", "dinamarca", "danimarca", "denemarken"]),
    (
        "ES",
        &["spanien", "espagne", "espana", "spagna", "spanje", "espanha"],
    ),
    ("FI", &["finnland", "finlande", "finlandia", "finland"]),
    ("FR", &["frankreich", "francia", "frankrijk", "franca"]),
    (
        "GB",
        &[
            "vereinigteskonigreich",
            "grossbritannien",
            "royaumeuni",
            "reinounido",
            "regnounito",
            "verenigdkoninkrijk",
            "engeland",
            "angleterre",
            "inglaterra",
            "inghilterra",
            "england",
        ],
    ),
    ("GR", &["griechenland", "grece", "grecia", "griekenland"]),
    ("HU", &["ungarn", "hongrie", "hungria", "ungheria", "hongarije"]),
    ("IE", &["irland", "irlande", "irlanda", "ierland"]),
    ("IN", &["indien", "inde"]),
    ("IT", &["italien", "italie", "italia"]),
    ("JP", &["japon", "giappone", "japao"]),
    ("MX", &["mexiko", "mexique", "messico"]),
    (
        "NL",
        &[
            "niederlande",
            "paysbas",
            "paisesbajos",
            "paesibassi",
            "nederland",
            "paisesbaixos",
            "holanda",
            "olanda",
            "hollande",
        ],
    ),
    ("NO", &["norwegen", "norvege", "noruega", "norvegia", "noorwegen"]),
    ("PL", &["polen", "pologne", "polonia"]),
    ("PT", &["portugal", "portogallo"]),
    ("RU", &["russland", "russie", "rusia", "russia", "rusland"]),
    ("SE", &["schweden", "suede", "suecia", "svezia", "zweden"]),
    ("TR", &["turkei", "turquie", "turquia", "turchia", "turkije"]),
    (
        "US",
        &[
            "vereinigtestaaten",
            "etatsunis",
            "estadosunidos",
            "statiuniti",
            "verenigdestaten",
        ],
    ),
];

/// The code of the country `plain` (lowercase letters, accents gone) names in one of those
/// languages.
pub(super) fn code_of(plain: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(_, names)| names.contains(&plain))
        .map(|(code, _)| *code)
}
