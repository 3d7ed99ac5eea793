//! Whole numbers an XLSX shows zero-padded (the zip code 1234 under the format `00000`
//! shows as `01234`), read as shown. calamine gives a cell's number without its format, so
//! a book with such a format has its sheet's own part read beside calamine's reader, in the
//! same order, for each numeric cell's style (probe 60b D2: US zip codes lost their 0).

use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// A sheet's part and the styles (indexes into `cellXfs`) that pad to a width.
#[derive(Clone, Debug)]
pub struct Padded {
    path: PathBuf,
    part: String,
    widths: HashMap<u32, usize>,
}

impl Padded {
    /// For a sheet of the book at `path`: `None` when no style pads (most books), when the
    /// sheet's part cannot be found, or the book cannot be read (calamine then says why).
    pub fn of(path: &Path, sheet: &str) -> Option<Padded> {
        let file = std::fs::File::open(path).ok()?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).ok()?;
        let widths = padding_styles(&mut archive)?;
        let target = sheet_part(&mut archive, sheet)?;
        let part = name_in(&archive, &target)?;
        Some(Padded {
            path: path.to_path_buf(),
            part,
            widths,
        })
    }

    /// Reads the sheet's part and hands `read` a cursor over its cells.
    pub fn with_cursor<T>(&self, read: impl FnOnce(Option<&mut Cursor<'_>>) -> T) -> T {
        let opened = std::fs::File::open(&self.path)
            .ok()
            .and_then(|f| zip::ZipArchive::new(BufReader::new(f)).ok());
        let Some(mut archive) = opened else {
            return read(None);
        };
        let Ok(entry) = archive.by_name(&self.part) else {
            return read(None);
        };
        let mut cursor = Cursor {
            xml: quick_xml::Reader::from_reader(Box::new(BufReader::new(entry)) as Box<dyn BufRead + '_>),
            buf: Vec::new(),
            widths: &self.widths,
            row: 0,
            col: None,
            started: false,
        };
        read(Some(&mut cursor))
    }
}

/// The sheet's cells in the order its part holds them, as calamine reads them.
pub struct Cursor<'a> {
    xml: quick_xml::Reader<Box<dyn BufRead + 'a>>,
    buf: Vec<u8>,
    widths: &'a HashMap<u32, usize>,
    row: u32,
    col: Option<u32>,
    started: bool,
}

impl Cursor<'_> {
    /// The width the cell at (row, column), 0-based, is padded to, if its style pads. Cells
    /// are asked for in the part's order; the cursor moves on to the cell asked for (past
    /// cells with no value, which calamine skips), and finds nothing once past the end.
    pub fn width_at(&mut self, row: u32, col: u32) -> Option<usize> {
        loop {
            let (r, c, style) = self.next_cell()?;
            if (r, c) == (row, col) {
                return style.and_then(|s| self.widths.get(&s).copied());
            }
        }
    }

    fn next_cell(&mut self) -> Option<(u32, u32, Option<u32>)> {
        loop {
            self.buf.clear();
            let event = self.xml.read_event_into(&mut self.buf).ok()?;
            let (Event::Start(e) | Event::Empty(e)) = event else {
                if matches!(event, Event::Eof) {
                    return None;
                }
                continue;
            };
            match e.local_name().as_ref() {
                b"row" => {
                    let next = if self.started { self.row + 1 } else { 0 };
                    self.row = attribute(&e, b"r")
                        .and_then(|r| r.parse::<u32>().ok())
                        .map_or(next, |r| r.saturating_sub(1));
                    self.started = true;
                    self.col = None;
                }
                b"c" => {
                    let (row, col) = match attribute(&e, b"r").and_then(|r| position(&r)) {
                        Some(at) => at,
                        None => (self.row, self.col.map_or(0, |c| c + 1)),
                    };
                    self.row = row;
                    self.col = Some(col);
                    let style = attribute(&e, b"s").and_then(|s| s.parse().ok());
                    return Some((row, col, style));
                }
                _ => {}
            }
        }
    }
}

/// A whole, non-negative number padded with zeros to `width` digits, as the format shows it.
pub fn padded(value: &calamine::Data, width: usize) -> Option<String> {
    let n = match value {
        calamine::Data::Int(i) => u64::try_from(*i).ok()?,
        calamine::Data::Float(f) if f.fract() == 0.0 && (0.0..1e15).contains(f) => *f as u64,
        _ => return None,
    };
    Some(format!("{n:0width$}"))
}

