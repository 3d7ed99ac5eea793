//! Which of day and month comes first in a date such as `01/02/2024`. Read alone, such a
//! date is month first, with a warning on its cell saying so. A batch of records (an
//! import's, an API insert's) whose dates in one field show one order only (`25/12/2024`
//! can only be day first) reads that field's dates in that order, without a warning.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DateOrder {
    /// Nothing says: month first, and a date that reads two ways is warned about.
    #[default]
    Unknown,
    MonthFirst,
    DayFirst,
}

/// The leading numbers of `a/b/year` or `a-b-year` (one or two digits each, a year of two or
/// four digits, a time after a space or `T` allowed) and the separator.
fn leading_pair(text: &str) -> Option<(u32, u32, char)> {
    let date = text.trim().split([' ', 'T']).next()?;
    let sep = date.chars().find(|c| !c.is_ascii_digit())?;
    if sep != '/' && sep != '-' {
        return None;
    }
    let mut parts = date.split(sep);
    let (a, b, year) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, lens: &[usize]| lens.contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit());
    if parts.next().is_some() || !digits(a, &[1, 2]) || !digits(b, &[1, 2]) || !digits(year, &[2, 4]) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, sep))
}

/// What one date says of its field's order, if anything.
pub fn evidence(text: &str) -> Option<DateOrder> {
    match leading_pair(text)? {
        (13..=31, 1..=12, _) => Some(DateOrder::DayFirst),
        (1..=12, 13..=31, _) => Some(DateOrder::MonthFirst),
        _ => None,
    }
}

/// Whether a date reads two ways: both leading numbers could be the month, and they differ.
pub fn reads_two_ways(text: &str) -> bool {
    matches!(leading_pair(text), Some((a, b, _)) if (1..=12).contains(&a) && (1..=12).contains(&b) && a != b)
}

/// The same date with its two leading numbers swapped (`01/02/2024` -> `02/01/2024`), so
/// that reading it month first reads the original day first.
pub fn swapped(text: &str) -> Option<String> {
    let (_, _, sep) = leading_pair(text)?;
    let mut parts = text.trim().splitn(3, sep);
    let (a, b, rest) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{b}{sep}{a}{sep}{rest}"))
}

/// The order a batch's values of one field show: one order seen, and never the other.
pub fn of_values<'a>(values: impl Iterator<Item = &'a Value>) -> DateOrder {
    let (mut day, mut month) = (false, false);
    for v in values {
        if let Value::String(s) = v {
            match evidence(s) {
                Some(DateOrder::DayFirst) => day = true,
                Some(DateOrder::MonthFirst) => month = true,
                _ => {}
            }
        }
        if day && month {
            return DateOrder::Unknown;
        }
    }
    match (day, month) {
        (true, false) => DateOrder::DayFirst,
        (false, true) => DateOrder::MonthFirst,
        _ => DateOrder::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_shows_an_order_only_when_one_is_seen_and_not_the_other() {
        let of = |vs: Value| of_values(vs.as_array().unwrap().iter());
        assert_eq!(of(json!(["01/02/2024", "25/12/2024"])), DateOrder::DayFirst);
        assert_eq!(
            of(json!(["01/02/2024", "12/25/2024 10:00"])),
            DateOrder::MonthFirst
        );
        assert_eq!(of(json!(["25/12/2024", "12/25/2024"])), DateOrder::Unknown);
        assert_eq!(
            of(json!(["01/02/2024", "2024-12-25", 5, null])),
            DateOrder::Unknown
        );
        assert_eq!(of(json!(["31-01-99"])), DateOrder::DayFirst);
        assert_eq!(
            of(json!(["31.01.2024", "2024/31/01", "1/2/3/2024"])),
            DateOrder::Unknown
        );
    }

    #[test]
    fn only_two_numbers_that_could_both_be_months_read_two_ways() {
        assert!(reads_two_ways("01/02/2024"));
        assert!(reads_two_ways(" 3-4-24 "));
        assert!(!reads_two_ways("05/05/2024"));
        assert!(!reads_two_ways("13/02/2024"));
        assert!(!reads_two_ways("2024-01-02"));
        assert!(!reads_two_ways("01.02.2024"));
        assert_eq!(swapped("01/02/2024").as_deref(), Some("02/01/2024"));
        assert_eq!(swapped("3-4-24 10:00").as_deref(), Some("4-3-24 10:00"));
    }
}
