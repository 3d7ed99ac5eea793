//! Casting one cell to its field's type.

use super::cast_date::cast_date;
use super::date_order::DateOrder;
use super::exact::{rounded, significant, to_the_places};
use super::{is_empty, Message, MessageType, Reading, Source};
use crate::blueprint::{EnumOption, Field, FieldType};
use serde_json::{Number, Value};

/// The typed value of a cell and what is wrong with it. When a cast fails the value stays
/// exactly as given: validation never throws input away.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: Value,
    pub messages: Vec<Message>,
}

pub fn cast_cell(field: &Field, given: &Value) -> Cell {
    cast_cell_read(field, given, Reading::Alone)
}

/// [`cast_cell`], reading a date (`01/02/2024`) or a number (`1,234`) that reads two ways as
/// `reading` says.
pub fn cast_cell_read(field: &Field, given: &Value, reading: Reading) -> Cell {
    let order = match reading {
        Reading::Dates(order) => order,
        _ => DateOrder::Unknown,
    };
    let mut messages = Vec::new();
    if is_empty(given) {
        if field.required {
            messages.push(Message::for_constraint(
                Source::Required,
                &field.required_note,
                || format!("{} is required", field.display_name()),
            ));
        }
        return Cell {
            value: Value::Null,
            messages,
        };
    }
    let result = match &field.field_type {
        FieldType::String | FieldType::Reference { .. } => Ok(Value::String(match given {
            Value::String(s) => s.trim().to_string(),
            other => display(other).trim().to_string(),
        })),
        FieldType::Number { decimal_places } => {
            // A spelling that reads two ways (`1.000`, `1,234`) in a field whose other values
            // write decimal commas is read so, as a date is read in its field's order (probe
            // 69d D1, 70c D5: a quantity of `1.000` beside `1.234,56` became 1).
            let as_written = match reading {
                Reading::DecimalCommas => Some("this field's other values write decimal commas"),
                Reading::CommasElsewhere => Some("the other numbers of this import write decimal commas"),
                _ => None,
            };
            // The decimal-comma reading of a spelling that reads two ways (none for others).
            let commas = match (as_written, given) {
                (Some(_), Value::String(text)) => {
                    super::decimal::other_reading(text.trim()).map(Value::String)
                }
                _ => None,
            };
            let number = cast_number(commas.as_ref().unwrap_or(given)).map(|n| rounded(n, *decimal_places));
            if let (Ok(n), Value::String(text), Some(why), true) =
                (&number, given, as_written, commas.is_some())
            {
                messages.extend(read_with_commas(text.trim(), n, why));
            } else if let (Ok(n), Value::String(text)) = (&number, given) {
                let why = match reading {
                    Reading::MixedDecimals => {
                        Some("this field's values write some numbers with decimal points, others with decimal commas")
                    }
                    _ => None,
                };
                messages.extend(why.and_then(|why| read_two_ways(text.trim(), n, why)));
            }
            number
        }
        FieldType::Boolean => cast_bool(given),
        FieldType::Date => cast_date(given, order).map(|(value, warning)| {
            messages.extend(warning.map(|w| Message {
                kind: MessageType::Warn,
                message: w,
                source: Source::Cast,
            }));
            value
        }),
        FieldType::Enum { options } => match_option(options, given).map(Value::String),
        // Each record once: a record is linked or not.
        FieldType::ReferenceList { .. } => {
            let mut seen = std::collections::HashSet::new();
            let mut items = split_list(given);
            items.retain(|item| seen.insert(item.clone()));
            Ok(Value::Array(items.into_iter().map(Value::String).collect()))
        }
        FieldType::StringList => Ok(Value::Array(
            split_list(given).into_iter().map(Value::String).collect(),
        )),
        // Each option once: a multi-select holds an option or not (`on, active` is one).
        FieldType::EnumList { options } => split_list(given)
            .into_iter()
            .map(|item| match_option(options, &Value::String(item)))
            .collect::<Result<Vec<_>, _>>()
            .map(|mut chosen| {
                let mut seen = std::collections::HashSet::new();
                chosen.retain(|o| seen.insert(o.clone()));
                Value::Array(chosen.into_iter().map(Value::String).collect())
            }),
    };
    match result {
        Ok(value) => Cell { value, messages },
        Err(problem) => {
            let source = match field.field_type {
                FieldType::Enum { .. } | FieldType::EnumList { .. } => Source::InvalidOption,
                _ => Source::Cast,
            };
            messages.push(Message::error(source, shortened(problem)));
            Cell {
                value: given.clone(),
                messages,
            }
        }
    }
}

