//! Dates as people and spreadsheets write them: the common spellings, two-digit years as
//! Excel reads them, timestamps' date parts, and what is wrong with a day that does not exist.

use super::date_order::{self, DateOrder};
use chrono::{Datelike, NaiveDate};
use serde_json::Value;

/// Common date spellings, tried in order; month-first wins over day-first when both fit.
/// A `%Y` year has four digits (chrono's `%Y` takes any number: `1/2/24` read as the year
/// 24); two-digit years (`1/2/24`, `31.12.99`) are read by the `%y` forms after them, as
/// Excel reads them: 00-29 in the 2000s, 30-99 in the 1900s (see [`read_date`]).
const DATE_FORMATS: [&str; 17] = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y%m%d",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
    "%m-%d-%y",
    "%d-%m-%y",
];

/// A date in its stored form, and a warning when it read two ways and `order` did not say
/// which (month first, then).
pub(super) fn cast_date(given: &Value, order: DateOrder) -> Result<(Value, Option<String>), String> {
    let Value::String(text) = given else {
        return Err("expected a date such as 2024-01-31".into());
    };
    let text = text.trim();
    // The stored form itself, most common by far, without trying formats.
    if let Some(d) = iso_date(date_part(text)) {
        return Ok((Value::String(d), None));
    }
    if date_order::reads_two_ways(text) {
        let swapped = date_order::swapped(text).unwrap_or_default();
        let (month_first, day_first) = (read_date(text), read_date(&swapped));
        return match (order, month_first, day_first) {
            (DateOrder::DayFirst, _, Some(d)) => Ok((Value::String(iso(d)), None)),
            (DateOrder::MonthFirst, Some(d), _) => Ok((Value::String(iso(d)), None)),
            (_, Some(d), Some(other)) => Ok((
                Value::String(iso(d)),
                Some(format!(
                    "{text} was read month first, as {}; if it is {}, write {}",
                    d.format("%-d %B %Y"),
                    other.format("%-d %B %Y"),
                    iso(other)
                )),
            )),
            _ => Err(not_a_date(text)),
        };
    }
    // Read against the order its field's dates are read in (`13/02/2005` among dates read
    // month first): said, not mixed in silently (probe 67f D5).
    let against = match (order, date_order::evidence(text)) {
        (DateOrder::MonthFirst, Some(DateOrder::DayFirst)) => Some(("day", "month")),
        (DateOrder::DayFirst, Some(DateOrder::MonthFirst)) => Some(("month", "day")),
        _ => None,
    };
    read_date(text)
        .map(|d| {
            let said = against.map(|(one, other)| {
                format!(
                    "{text} can only be read {one} first, as {}; this field's other dates are read {other} first: check it",
                    d.format("%-d %B %Y")
                )
            });
            (Value::String(iso(d)), said)
        })
        .ok_or_else(|| not_a_date(text))
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn not_a_date(text: &str) -> String {
    match no_such_day(text) {
        Some(why) => format!("\"{text}\" is not a date: {why}"),
        None => format!("\"{text}\" is not a date; use a format such as 2024-01-31"),
    }
}

/// What is wrong with a date written in numbers with a four-digit year whose day does not
/// exist (`2024-02-30`, `29.02.2023`, `2024-13-01`), which a person checking its format
/// would not find (probe 69d D6).
fn no_such_day(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(['-', '/', '.']).collect();
    let number = |p: &str| {
        (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let [a, b, c] = parts[..] else { return None };
    let (a_n, b_n, c_n) = (number(a)?, number(b)?, number(c)?);
    let (year, first, second) = match (a.len(), c.len()) {
        (4, 1..=2) => (a_n, b_n, c_n),
        (1..=2, 4) => (c_n, a_n, b_n),
        _ => return None,
    };
    // Year first: month, day. Year last: month first as dates are read, but with dots
    // (`31.12.2024`) or a first number past 12, day first.
    let (month, day) = match (a.len() == 4, text.contains('.') || first > 12) {
        (true, _) => (first, second),
        (false, false) => (first, second),
        (false, true) => (second, first),
    };
    if !(1..=12).contains(&month) {
        return Some(match (a.len() == 4, first > 12 && second > 12) {
            (false, true) => format!("neither {first} nor {second} is a month"),
            _ => format!("there is no month {month}"),
        });
    }
    let named = NaiveDate::from_ymd_opt(year as i32, month, 1)?
        .format("%B %Y")
        .to_string();
    NaiveDate::from_ymd_opt(year as i32, month, day)
        .is_none()
        .then(|| format!("{named} has no day {day}"))
}

/// A date's text without the time after it: an ISO timestamp keeps its date part, with a
/// `T` or a space before the time (`2021-02-28 13:45:00`, as spreadsheets' date-times are
/// extracted).
fn date_part(text: &str) -> &str {
    match text.as_bytes().get(10) {
        Some(b'T' | b' ') if iso_time(&text[11..]) => &text[..10],
        _ => text,
    }
}

/// A time of day: `13:45`, `13:45:00`, `13:45:00.123`.
fn timed(rest: &str) -> bool {
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .any(|f| chrono::NaiveTime::parse_from_str(rest, f).is_ok())
}

/// A timestamp's time after its `T` or space: a time of day, then nothing, `Z` or an offset
/// (`+02:00`, `+0200`, `-05`). `T99:99:99` or an offset of 99 hours is no time, so the
/// whole text is no date (probe 56b 4: the time was dropped unread).
fn iso_time(rest: &str) -> bool {
    // The zone named after the offset (`+02:00[Europe/Paris]`, as Java writes it), or UTC
    // and GMT spelled out, are words on the time (probe 56c D4).
    let rest = match rest.find('[') {
        Some(i) if rest.ends_with(']') => &rest[..i],
        _ => rest,
    };
    let rest = rest.trim_end();
    let rest = ["UTC", "GMT"]
        .iter()
        .find_map(|zone| rest.strip_suffix(zone))
        .map_or(rest, str::trim_end);
    let (time, offset) = rest.split_at(rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len()));
    let offset_ok = match offset {
        "" | "Z" | "z" => true,
        signed => {
            let d = &signed[1..];
            let (h, m) = match d.len() {
                2 => (d, "00"),
                4 => d.split_at(2),
                5 if d.as_bytes()[2] == b':' => (&d[..2], &d[3..]),
                _ => return false,
            };
            let number = |t: &str, most: u32| {
                t.bytes().all(|b| b.is_ascii_digit()) && t.parse::<u32>().is_ok_and(|n| n <= most)
            };
            number(h, 23) && number(m, 59)
        }
    };
    // Seconds with a decimal comma (ISO allows it); 24:00 is the day's end.
    offset_ok && (timed(&time.replace(',', ".")) || matches!(time, "24:00" | "24:00:00"))
}

/// The day a date's text names, in one of the common spellings (month first wins over day
/// first when both fit).
fn read_date(text: &str) -> Option<NaiveDate> {
    let date_part = date_part(text);
    DATE_FORMATS.iter().find_map(|f| {
        let d = NaiveDate::parse_from_str(date_part, f).ok()?;
        match f.contains("%y") {
            true => Some(excel_century(d)),
            false => (1000..=9999).contains(&d.year()).then_some(d),
        }
    })
}

/// A two-digit year as Excel reads it, 30-99 in the 1900s, where chrono reads 30-68 in the
/// 2000s: a file made in a spreadsheet means what it showed there (probe 69d D3: a birth
/// date `12/25/45` was read as 2045).
fn excel_century(d: NaiveDate) -> NaiveDate {
    match d.year() {
        2030..=2068 => d.with_year(d.year() - 100).unwrap_or(d),
        _ => d,
    }
}

/// `YYYY-MM-DD` of a real day, as it is stored.
fn iso_date(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return None;
    }
    let (y, m, d) = (
        text[..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..].parse().ok()?,
    );
    NaiveDate::from_ymd_opt(y, m, d)
        .filter(|d| d.year() >= 1000)
        .map(|_| text.to_string())
}
