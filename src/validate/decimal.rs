//! Numbers written with a decimal comma (`1,5`, `1.234,56`, `1 234,5`), as much of Europe
//! writes them. A spelling that can only mean a decimal comma is read so anywhere; `1,234`
//! and `1.234` read two ways: the English way (one thousand two hundred thirty-four, and
//! one point two three four), but where the other values of their field in the same batch
//! (an import's, an API insert's) write decimal commas, with a decimal comma, as they do;
//! either way a cell whose batch shows decimal commas carries a warning saying how it was
//! read and how else it reads.

/// `text` with a decimal point and no grouping (`1234.56`), when it is a number written
/// with a decimal comma: one that can only be read so, or, when `commas` (its field's
/// batch writes decimal commas), one that reads two ways.
pub fn normalized(text: &str, commas: bool) -> Option<String> {
    // Most numbers have no comma and one dot at most: nothing to read, and nothing made.
    if !commas && !text.contains(',') && text.bytes().filter(|b| *b == b'.').count() < 2 {
        return None;
    }
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = match body.rsplit_once(',') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let sep = int.chars().find(|c| !c.is_ascii_digit());
    let whole = match sep {
        None if digits(int) => int.to_string(),
        Some(s @ ('.' | ' ' | '\u{a0}' | '\u{202f}' | '\'')) => {
            let groups: Vec<&str> = int.split(s).collect();
            // A first group of `0` is no thousands (`0.500` is a half).
            let grouped = groups.iter().all(|g| digits(g))
                && groups[0].len() <= 3
                && !groups[0].starts_with('0')
                && groups[1..].iter().all(|g| g.len() == 3);
            if !grouped {
                return None;
            }
            groups.concat()
        }
        _ => return None,
    };
    let dots = int.matches('.').count();
    let only_so = match (sep, frac) {
        // A comma after grouping dots or spaces: `1.234,56`, `1 234,5`.
        (Some(_), Some(_)) => true,
        // Two grouping dots cannot be a decimal point: `1.234.567`.
        (Some('.'), None) => dots >= 2,
        // A comma no thousands separator would be: `1,5`, `0,125`, `1234,567`.
        (None, Some(f)) => f.len() != 3 || whole.starts_with('0') || whole.len() > 3,
        _ => false,
    };
    let two_ways = match (sep, frac) {
        (Some('.'), None) => dots == 1,
        (None, Some(f)) => f.len() == 3,
        _ => false,
    };
    if !(only_so || commas && two_ways) {
        return None;
    }
    Some(match frac {
        Some(f) => format!("{sign}{whole}.{f}"),
        None => format!("{sign}{whole}"),
    })
}

/// The decimal-comma reading of a spelling that reads two ways (`2.500`: `2500`), which
/// is read the English way.
pub fn other_reading(text: &str) -> Option<String> {
    normalized(text, false)
        .is_none()
        .then(|| normalized(text, true))
        .flatten()
}

/// Whether a value can only be read with a decimal point (`1.5`, `1,234.56`).
pub fn decimal_point(text: &str) -> bool {
    let Some((int, frac)) = text.rsplit_once('.') else {
        return false;
    };
    let digits = !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit());
    digits && (frac.len() != 3 || int.contains(','))
}

/// Whether a batch's values of one number field write decimal commas: some can only be
/// read so, and none only with a decimal point.
pub fn commas_in<'a>(values: impl Iterator<Item = &'a serde_json::Value>) -> bool {
    let mut commas = false;
    for v in values {
        if let serde_json::Value::String(s) = v {
            let s = s.trim();
            if !s.contains([',', '.']) {
                continue;
            }
            if decimal_point(s) {
                return false;
            }
            commas = commas || normalized(s, false).is_some();
        }
    }
    commas
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spellings_that_only_a_decimal_comma_explains() {
        for (given, want) in [
            ("1,5", "1.5"),
            ("-12,75", "-12.75"),
            ("0,125", "0.125"),
            ("1234,567", "1234.567"),
            ("1.234,56", "1234.56"),
            ("1 234,5", "1234.5"),
            ("1\u{a0}234\u{a0}567,25", "1234567.25"),
            ("1.234.567", "1234567"),
        ] {
            assert_eq!(normalized(given, false).as_deref(), Some(want), "{given}");
        }
        for english in [
            "1,234", "1.234", "1,234.5", "12", "1 234", "1,23,4", "1.23,4", ",5", "1,",
        ] {
            assert_eq!(normalized(english, false), None, "{english}");
        }
    }

    #[test]
    fn a_batch_of_decimal_commas_tells_of_the_other_reading() {
        let german = [json!("1,5"), json!("1,234"), json!("2.500")];
        assert!(commas_in(german.iter()));
        assert_eq!(other_reading("1,234").as_deref(), Some("1.234"));
        assert_eq!(other_reading("2.500").as_deref(), Some("2500"));
        assert_eq!(other_reading("0.500"), None, "a first group of 0 is no thousands");
        assert_eq!(other_reading("1,5"), None, "one reading only");
        let mixed = [json!("1,5"), json!("2.25")];
        assert!(!commas_in(mixed.iter()), "a decimal point too: nothing says");
        let english = [json!("1,234"), json!("12")];
        assert!(!commas_in(english.iter()));
    }
}