/// A message quoting a long value (a megabyte cell that is not a number), shortened to
/// its start and its end: every page showing the cell carries the message.
fn shortened(problem: String) -> String {
    let n = problem.chars().count();
    if n <= 300 {
        return problem;
    }
    let head: String = problem.chars().take(200).collect();
    let tail: String = problem.chars().skip(n - 80).collect();
    format!("{head}…{tail}")
}

/// A value as text for a message, between the quotation marks `marks`: a long one (a
/// megabyte cell) is cut to its start and end, its length said after the closing mark,
/// since every page showing the cell carries its messages.
pub fn quoted(value: &Value, (open, close): (&str, &str)) -> String {
    let text = display(value);
    let n = text.chars().count();
    if n <= 200 {
        return format!("{open}{text}{close}");
    }
    let head: String = text.chars().take(120).collect();
    let tail: String = text.chars().skip(n - 40).collect();
    format!("{open}{head}…{tail}{close} ({n} characters)")
}

/// A value as text, the way a person typed it.
pub fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A number as a number cell would read it (`1,234.5`, `-7`), for queries.
pub fn parse_number(text: &str) -> Option<Number> {
    match cast_number(&Value::String(text.to_string())) {
        Ok(Value::Number(n)) => Some(n),
        _ => None,
    }
}

/// A date as a date cell would read it, in the stored form `YYYY-MM-DD`, for queries.
pub fn parse_date(text: &str) -> Option<String> {
    match cast_date(&Value::String(text.to_string()), DateOrder::MonthFirst) {
        Ok((Value::String(d), _)) => Some(d),
        _ => None,
    }
}

/// A boolean as a boolean cell would read it (`yes`, `true`, `1`, ...), for queries.
pub fn parse_bool(text: &str) -> Option<bool> {
    match cast_bool(&Value::String(text.to_string())) {
        Ok(Value::Bool(b)) => Some(b),
        _ => None,
    }
}

/// The warning on a number that reads two ways (`2.500`), read the English way, in a field
/// whose other values in the batch write decimal commas (`why`), or both ways.
fn read_two_ways(text: &str, read: &Value, why: &str) -> Option<Message> {
    let other = super::decimal::other_reading(text)?;
    Some(Message {
        kind: MessageType::Warn,
        message: format!("{text} was read as {read}; {why}: if it is {other}, write {other}"),
        source: Source::Cast,
    })
}

/// The warning on a number that reads two ways read with a decimal comma, as the other
/// values of its field write them: how it reads the English way.
fn read_with_commas(text: &str, read: &Value, why: &str) -> Option<Message> {
    let english = cast_number(&Value::String(text.to_string())).ok()?;
    Some(Message {
        kind: MessageType::Warn,
        message: format!("{text} was read as {read}, as {why}: if it is {english}, write {english}"),
        source: Source::Cast,
    })
}

