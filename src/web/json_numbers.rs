//! Numbers in a JSON body that a double cannot hold as written. serde_json reads a number
//! beyond 64-bit integers, or with more digits than a double keeps, as the nearest double,
//! so `123456789012345678901234567890` would be stored as `1.2345678901234568e29`, where
//! the same digits as text are kept or refused (probe 56b 2). Such a body is refused
//! instead, saying which number to send as text. JavaScript and Python clients never write
//! one (they print a double's shortest digits); a decimal library or a big integer may.

/// The first number outside strings that would not be read back as written: its byte
/// offset and text.
pub fn lossy_number(body: &[u8]) -> Option<(usize, &str)> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => i = string_end(body, i + 1)?,
            b'-' | b'0'..=b'9' => {
                let end = i + body[i..]
                    .iter()
                    .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(body.len() - i);
                let token = std::str::from_utf8(&body[i..end]).ok()?;
                if !held(token) {
                    return Some((i, token));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    None
}

/// Past the string whose text starts at `from` (after its opening quote).
fn string_end(body: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', &body[from..])?;
        match body[at] {
            b'\\' => from = at + 2,
            _ => return Some(at + 1),
        }
        if from >= body.len() {
            return None;
        }
    }
}

/// Whether the number `token` is read back as written: an integer within 64 bits, or a
/// number whose every significant digit a double keeps.
fn held(token: &str) -> bool {
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    let exponent = token.contains(['e', 'E']);
    let plain = !exponent && !token.contains('.');
    // Fifteen significant digits always survive a double (an exponent may still take it
    // past a double's range); an integer up to 18 digits fits 64 bits, which serde reads
    // exactly. The rest (rare) are read and compared.
    if (!exponent && digits <= 15) || (plain && digits <= 18) {
        return true;
    }
    if plain && (token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok()) {
        return true;
    }
    match token.parse::<f64>() {
        Ok(f) if f.is_finite() => decimal(token) == decimal(&format!("{f:e}")),
        // Not a number serde reads (it refuses the body itself), or beyond a double.
        Ok(_) => false,
        Err(_) => true,
    }
}

/// A number as its significant digits and the power of ten of the last (`1.50e3` ->
/// ("15", 2)); zero as ("", 0).
fn decimal(text: &str) -> (String, i64) {
    let text = text.trim_start_matches('-');
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{whole}{fraction}");
    let significant = all.trim_start_matches('0');
    let kept = significant.trim_end_matches('0');
    if kept.is_empty() {
        return (String::new(), 0);
    }
    let dropped = (significant.len() - kept.len()) as i64;
    (kept.to_string(), exp - fraction.len() as i64 + dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_a_double_holds_pass_and_others_are_named() {
        for fine in [
            br#"[{"a": 1, "b": -2.5, "c": 0.1, "d": 1e20, "e": 9223372036854775807}]"#.as_slice(),
            br#"{"f": 18446744073709551615, "g": 1.7976931348623157e308, "h": 0.000}"#,
            br#"{"i": 123456789.123456, "j": "123456789012345678901234567890"}"#,
            br#"{"k": "a \" 99999999999999999999999 \\", "l": 5e-324}"#,
        ] {
            assert_eq!(lossy_number(fine), None, "{}", String::from_utf8_lossy(fine));
        }
        let body = br#"[{"n": "x", "big": 123456789012345678901234567890}]"#;
        assert_eq!(lossy_number(body), Some((19, "123456789012345678901234567890")));
        for lossy in [
            "0.12345678901234567891",
            "9007199254740993.0",
            "1e400",
            "-18446744073709551616",
        ] {
            let body = format!("{{\"v\": {lossy}}}");
            assert_eq!(lossy_number(body.as_bytes()), Some((6, lossy)), "{lossy}");
        }
    }
}
