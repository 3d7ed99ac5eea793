//! Which format a file is in, judged by its bytes first and its name only where the bytes
//! leave it open: a CSV named .xlsx is read as CSV, JSON named .csv as JSON, an ODS named
//! .xlsx as ODS; a web page, PDF or Word document is told apart in words.

use super::{encoding, zipped, ExtractError, Format, Notes};
use encoding_rs::Encoding;
use std::path::Path;

pub struct Sniffed {
    pub format: Format,
    /// The text encoding, for text formats.
    pub encoding: Option<&'static Encoding>,
    /// For UTF-8 text with stray bytes of another encoding: that encoding, which reads them.
    pub fallback: Option<&'static Encoding>,
    /// Whether an XLSX's sheets merge cells (see `xlsx::MergedDown`).
    pub merged: bool,
}

const OLE_MAGIC: [u8; 4] = [0xD0, 0xCF, 0x11, 0xE0];

pub fn sniff(
    path: &Path,
    file_name: &str,
    head: &[u8],
    whole: bool,
    notes: &Notes,
) -> Result<Sniffed, ExtractError> {
    let binary = |format, merged| {
        Ok(Sniffed {
            format,
            encoding: None,
            fallback: None,
            merged,
        })
    };
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let zipped = zipped::inspect(path, notes)?;
        return match zipped.kind {
            zipped::ZipKind::Xlsx => binary(Format::Xlsx, zipped.merged),
            zipped::ZipKind::Ods => binary(Format::Ods, false),
        };
    }
    if head.starts_with(&OLE_MAGIC) {
        return binary(Format::Xls, false);
    }
    if head.starts_with(b"%PDF") {
        return Err(ExtractError::NotSpreadsheet("a PDF document".into()));
    }
    let mut enc = encoding::sniff(head, whole);
    let mut fallback = None;
    if enc == encoding_rs::UTF_8 && Encoding::for_bom(head).is_none() {
        match encoding::beyond_utf8(path, head, whole).map_err(|e| ExtractError::Io(e.to_string()))? {
            encoding::BeyondUtf8::Nothing => {}
            encoding::BeyondUtf8::Legacy(found) => enc = found,
            encoding::BeyondUtf8::Mixed { fallback: f, stray } => {
                fallback = Some(f);
                notes.add(format!(
                    "the file is UTF-8 but for {} of {} (text pasted from another program, most likely); those were read as {}",
                    crate::words::counted(stray as u64, "byte", "bytes"),
                    f.name(),
                    f.name()
                ));
            }
        }
    }
    let sample = encoding::decode_sample_with(head, enc, fallback);
    if looks_binary(&sample) {
        // UTF-32 reads as binary to every other reading: say what it is (probe 71c D7).
        if head.starts_with(&[0xFF, 0xFE, 0, 0]) || head.starts_with(&[0, 0, 0xFE, 0xFF]) {
            return Err(ExtractError::Utf32);
        }
        return Err(ExtractError::NotText);
    }
    let text = |format| {
        Ok(Sniffed {
            format,
            encoding: Some(enc),
            fallback,
            merged: false,
        })
    };
    let start = sample.trim_start_matches(['\u{FEFF}', ' ', '\t', '\r', '\n']);
    if start.starts_with('<') {
        let lower: String = start.chars().take(4096).collect::<String>().to_lowercase();
        if ["<!doctype html", "<html", "<table", "<head", "<body"]
            .iter()
            .any(|tag| lower.contains(tag))
        {
            return Err(ExtractError::WebPage);
        }
        // A CSV may start with `<Customer ID>,Name` or `<=50K,...`: XML starts with its
        // declaration, a comment, or a tag followed by another.
        if looks_like_xml(&lower) {
            return Err(ExtractError::NotSpreadsheet("an XML document".into()));
        }
    }
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let lines_ext = matches!(ext.as_str(), "jsonl" | "ndjson");
    let json_ext = lines_ext || ext == "json";
    if looks_like_json(start, json_ext) {
        return text(if lines_ext || (start.starts_with('{') && is_json_lines(start)) {
            Format::JsonLines
        } else {
            Format::Json
        });
    }
    // Named JSON and JSON, but one value (`42`, `"text"`, `true`): no records (probe 71c D6:
    // it was read as a CSV whose header was `42`).
    if json_ext {
        if let Ok(one) = serde_json::from_str::<serde_json::Value>(start.trim_end()) {
            if !one.is_array() && !one.is_object() {
                let shown: String = one.to_string().chars().take(40).collect();
                return Err(ExtractError::JsonShape(format!("it holds one value, {shown}")));
            }
        }
    }
    // Named JSON but starting as no JSON can (`id,email`): delimited text with the wrong
    // name, read as such (probe 66b D2: "damaged or cut off"), as a CSV named .xlsx is.
    // (`[Name],[Email]` starts as JSON may, but its first line has a delimiter outside any
    // string where JSON's opening could not: probe 66g D3.)
    let could_be_json = start.is_empty()
        || looks_like_json(start, true)
        || (start.starts_with(['[', '{']) && !first_line_delimited(start));
    match ext.as_str() {
        _ if json_ext && !could_be_json => {
            notes.add(format!(
                "the file is named .{ext} but holds no JSON; it was read as delimited text (CSV)"
            ));
            text(Format::Delimited)
        }
        "json" => text(Format::Json),
        _ if lines_ext => text(Format::JsonLines),
        _ => text(Format::Delimited),
    }
}

