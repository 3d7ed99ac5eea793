//! Limits a zip-based spreadsheet is held to before anything builds from it what a small
//! file can make big: its count of parts (the zip's directory is held whole, about 0.8 KB
//! a part), and the work its number formats cost the reader (calamine reads a style's
//! format code once per style that uses it).

use super::ExtractError;
use quick_xml::events::Event;
use std::io::{BufReader, Read, Seek, SeekFrom};

/// Most parts a spreadsheet's zip may hold: a book of a few hundred sheets with images
/// holds a few thousand (probe 67a D5: a million empty parts took 814 MB to list).
pub const MOST_PARTS: u64 = 20_000;

/// Most characters of number format codes a book's cell styles may use, each style
/// counting its format's code: Excel writes at most 64,000 styles of 255 characters (probe
/// 67a D1: 50,000 styles of one 60,000-character code, a 25 KB file, took gigabytes).
pub const MOST_FORMAT_WORK: u64 = 40_000_000;

/// Most bytes the zip reader may read while it lists a zip's parts (its end record, its
/// directory, and earlier end records it tries when one does not hold): 20,000 parts with
/// names of 150 characters. The directory's own counts are not trusted: the reader takes
/// what it finds (probe 67e D1: a file that said 5 parts listed a million).
pub const MOST_DIRECTORY_BYTES: u64 = 4 * 1024 * 1024;

/// A file read through a budget that is spent only while the zip's directory is listed.
pub struct Listed {
    inner: BufReader<std::fs::File>,
    /// Bytes still allowed; `None` once the listing is done.
    left: std::rc::Rc<std::cell::Cell<Option<u64>>>,
}

impl Read for Listed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(left) = self.left.get() {
            match left.checked_sub(n as u64) {
                Some(rest) => self.left.set(Some(rest)),
                None => return Err(std::io::Error::other(TooManyParts)),
            }
        }
        Ok(n)
    }
}

impl Seek for Listed {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

#[derive(Debug)]
struct TooManyParts;

impl std::fmt::Display for TooManyParts {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the zip's directory is larger than any spreadsheet's")
    }
}

impl std::error::Error for TooManyParts {}

/// The zip at `path`, its parts listed within [`MOST_DIRECTORY_BYTES`] and at most
/// [`MOST_PARTS`] of them; `corrupt` words another failure to read it.
pub fn open_archive(
    path: &std::path::Path,
    corrupt: impl Fn(zip::result::ZipError) -> ExtractError,
) -> Result<zip::ZipArchive<Listed>, ExtractError> {
    let file = std::fs::File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
    let left = std::rc::Rc::new(std::cell::Cell::new(Some(MOST_DIRECTORY_BYTES)));
    let listed = Listed {
        inner: BufReader::new(file),
        left: left.clone(),
    };
    let too_many = || {
        ExtractError::Malformed(format!(
            "it lists more parts than a spreadsheet does (Wharf reads one of at most {MOST_PARTS})"
        ))
    };
    let archive = zip::ZipArchive::new(listed).map_err(|e| match &e {
        zip::result::ZipError::Io(io) if io.get_ref().is_some_and(|i| i.is::<TooManyParts>()) => too_many(),
        _ => corrupt(e),
    })?;
    left.set(None);
    if archive.len() as u64 > MOST_PARTS {
        return Err(too_many());
    }
    Ok(archive)
}

/// Refuses an XLSX whose cell styles (`xl/styles.xml`, read from `part`) use more than
/// [`MOST_FORMAT_WORK`] characters of number format codes. `to_error` turns a read error
/// into the file's problem (an exhausted unpacking budget is a bomb).
pub fn check_styles<R: Read>(
    part: R,
    to_error: impl Fn(quick_xml::Error) -> ExtractError,
) -> Result<(), ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(part));
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    // Every style counted with the longest format of the book, each format by its whole
    // tag: how calamine pairs styles with formats (ids as written, an id left out, a
    // malformed attribute skipped) cannot hide a long code behind a short one (probes 67e
    // D2, 67h D1).
    let (mut styles, mut longest) = (0u64, 0u64);
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(&to_error)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"numFmt" => longest = longest.max(e.len() as u64),
                b"xf" => styles += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let work = styles.saturating_mul(longest);
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
        assert!(refused.contains("characters of number formats"), "{refused}");
        // Styles listed before their format count alike.
        let reordered = r#"<styleSheet><cellXfs>XFS</cellXfs><numFmts><numFmt numFmtId="7" formatCode="CODE"/></numFmts></styleSheet>"#
            .replace("XFS", &r#"<xf numFmtId="7"/>"#.repeat(1_000))
            .replace("CODE", &"#".repeat(60_000));
        assert!(check(&reordered).is_err());
    }

    #[test]
    fn a_style_cannot_hide_the_format_it_uses() {
        // No id (calamine files it under the empty one), and a malformed attribute before
        // an xf's id (calamine skips it): counted all the same (probe 67h D1).
        let code = "0".repeat(60_000);
        for xf in [r#"<xf numFmtId=""/>"#, r#"<xf foo numFmtId="164"/>"#] {
            let xml = format!(
                r#"<styleSheet><numFmts><numFmt formatCode="{code}"/></numFmts><cellXfs>{}</cellXfs></styleSheet>"#,
                xf.repeat(1_000)
            );
            assert!(check(&xml).is_err(), "{xf}");
        }
    }

    #[test]
    fn styles_ids_are_compared_as_written() {
        let code = "0".repeat(60_000);
        let xml = format!(
            r#"<styleSheet><numFmts><numFmt numFmtId="0164" formatCode="{code}"/><numFmt numFmtId="164" formatCode="0"/><numFmt numFmtId="0164" formatCode=""/></numFmts><cellXfs>{}</cellXfs></styleSheet>"#,
            r#"<xf numFmtId="0164"/>"#.repeat(1_000)
        );
        assert!(check(&xml).is_err());
    }
}