fn attribute(e: &BytesStart, name: &[u8]) -> Option<String> {
    value(&e.try_get_attribute(name).ok()??)
}

fn value(a: &quick_xml::events::attributes::Attribute) -> Option<String> {
    let raw = std::str::from_utf8(&a.value).ok()?;
    quick_xml::escape::unescape(raw).ok().map(|v| v.into_owned())
}

/// `B7` as (6, 1).
fn position(reference: &str) -> Option<(u32, u32)> {
    let split = reference.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = reference.split_at(split);
    let mut col = 0u32;
    for b in letters.bytes() {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        col = col
            .checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)?;
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col.checked_sub(1)?))
}

/// The zero-padding number formats (`00000`) by the `cellXfs` indexes that use them.
fn padding_styles<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Option<HashMap<u32, usize>> {
    let styles = read_part(archive, "xl/styles.xml")?;
    let mut xml = quick_xml::Reader::from_reader(styles.as_slice());
    let (mut buf, mut formats, mut widths) = (Vec::new(), HashMap::new(), HashMap::new());
    let (mut in_xfs, mut xf) = (false, 0u32);
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"numFmt" => {
                    let id = attribute(&e, b"numFmtId").and_then(|i| i.parse::<u32>().ok());
                    let code = attribute(&e, b"formatCode").unwrap_or_default();
                    // The format of positive numbers: its first section.
                    let first = code.split(';').next().unwrap_or_default();
                    if let Some(id) = id.filter(|_| first.len() >= 2 && first.bytes().all(|b| b == b'0')) {
                        formats.insert(id, first.len());
                    }
                }
                b"cellXfs" => in_xfs = true,
                b"xf" if in_xfs => {
                    let format = attribute(&e, b"numFmtId").and_then(|i| i.parse::<u32>().ok());
                    if let Some(width) = format.and_then(|f| formats.get(&f)) {
                        widths.insert(xf, *width);
                    }
                    xf += 1;
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"cellXfs" => in_xfs = false,
            Event::Eof => break,
            _ => {}
        }
    }
    (!widths.is_empty()).then_some(widths)
}

/// The part holding the sheet named `sheet`, through the book's relationships.
fn sheet_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, sheet: &str) -> Option<String> {
    let book = read_part(archive, "xl/workbook.xml")?;
    let mut xml = quick_xml::Reader::from_reader(book.as_slice());
    let mut buf = Vec::new();
    let id = loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == b"sheet"
                    && attribute(&e, b"name").as_deref() == Some(sheet) =>
            {
                let id = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == b"id")?;
                break value(&id)?;
            }
            Event::Eof => return None,
            _ => {}
        }
    };
    let rels = read_part(archive, "xl/_rels/workbook.xml.rels")?;
    let mut xml = quick_xml::Reader::from_reader(rels.as_slice());
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == b"Relationship"
                    && attribute(&e, b"Id").as_deref() == Some(id.as_str()) =>
            {
                let target = attribute(&e, b"Target")?;
                return Some(match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_string(),
                    None => format!("xl/{target}"),
                });
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// A part's name in the archive, found as calamine finds it: regardless of case, `\`
/// read as `/`.
fn name_in<R: Read + Seek>(archive: &zip::ZipArchive<R>, name: &str) -> Option<String> {
    archive
        .file_names()
        .find(|n| n.replace('\\', "/").eq_ignore_ascii_case(name))
        .map(str::to_string)
}

/// A small part of the book (styles, the workbook and its relationships), whole; at most
/// 16 MiB of it.
fn read_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, name: &str) -> Option<Vec<u8>> {
    let found = name_in(archive, name)?;
    let mut bytes = Vec::new();
    archive
        .by_name(&found)
        .ok()?
        .take(16 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::position;

    #[test]
    fn references_read_as_positions() {
        assert_eq!(position("A1"), Some((0, 0)));
        assert_eq!(position("B7"), Some((6, 1)));
        assert_eq!(position("AA10"), Some((9, 26)));
        assert_eq!(position("A0"), None);
        assert_eq!(position("7"), None);
    }
}