/// Whether the first line reads as delimited text: `]` or `}` right before a `,`, `;` or
/// tab (`[Name],[Email]`), which JSON's first line never has before its first `"`.
fn first_line_delimited(start: &str) -> bool {
    let line = start.lines().next().unwrap_or_default();
    let head = line.split('"').next().unwrap_or_default();
    head.as_bytes()
        .windows(2)
        .any(|w| matches!(w[0], b']' | b'}') && matches!(w[1], b',' | b';' | b'\t'))
}

/// Text shows few control characters; binary shows NULs and many.
fn looks_binary(sample: &str) -> bool {
    let total = sample.chars().count().max(1);
    let control = sample
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        .count();
    let nuls = sample.matches('\0').count();
    let undecodable = sample.matches('\u{FFFD}').count();
    // A stray NUL is a bad value (replaced later); many are binary data. A few are strays
    // however short the file (one NUL in a 30-byte file is over 1% of it).
    let many = |n: usize, per: usize| n > STRAYS && n * per > total;
    many(nuls, 100) || many(control, 20) || many(undecodable, 10)
}

/// Control characters, NULs or undecodable bytes a text file may hold as stray values.
const STRAYS: usize = 4;

/// `[` or `{` followed by what can follow them in JSON. A CSV may start with `[id]` or
/// `[2020] Revenue`: a list of plain values (no table) is taken as JSON only in a file
/// named as JSON, while rows (`[{`, `[[`) are JSON whatever the name.
fn looks_like_json(start: &str, json_ext: bool) -> bool {
    let mut chars = start.chars();
    let first = chars.next();
    let next = chars.find(|c| !c.is_whitespace());
    match (first, next) {
        (Some('['), Some(c)) => {
            matches!(c, '{' | '[' | ']') || (json_ext && matches!(c, '"' | '-' | '0'..='9' | 't' | 'f' | 'n'))
        }
        (Some('{'), Some(c)) => matches!(c, '"' | '}'),
        _ => false,
    }
}

/// Text starting with `<` (lowercased) that reads as XML: a declaration, a comment, or a
/// first tag closed and followed by another.
fn looks_like_xml(lower: &str) -> bool {
    if lower.starts_with("<?xml") || lower.starts_with("<!--") {
        return true;
    }
    lower
        .find('>')
        .is_some_and(|end| lower[end + 1..].trim_start().starts_with('<'))
}

/// An object that ends on its first line, with more after it: JSON Lines.
fn is_json_lines(start: &str) -> bool {
    let mut lines = start.lines().filter(|l| !l.trim().is_empty());
    let first_is_whole = lines
        .next()
        .is_some_and(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok());
    first_is_whole && lines.next().is_some()
}
