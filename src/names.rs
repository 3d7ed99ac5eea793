//! Names people read (of spaces, workbooks, sheets, fields, environments, guests, files, in
//! pages and mail): one line, not too long, and nothing that reorders how the text around
//! them is shown.

/// How long a name or label may be unless its kind has its own limit: long enough for any
/// real name, short enough for a title, a tab or a mail subject.
pub const MAX_CHARS: usize = 200;

/// Characters that reorder how text is shown (right-to-left overrides and the like, Unicode's
/// `Bidi_Control`): in a name they disguise what follows (`invoice\u{202E}fdp.exe` shows as
/// `...exe.pdf`, and an override in a guest's name turns the rest of the line around).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that show nothing (Unicode's default-ignorable ones, and the Hangul fillers
/// that show as blanks), but for the joiners (U+200C, U+200D), variation selectors and tags
/// that scripts, emoji and flags need.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
    )
}

/// Whether a name holds line breaks (Unicode's line and paragraph separators too), other
/// control characters, reordering ones, or invisible ones that make two names look alike
/// (`Acme` and `Ac\u{200B}me`; the joiners some scripts and emoji need stay allowed).
pub fn misleads(name: &str) -> bool {
    name.chars().any(misleading)
}

/// One character of those [`misleads`] refuses.
pub fn misleading(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}') || is_invisible(c)
}

/// What is wrong with a name people will read, if anything, in one message for every case:
/// `what` says whose name it is ("a workbook name"). Whether it may be empty is the
/// caller's to say.
/// A space's or workbook's `namespace` (`portal`, `red`, `onboarding-v2`): what listeners
/// match as `space:<namespace>`; empty means none. `Err` says what is wrong with it.
pub fn namespace(given: Option<String>) -> Result<Option<String>, String> {
    let Some(ns) = given.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let fine = ns.len() <= 64
        && ns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    match fine {
        true => Ok(Some(ns)),
        false => Err("a namespace is 1 to 64 ASCII letters, digits, `-`, `_` and `.`".into()),
    }
}

pub fn problem(what: &str, name: &str, max_chars: usize) -> Option<String> {
    if name.chars().count() <= max_chars && !misleads(name) {
        return None;
    }
    Some(format!(
        "{what} is one line of at most {} characters: no line breaks, tabs, control, invisible or text-direction characters",
        crate::extract::thousands(max_chars as u64)
    ))
}

/// Text from outside (a receiver's answer, its rejection messages) as it can be stored: a
/// NUL, which PostgreSQL's text cannot hold, becomes U+FFFD.
pub fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// The letters of `text` with Latin letters' accents left out (`Âge` -> `Age`, `Prénom`
/// -> `Prenom`, `Ñ` -> `N`); other scripts as written (`ド` keeps its mark, `й` its breve):
/// a header compared with a field's name, or made into a key, reads as people read it.
pub fn without_accents(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().map(|c| {
        let mut base = None;
        unicode_normalization::char::decompose_canonical(c, |d| {
            base.get_or_insert(d);
        });
        base.filter(|b| b.is_ascii_alphabetic() && !c.is_ascii())
            .unwrap_or(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_breaks_mislead_letters_do_not() {
        for name in [
            "a\u{202E}gnp.exe",
            "Ada\nBcc: x",
            "x\u{2066}y",
            "tab\there",
            "one\u{2028}two",
            "\u{061C}x",
            "cr\r",
            "nel\u{85}",
            "Ac\u{200B}me",
            "\u{FEFF}Acme",
            "Ac\u{2063}me",
            "Ac\u{00AD}me",
            "\u{3164}",
        ] {
            assert!(misleads(name), "{name:?}");
        }
        for name in [
            "Ada Lovelace",
            "Søren Kierkegaard",
            "محمد",
            "日本",
            "Ῥόδος 🚢",
            "👨\u{200D}👩\u{200D}👧",
            "می\u{200C}خواهم",
        ] {
            assert!(!misleads(name), "{name:?}");
        }
    }

    #[test]
    fn a_problem_names_the_kind_and_the_limit() {
        assert_eq!(problem("a workbook name", "Orders 2025", MAX_CHARS), None);
        assert_eq!(problem("a workbook name", "محمد", MAX_CHARS), None);
        let said = problem("a workbook name", "x\u{202E}y", MAX_CHARS).unwrap();
        assert_eq!(
            said,
            "a workbook name is one line of at most 200 characters: no line breaks, tabs, \
             control, invisible or text-direction characters"
        );
        assert!(problem("a label", "a\nb", MAX_CHARS).is_some());
        assert!(problem("a description", &"d".repeat(1000), 1000).is_none());
        let long = problem("a description", &"d".repeat(1001), 1000).unwrap();
        assert!(long.contains("at most 1,000 characters"), "{long}");
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        assert_eq!(problem("a name", &"ø".repeat(200), MAX_CHARS), None);
        assert!(problem("a name", &"ø".repeat(201), MAX_CHARS).is_some());
    }
}
