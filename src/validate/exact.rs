//! Numbers as written in decimal text: whether a double is the number written, to the
//! places written, and rounding to a field's places as written (half away from zero).

use super::cast::whole;
use serde_json::{Number, Value};

/// Whether the double `f` is the number `written` to the places it was written with: `f`
/// printed with as many decimals as `written` has gives `written` (sign and exponent aside).
pub(super) fn to_the_places(written: &str, f: f64) -> bool {
    let (mantissa, exponent) = match written.split_once(['e', 'E']) {
        Some((m, e)) => match e.parse::<i64>() {
            Ok(e) => (m, e),
            Err(_) => return false,
        },
        None => (written, 0),
    };
    let body = mantissa.trim_start_matches(['-', '+']);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exponent;
    // Past a double's range of places nothing written is kept anyway.
    if !(-400..=400).contains(&point) || digits.len() > 800 {
        return false;
    }
    let (whole, places) = match usize::try_from(point) {
        Ok(at) if at >= digits.len() => (
            format!("{digits}{}", "0".repeat(at - digits.len())),
            String::new(),
        ),
        Ok(at) => (digits[..at].to_string(), digits[at..].to_string()),
        Err(_) => (
            "0".to_string(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        ),
    };
    let whole = match whole.trim_start_matches('0') {
        "" => "0",
        w => w,
    };
    let plain = match places.is_empty() {
        true => whole.to_string(),
        false => format!("{whole}.{places}"),
    };
    format!("{:.*}", places.len(), f.abs()) == plain
}

/// A number rounded to the field's `decimalPlaces` (Flatfile's: the places data is rounded
/// to), half away from zero as written in decimal (12.345 to 12.35, where the double's
/// own digits would give 12.34); the input stays as `raw` when this changed it.
pub(super) fn rounded(n: Value, places: Option<u32>) -> Value {
    let (Some(places), Value::Number(number)) = (places, &n) else {
        return n;
    };
    if !number.is_f64() {
        return n;
    }
    let Some(text) = round_decimal(&positional(&number.to_string()), places as usize) else {
        return n;
    };
    match text.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(r) => Value::Number(whole(&r).unwrap_or(r)),
        None => n,
    }
}

/// A number's text with a negative exponent (`4.9e-6`, as small numbers print) written out
/// (`0.0000049`), so that it rounds like any other; other text as it is.
fn positional(text: &str) -> std::borrow::Cow<'_, str> {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return text.into();
    };
    let Some(shift) = exponent.parse::<i64>().ok().filter(|e| (-400..0).contains(e)) else {
        return text.into();
    };
    let (sign, body) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + shift;
    match usize::try_from(point) {
        Ok(at) if at > 0 => format!("{sign}{}.{}", &digits[..at], &digits[at..]).into(),
        _ => format!("{sign}0.{}{digits}", "0".repeat(point.unsigned_abs() as usize)).into(),
    }
}

/// `text` (digits, one `.`, a leading `-`) rounded half away from zero to `places`
/// decimals; `None` when it has no more than that.
fn round_decimal(text: &str, places: usize) -> Option<String> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = body.split_once('.')?;
    if frac.len() <= places || !frac.bytes().chain(int.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits: Vec<u8> = int.bytes().chain(frac[..places].bytes()).collect();
    if frac.as_bytes()[places] >= b'5' {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let digits = String::from_utf8(digits).ok()?;
    let (whole_part, decimals) = digits.split_at(digits.len() - places);
    let whole_part = if whole_part.is_empty() { "0" } else { whole_part };
    Some(match places {
        0 => format!("{sign}{whole_part}"),
        _ => format!("{sign}{whole_part}.{decimals}"),
    })
}

/// The significant digits of a number's spelling (its part before any exponent): `0012.30`
/// and `1.23e5` give `123`.
pub(super) fn significant(spelled: &str) -> String {
    let mantissa = spelled.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').to_string()
}
