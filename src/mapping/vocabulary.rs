//! The words automap knows (module `concepts`): what names each usual field of contact,
//! address and order data, in the languages and short forms people's exports use, and the words that
//! only qualify another.

/// Words that say where a value comes from, whose it is or which of several, not what it
/// is: `Guest Email`, `Parent Phone`, `Property City`, `Internal Notes`.
pub(super) const NOISE: [&str; 84] = [
    "default",
    "person",
    "patient",
    "billing",
    "mailing",
    "business",
    "primary",
    "home",
    "work",
    "contact",
    "customer",
    "personal",
    "main",
    "value",
    "your",
    "the",
    "1",
    "guest",
    "parent",
    "student",
    "attendee",
    "employee",
    "member",
    "subscriber",
    "lead",
    "client",
    "user",
    "property",
    "office",
    "internal",
    "special",
    "agent",
    "owner",
    "buyer",
    "shipping",
    "delivery",
    "private",
    "profile",
    "badge",
    "invitee",
    "purchase",
    // A question as a header (`What's your role?`, `Which company do you work for?`, `Best
    // email to reach you`) and a possessive (`Member's Phone`).
    "what",
    "which",
    "do",
    "for",
    "best",
    "to",
    "reach",
    "s",
    "you",
    "there",
    "live",
    "ship",
    "optional",
    "required",
    "assn",
    // Other languages' and tools' which-one words: `Telefon privat`, `Rue (bureau)`,
    // `E-Mail 1 - Wert`, `Lieferadresse PLZ`, `Lineitem quantity`, `From Email Address`.
    "lineitem",
    "privat",
    "privé",
    "prive",
    "domicile",
    "geschäftlich",
    "geschaeftlich",
    "geschaftlich",
    "bureau",
    "ufficio",
    "wert",
    "valeur",
    "valor",
    "valore",
    "waarde",
    "livraison",
    "envío",
    "envio",
    "verzending",
    "lieferadresse",
    "from",
    "seller",
    // Which e-mail of a person's: `Email professionnel`, `Zakelijk e-mailadres`, `Correo
    // corporativo`, `E-Mail (dienstlich)`.
    "professionnel",
    "professionnelle",
    "zakelijk",
    "corporativo",
    "corporativa",
    "dienstlich",
];

/// Words that add nothing to another word that names a concept: `Mobile Phone Number`,
/// `Registered On`, `Title/Position`, `Country Code`, `Created Time (UTC)`.
pub(super) const FILLER: [&str; 19] = [
    "number", "name", "date", "time", "utc", "gmt", "on", "at", "of", "and", "or", "code", "in", "with",
    // `Adresse de livraison`, `Ciudad de envío`, `Código postal de envío`.
    "de", "del", "du", "des", "la",
];

/// Questions as headers, by their first words, and what they ask for.
pub(super) const QUESTIONS: [(&[&str], &str); 4] = [
    (&["where", "do", "you", "work"], "company"),
    (&["where", "do", "you", "live"], "city"),
    (&["anything", "else"], "notes"),
    (&["anything", "we", "should", "know"], "notes"),
];

/// Short forms people write for a word.
pub(super) const SHORT: [(&str, &str); 23] = [
    ("amt", "amount"),
    ("qty", "quantity"),
    ("ord", "order"),
    ("inv", "invoice"),
    ("cust", "customer"),
    ("pmt", "payment"),
    ("ph", "phone"),
    ("prov", "province"),
    ("cmnts", "comments"),
    ("dt", "date"),
    ("addr", "address"),
    ("tel", "telephone"),
    ("no", "number"),
    ("nbr", "number"),
    ("num", "number"),
    ("org", "organization"),
    ("organisation", "organization"),
    ("st", "st"),
    ("desc", "description"),
    ("wt", "weight"),
    ("mfr", "manufacturer"),
    ("dept", "department"),
    ("emp", "employee"),
];

mod contacts;
mod crm;
mod goods;
mod orders;
mod staff;

/// Each concept and the phrases that name it: contacts' and addresses', then orders' (no
/// phrase names two).
pub(super) fn concepts() -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])> {
    contacts::CONTACTS
        .iter()
        .chain(crm::CRM.iter())
        .chain(orders::ORDERS.iter())
        .chain(goods::GOODS.iter())
        .chain(staff::STAFF.iter())
}