fn cast_number(given: &Value) -> Result<Value, String> {
    let text = match given {
        // Past i64 a whole number is a double, as any spelling of it is (SQLite compares
        // a bigger integer as one anyway, neighbours alike): checked as its digits are.
        Value::Number(n) if n.as_u64().is_some_and(|u| u > i64::MAX as u64) => {
            return cast_number(&Value::String(n.to_string()))
        }
        Value::Number(n) => return Ok(Value::Number(whole(n).unwrap_or_else(|| n.clone()))),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => return Err("expected a number".into()),
        Value::String(s) => s.trim(),
        Value::Null => unreachable!("empty cells return early"),
    };
    // Most cells are plain integers: no copy without separators to strip.
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Value::Number(n.into()));
    }
    if let Some(pointed) = super::decimal::normalized(text, false) {
        return cast_number(&Value::String(pointed));
    }
    let cleaned = strip_grouping(text).ok_or_else(|| not_a_number(text))?;
    // A whole number however written (`1,000`, `9007199254740993.00`) stays exact as an
    // integer, where a double would keep only its first 16 digits.
    let integral = match cleaned.split_once('.') {
        Some((int, frac)) if !int.is_empty() && !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        _ => cleaned.as_str(),
    };
    if let Ok(n) = integral.parse::<i64>() {
        return Ok(Value::Number(n.into()));
    }
    let f = cleaned
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .ok_or_else(|| not_a_number(text))?;
    // Kept as a double, these would silently be another number: refused, with the input
    // kept as typed, as any value that is not a number is.
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let mantissa = cleaned.split(['e', 'E']).next().unwrap_or_default();
    if f == 0.0 && digits(mantissa).chars().any(|d| d != '0') {
        return Err(format!("\"{text}\" is too close to zero to be kept as a number"));
    }
    // A double holds about 16 digits: a spelling whose digits it does not keep (a 25-digit
    // integer, `…345.0`, or `999999999999999.99`, which would read as 1e15: probe 60b D3)
    // would read as a neighbour. Kept: the double's shortest spelling, and any spelling the
    // double is to the places written (`0.10000000000000001`, `%.17g` and numpy's `%.18e`,
    // which programs write: probe 60c D9).
    if significant(mantissa) != significant(&format!("{:e}", f.abs())) && !to_the_places(&cleaned, f) {
        return Err(format!(
            "\"{text}\" has more digits than a number keeps exactly; make the field a text field to keep them"
        ));
    }
    Number::from_f64(f)
        .map(|n| Value::Number(whole(&n).unwrap_or(n)))
        .ok_or_else(|| format!("\"{text}\" is not a number"))
}

/// Why `text` is not a number, with what to do when it is one dressed as money, a share or
/// an accountant's negative (probe 69d D7: `$1,234.50` said only "not a number").
fn not_a_number(text: &str) -> String {
    // Only an amount dressed so: `$abc` or `(abc)` is no number at all (probe 70a D9).
    let digits = text.bytes().any(|b| b.is_ascii_digit());
    let hint = if !digits {
        ""
    } else if text.contains(['$', '€', '£', '¥']) || text.contains("CHF") {
        "; write the amount without its currency (1234.50), and the currency in a field of its own"
    } else if text.ends_with('%') {
        "; write the share as a number without % (12.5 for 12.5%, or 0.125)"
    } else if text.starts_with('(') && text.ends_with(')') {
        "; an amount in parentheses is a negative one: write it with a minus sign (-42.00)"
    } else {
        ""
    };
    format!("\"{text}\" is not a number{hint}")
}

/// A whole number written another way (`1e3`, `12.0`) as that integer, as JavaScript
/// reads it: it shows and downloads as `1000`, not `1000.0`.
pub(super) fn whole(n: &Number) -> Option<Number> {
    let f = n.as_f64().filter(|_| n.is_f64())?;
    (f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER).then(|| (f as i64).into())
}

/// The largest integer a double holds exactly (JavaScript's `Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Removes thousands separators (`1,234,567.89`, `1 234`) only where they group by three,
/// so `1,5` is refused rather than read as 15.
fn strip_grouping(text: &str) -> Option<String> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    // One sign at most: `+-1` is not a number.
    if body.starts_with(['-', '+']) {
        return None;
    }
    let sep = [',', ' ', '\u{a0}', '_'].into_iter().find(|c| body.contains(*c));
    let Some(sep) = sep else {
        return Some(format!("{sign}{body}"));
    };
    let (int_part, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let groups: Vec<&str> = int_part.split(sep).collect();
    let ok = groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3);
    if !ok {
        return None;
    }
    let mut out = format!("{sign}{}", groups.concat());
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

