//! Finding a text in what a cell shows, for a find and replace: anywhere in it or as the
//! whole of it, in its own case or in any case.

/// A text to find.
#[derive(Debug, Clone, Copy)]
pub struct Find<'a> {
    text: &'a str,
    whole: bool,
    any_case: bool,
    /// An ASCII text is found in any case of its ASCII letters only, as the SQL that
    /// narrows a find to the records holding it (`lower`) reads them.
    ascii: bool,
}

impl<'a> Find<'a> {
    pub fn new(text: &'a str, whole: bool, any_case: bool) -> Self {
        Find {
            text,
            whole,
            any_case,
            ascii: text.is_ascii(),
        }
    }

    /// `shown` with what is found in it replaced by `replace`, if that changes it.
    pub fn replaced(&self, shown: &str, replace: &str) -> Option<String> {
        let new = if self.whole {
            let all = match self.any_case {
                false => shown == self.text,
                true => self.match_at(shown) == Some(shown.len()),
            };
            all.then(|| replace.to_string())
        } else if self.text.is_empty() {
            None
        } else if !self.any_case {
            shown
                .contains(self.text)
                .then(|| shown.replace(self.text, replace))
        } else {
            self.replaced_in_any_case(shown, replace)
        };
        // `n` for `n` changes nothing: no commit, no history entry for it.
        new.filter(|n| n != shown)
    }

    fn replaced_in_any_case(&self, shown: &str, replace: &str) -> Option<String> {
        let (mut out, mut kept_from, mut at, mut found) = (String::new(), 0, 0, false);
        while at < shown.len() {
            match self.match_at(&shown[at..]) {
                Some(len) => {
                    out.push_str(&shown[kept_from..at]);
                    out.push_str(replace);
                    (at, kept_from, found) = (at + len, at + len, true);
                }
                None => at += shown[at..].chars().next().map_or(1, char::len_utf8),
            }
        }
        out.push_str(&shown[kept_from..]);
        found.then_some(out)
    }

    /// The length in bytes of the text found at the start of `rest`, if it starts there.
    fn match_at(&self, rest: &str) -> Option<usize> {
        let mut chars = rest.char_indices();
        for wanted in self.text.chars() {
            let (_, got) = chars.next()?;
            if !self.same(wanted, got) {
                return None;
            }
        }
        Some(chars.next().map_or(rest.len(), |(i, _)| i))
    }

    fn same(&self, wanted: char, got: char) -> bool {
        wanted == got
            || (self.any_case
                && match self.ascii {
                    true => wanted.eq_ignore_ascii_case(&got),
                    false => wanted.to_lowercase().eq(got.to_lowercase()),
                })
    }
}

#[cfg(test)]
mod tests {
    use super::Find;

    fn replaced(shown: &str, find: &str, replace: &str, whole: bool) -> Option<String> {
        Find::new(find, whole, false).replaced(shown, replace)
    }

    fn any_case(shown: &str, find: &str, replace: &str, whole: bool) -> Option<String> {
        Find::new(find, whole, true).replaced(shown, replace)
    }

    #[test]
    fn a_replacement_that_changes_nothing_is_none() {
        assert_eq!(replaced("n", "n", "n", false), None);
        assert_eq!(replaced("n", "n", "n", true), None);
        assert_eq!(replaced("ab", "a", "a", false), None);
        assert_eq!(replaced("ab", "a", "A", false), Some("Ab".into()));
        assert_eq!(any_case("Ab", "a", "A", false), None);
    }

    /// Probe 71d D2: a find in the grid missed `Unknown` for `unknown` and `@EXAMPLE.COM`
    /// for `@example.com`.
    #[test]
    fn a_find_in_any_case_finds_every_spelling() {
        assert_eq!(
            any_case(
                "a@EXAMPLE.com, b@example.COM",
                "@example.com",
                "@example.org",
                false
            ),
            Some("a@example.org, b@example.org".into())
        );
        assert_eq!(
            any_case("Unknown", "unknown", "Churned", true),
            Some("Churned".into())
        );
        assert_eq!(
            any_case("Unknowns", "unknown", "Churned", true),
            None,
            "not the whole value"
        );
        assert_eq!(
            any_case("MÜLLER und Müller", "müller", "M.", false),
            Some("M. und M.".into())
        );
        assert_eq!(
            any_case("aAa", "aa", "b", false),
            Some("ba".into()),
            "left to right, no overlap"
        );
        assert_eq!(
            replaced("Unknown", "unknown", "Churned", true),
            None,
            "its own case"
        );
        // An ASCII text is found as `lower()` narrows the records: not in the Kelvin sign.
        assert_eq!(any_case("\u{212A}m", "km", "x", false), None);
    }
}
