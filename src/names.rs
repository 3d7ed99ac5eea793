//! Names people read (of spaces, guests, files, in pages and mail): one line, and nothing
//! that reorders how the text around them is shown.

/// Characters that reorder how text is shown (right-to-left overrides and the like): in a
/// name they disguise what follows (`invoice\u{202E}fdp.exe` shows as `...exe.pdf`, and an
/// override in a guest's name turns the rest of the line around).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a name holds line breaks, other control characters or reordering ones.
pub fn misleads(name: &str) -> bool {
    name.chars().any(|c| c.is_control() || is_bidi_control(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_breaks_mislead_letters_do_not() {
        for name in ["a\u{202E}gnp.exe", "Ada\nBcc: x", "x\u{2066}y", "tab\there"] {
            assert!(misleads(name), "{name:?}");
        }
        for name in ["Ada Lovelace", "Søren Kierkegaard", "محمد", "日本"] {
            assert!(!misleads(name), "{name:?}");
        }
    }
}