fn cast_bool(given: &Value) -> Result<Value, String> {
    let text = match given {
        Value::Bool(b) => return Ok(Value::Bool(*b)),
        Value::Number(n) if n.as_i64() == Some(1) => return Ok(Value::Bool(true)),
        Value::Number(n) if n.as_i64() == Some(0) => return Ok(Value::Bool(false)),
        Value::String(s) => s.trim().to_lowercase(),
        _ => return Err("expected true or false".into()),
    };
    // English, then German, French, Spanish, Italian, Dutch and Portuguese exports' words.
    match text.as_str() {
        "true" | "t" | "yes" | "y" | "1" | "on" | "x" | "✓" | "✔" => Ok(Value::Bool(true)),
        "false" | "f" | "no" | "n" | "0" | "off" => Ok(Value::Bool(false)),
        "ja" | "j" | "wahr" | "oui" | "vrai" | "sí" | "si" | "s" | "verdadero" | "vero" | "waar" | "sim"
        | "verdadeiro" => Ok(Value::Bool(true)),
        "nein" | "falsch" | "non" | "faux" | "falso" | "nee" | "onwaar" | "não" | "nao" => {
            Ok(Value::Bool(false))
        }
        _ => Err(format!(
            "\"{}\" is not a boolean; use yes/no, true/false or 1/0",
            display(given)
        )),
    }
}

/// Matches an option by value, then by label or alternative name, ignoring case.
fn match_option(options: &[EnumOption], given: &Value) -> Result<String, String> {
    let text = display(given);
    let wanted = text.trim();
    // As written first (a value, then a label or another name), then regardless of case;
    // a spelling that names two options regardless of case names neither (probe 49b 2:
    // `ACTIVE` was stored as the option labelled `Active`).
    if let Some(o) = options.iter().find(|o| o.value == wanted) {
        return Ok(o.value.clone());
    }
    let named = |o: &&EnumOption| o.label == wanted || o.alternative_names.iter().any(|n| n == wanted);
    if let Some(o) = options.iter().find(named) {
        return Ok(o.value.clone());
    }
    let lower = wanted.to_lowercase();
    let found: Vec<&EnumOption> = options
        .iter()
        .filter(|o| {
            o.value.to_lowercase() == lower
                || o.label.to_lowercase() == lower
                || o.alternative_names.iter().any(|n| n.to_lowercase() == lower)
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.value.clone()),
        [] => {
            let allowed: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
            Err(format!("\"{wanted}\" is not one of: {}", allowed.join(", ")))
        }
        many => {
            let labels: Vec<&str> = many.iter().map(|o| o.label.as_str()).collect();
            Err(format!(
                "\"{wanted}\" reads as more than one option ({}); write it as one of them is written",
                labels.join(", ")
            ))
        }
    }
}

/// The items of a list cell: a list's, a JSON array's written as text, else the text's
/// split at `,` and `;`, trimmed, blanks left out.
pub fn list_items(given: &Value) -> Vec<String> {
    split_list(given)
}

fn split_list(given: &Value) -> Vec<String> {
    // A JSON array written as text (a JSON file's list, extracted into a text column, then
    // mapped) is that list, not text to cut at its commas (probe 62b D1).
    if let Value::String(text) = given {
        let t = text.trim();
        if t.starts_with('[') && t.ends_with(']') {
            // A NUL its escapes decode to is no text a database keeps (probe 62c D5): such
            // text stays text.
            if let Ok(items @ Value::Array(_)) = serde_json::from_str::<Value>(t) {
                let items = split_list(&items);
                if !items.iter().any(|i| i.contains('\0')) {
                    return items;
                }
            }
        }
    }
    match given {
        Value::Array(items) => items
            .iter()
            .map(display)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        other => display(other)
            .split([',', ';'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// The key a unique or reference check compares: the typed value as text, lowercased
/// when the comparison ignores case. `None` for an empty cell.
pub fn normalize_key(value: &Value, case_sensitive: bool) -> Option<String> {
    if is_empty(value) {
        return None;
    }
    let text = display(value).trim().to_string();
    Some(if case_sensitive { text } else { text.to_lowercase() })
}
