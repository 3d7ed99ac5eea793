//! Limits a zip-based spreadsheet is held to before anything builds from it what a small
//! file can make big: its count of parts (the zip's directory is held whole, about 0.8 KB
//! a part), and the work its number formats cost the reader (calamine reads a style's
//! format code once per style that uses it).

use super::ExtractError;
use quick_xml::events::Event;
use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};

/// Most parts a spreadsheet's zip may hold: a book of a few hundred sheets with images
/// holds a few thousand (probe 67a D5: a million empty parts took 814 MB to list).
pub const MOST_PARTS: u64 = 20_000;

/// Most characters of number format codes a book's cell styles may use, each style
/// counting its format's code: Excel writes at most 64,000 styles of 255 characters (probe
/// 67a D1: 50,000 styles of one 60,000-character code, a 25 KB file, took gigabytes).
pub const MOST_FORMAT_WORK: u64 = 20_000_000;

/// How many parts the zip's directory says it holds (its end record, or the zip64 one),
/// read without listing them; `None` when no end record is found (the zip reader then
/// says what is wrong).
pub fn declared_parts(file: &mut std::fs::File) -> Option<u64> {
    let size = file.metadata().ok()?.len();
    // The end record (22 bytes) follows the zip's comment, of at most 65,535 bytes.
    let tail_len = size.min(22 + 65_535);
    file.seek(SeekFrom::Start(size - tail_len)).ok()?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail).ok()?;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")?;
    let parts = u64::from(u16::from_le_bytes([tail[at + 10], tail[at + 11]]));
    if parts != 0xFFFF {
        return Some(parts);
    }
    // Zip64: a locator just before the end record points at the zip64 end record.
    let locator = tail.get(at.checked_sub(20)?..at)?;
    if locator[..4] != *b"PK\x06\x07" {
        return Some(parts);
    }
    let record_at = u64::from_le_bytes(locator[8..16].try_into().ok()?);
    file.seek(SeekFrom::Start(record_at)).ok()?;
    let mut record = [0u8; 40];
    file.read_exact(&mut record).ok()?;
    if record[..4] != *b"PK\x06\x06" {
        return Some(parts);
    }
    Some(u64::from_le_bytes(record[32..40].try_into().ok()?))
}

/// Refuses a zip whose directory lists more than [`MOST_PARTS`] parts.
pub fn check_parts(file: &mut std::fs::File) -> Result<(), ExtractError> {
    match declared_parts(file) {
        Some(n) if n > MOST_PARTS => Err(ExtractError::Malformed(format!(
            "it holds {n} parts, far more than a spreadsheet does (Wharf reads one of at most {MOST_PARTS})"
        ))),
        _ => Ok(()),
    }
}

/// Refuses an XLSX whose cell styles (`xl/styles.xml`, read from `part`) use more than
/// [`MOST_FORMAT_WORK`] characters of number format codes. `to_error` turns a read error
/// into the file's problem (an exhausted unpacking budget is a bomb).
pub fn check_styles<R: Read>(
    part: R,
    to_error: impl Fn(quick_xml::Error) -> ExtractError,
) -> Result<(), ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    // Each custom format's code length, and how many styles name each format.
    let (mut lengths, mut uses) = (HashMap::<u32, u64>::new(), HashMap::<u32, u64>::new());
    let number = |e: &quick_xml::events::BytesStart, name: &[u8]| -> Option<u32> {
        let a = e.try_get_attribute(name).ok()??;
        std::str::from_utf8(&a.value).ok()?.trim().parse().ok()
    };
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(&to_error)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"numFmt" => {
                    let code = e.try_get_attribute(b"formatCode").ok().flatten();
                    if let (Some(id), Some(code)) = (number(&e, b"numFmtId"), code) {
                        lengths.insert(id, code.value.len() as u64);
                    }
                }
                b"xf" => {
                    if let Some(id) = number(&e, b"numFmtId") {
                        *uses.entry(id).or_insert(0) += 1;
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let work: u64 = uses
        .iter()
        .map(|(id, n)| n.saturating_mul(lengths.get(id).copied().unwrap_or(0)))
        .fold(0, u64::saturating_add);
    match work > MOST_FORMAT_WORK {
        true => Err(ExtractError::Malformed(format!(
            "its cell styles use {work} characters of number formats, far more than Excel writes (at most {MOST_FORMAT_WORK})"
        ))),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styles(code_len: usize, xfs: usize) -> String {
        let code = "0".repeat(code_len);
        let xf = r#"<xf numFmtId="164" fontId="0"/>"#.repeat(xfs);
        format!(
            r#"<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="{code}"/></numFmts><cellXfs count="{xfs}">{xf}</cellXfs></styleSheet>"#
        )
    }

    fn check(xml: &str) -> Result<(), ExtractError> {
        check_styles(xml.as_bytes(), |e| ExtractError::Corrupt(e.to_string()))
    }

    #[test]
    fn styles_are_held_to_what_excel_writes() {
        assert!(check(&styles(255, 64_000)).is_ok(), "Excel's most");
        assert!(check(&styles(5, 100)).is_ok());
        let refused = check(&styles(60_000, 1_000)).unwrap_err().to_string();
        assert!(
            refused.contains("60000000 characters of number formats"),
            "{refused}"
        );
        // Styles listed before their format count alike.
        let reordered = r#"<styleSheet><cellXfs>XFS</cellXfs><numFmts><numFmt numFmtId="7" formatCode="CODE"/></numFmts></styleSheet>"#
            .replace("XFS", &r#"<xf numFmtId="7"/>"#.repeat(400))
            .replace("CODE", &"#".repeat(60_000));
        assert!(check(&reordered).is_err());
    }

    #[test]
    fn a_zips_declared_part_count_is_read_from_its_end_record() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parts.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..30 {
            zip.start_file(format!("p{i}"), zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(b"x").unwrap();
        }
        zip.set_comment("a comment");
        zip.finish().unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        assert_eq!(declared_parts(&mut file), Some(30));
        let mut not_zip = tempfile::tempfile().unwrap();
        not_zip.write_all(b"not a zip at all").unwrap();
        assert_eq!(declared_parts(&mut not_zip), None);
    }
}
