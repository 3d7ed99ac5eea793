//! Whole numbers an XLSX shows zero-padded (the zip code 1234 under the format `00000`
//! shows as `01234`), read as shown. calamine gives a cell's number without its format, so
//! a book with such a format has its sheet's own part read beside calamine's reader, in the
//! same order, for each numeric cell's style (probe 60b D2: US zip codes lost their 0).

use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::pad_format::{padded, PadFormat};

/// The padding number formats by the styles (indexes into `cellXfs`) that use them, each
/// held once however many styles use it (probe 67a D1: 50,000 styles of a 60,000-character
/// code copied 3 GB out of a 25 KB file).
pub type Formats = HashMap<u32, Arc<PadFormat>>;

/// A sheet's part and the styles (indexes into `cellXfs`) whose number formats pad whole
/// numbers with zeros, with those formats' codes.
#[derive(Clone, Debug)]
pub struct Padded {
    path: PathBuf,
    part: String,
    formats_by_style: Arc<Formats>,
}

impl Padded {
    /// The padding formats of the book at `path`, read once for all its sheets: `None`
    /// when no style pads (most books), or the book cannot be read (calamine then says why).
    pub fn styles(path: &Path) -> Option<Arc<Formats>> {
        let file = std::fs::File::open(path).ok()?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).ok()?;
        padding_styles(&mut archive).map(Arc::new)
    }

    /// For a sheet of the book at `path` whose padding `styles` are these: `None` when the
    /// sheet's part cannot be found.
    pub fn of(path: &Path, styles: &Arc<Formats>, sheet: &str) -> Option<Padded> {
        let file = std::fs::File::open(path).ok()?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).ok()?;
        let formats_by_style = styles.clone();
        let target = sheet_part(&mut archive, sheet)?;
        let part = name_in(&archive, &target)?;
        Some(Padded {
            path: path.to_path_buf(),
            part,
            formats_by_style,
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
            ahead: std::collections::VecDeque::new(),
            xml: quick_xml::Reader::from_reader(Box::new(BufReader::new(entry)) as Box<dyn BufRead + '_>),
            buf: Vec::new(),
            formats_by_style: &self.formats_by_style,
            row: 0,
            col: None,
            started: false,
        };
        read(Some(&mut cursor))
    }
}

/// The sheet's cells in the order its part holds them, as calamine reads them.
/// Cells of the part read ahead of the one asked for, at most: more than 16 rows of the
/// widest sheet read (text cells between two numbers are passed over too), in about 200 KB.
const LOOK_AHEAD: usize = 16_384;

pub struct Cursor<'a> {
    xml: quick_xml::Reader<Box<dyn BufRead + 'a>>,
    /// Cells read past while looking for one: (row, column, style).
    ahead: std::collections::VecDeque<(u32, u32, Option<u32>)>,
    buf: Vec<u8>,
    formats_by_style: &'a Formats,
    row: u32,
    col: Option<u32>,
    started: bool,
}

impl<'a> Cursor<'a> {
    /// The padding format code of the cell at (row, column), 0-based, if its style pads.
    /// Cells are asked for in the part's order; the cursor moves on to the cell asked for
    /// (past cells with no value, which calamine skips), and finds nothing once past the end.
    ///
    /// A cell whose place the cursor reads otherwise than calamine (a reference past any
    /// sheet's end: probe 60c D1) is looked for among the next [`LOOK_AHEAD`] only, so the
    /// cells after it are still found.
    pub fn format_at(&mut self, row: u32, col: u32) -> Option<&'a PadFormat> {
        let formats_by_style = self.formats_by_style;
        let style_of = |style: Option<u32>| style.and_then(|s| formats_by_style.get(&s)).map(|f| &**f);
        if let Some(at) = self.ahead.iter().position(|(r, c, _)| (*r, *c) == (row, col)) {
            let (_, _, style) = self.ahead.drain(..=at).next_back()?;
            return style_of(style);
        }
        while self.ahead.len() < LOOK_AHEAD {
            let (r, c, style) = self.next_cell()?;
            if (r, c) == (row, col) {
                self.ahead.clear();
                return style_of(style);
            }
            self.ahead.push_back((r, c, style));
        }
        // Not near: this cell is left unpadded, and the oldest looked at is let go.
        self.ahead.pop_front();
        None
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

/// The zero-padding number formats (`00000`, `00000-0000`) by the `cellXfs` indexes that use
/// them.
fn padding_styles<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Option<Formats> {
    let styles = read_part(archive, "xl/styles.xml")?;
    let mut xml = quick_xml::Reader::from_reader(styles.as_slice());
    let (mut buf, mut formats, mut formats_by_style) = (Vec::new(), HashMap::new(), HashMap::new());
    let (mut in_xfs, mut xf) = (false, 0u32);
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"numFmt" => {
                    let id = attribute(&e, b"numFmtId").and_then(|i| i.parse::<u32>().ok());
                    let code = attribute(&e, b"formatCode").unwrap_or_default();
                    // A format with a section that pads (zip codes, zip + 4, social security).
                    if let Some((id, format)) = id.zip(PadFormat::parse(&code)) {
                        formats.insert(id, Arc::new(format));
                    }
                }
                b"cellXfs" => in_xfs = true,
                b"xf" if in_xfs => {
                    let format = attribute(&e, b"numFmtId").and_then(|i| i.parse::<u32>().ok());
                    if let Some(code) = format.and_then(|f| formats.get(&f)) {
                        formats_by_style.insert(xf, code.clone());
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
    (!formats_by_style.is_empty()).then_some(formats_by_style)
}

/// The part holding the sheet named `sheet`, through the book's relationships.
fn sheet_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, sheet: &str) -> Option<String> {
    sheet_targets(archive)?
        .into_iter()
        .find(|(name, _)| name == sheet)
        .map(|(_, target)| target)
}

/// Each sheet of the book at `path` by name, with the part calamine reads for it: two
/// sheets of one part are read twice (probe 67a D4: a 275 KB file of 100 sheets naming
/// one part made 2,000,000 records). Found exactly as calamine finds them (probe 67e D7:
/// an `id` beside `r:id`, or a target written `xl/...`, read otherwise). Empty when the
/// book cannot be read.
pub fn sheet_parts(path: &Path) -> HashMap<String, String> {
    let opened = std::fs::File::open(path)
        .ok()
        .and_then(|f| zip::ZipArchive::new(BufReader::new(f)).ok());
    let Some(mut archive) = opened else {
        return HashMap::new();
    };
    let targets = sheet_targets(&mut archive).unwrap_or_default();
    targets
        .into_iter()
        .map(|(name, target)| {
            let part = name_in(&archive, &target).unwrap_or(target);
            (name, part)
        })
        .collect()
}

/// Every sheet's name and the path of its part, through the book's relationships, as
/// calamine reads them: attributes by their exact names (`r:id` or `relationships:id`, the
/// last one winning; `Id`, `Target`), ids compared as written, targets taken as written
/// under `xl/` unless they start with it (or `/xl/`).
fn sheet_targets<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Option<Vec<(String, String)>> {
    use quick_xml::name::QName;
    // End tags are not checked, and each part is read to its closing tag, as calamine
    // reads them (probe 67h D2: a mismatched end tag stopped ours, and parts after the
    // closing tag counted for ours only).
    fn reader(bytes: &[u8]) -> quick_xml::Reader<&[u8]> {
        let mut xml = quick_xml::Reader::from_reader(bytes);
        xml.config_mut().check_end_names = false;
        xml
    }
    let rels = read_part(archive, "xl/_rels/workbook.xml.rels")?;
    let mut xml = reader(&rels);
    let mut buf = Vec::new();
    let mut targets: HashMap<Vec<u8>, String> = HashMap::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"Relationship" => {
                let (mut id, mut target) = (Vec::new(), String::new());
                for a in e.attributes().flatten() {
                    match a.key {
                        QName(b"Id") => id.extend_from_slice(&a.value),
                        QName(b"Target") => target = String::from_utf8_lossy(&a.value).into_owned(),
                        _ => {}
                    }
                }
                targets.insert(id, target);
            }
            Event::End(e) if e.local_name().as_ref() == b"Relationships" => break,
            Event::Eof => break,
            _ => {}
        }
    }
    let book = read_part(archive, "xl/workbook.xml")?;
    let mut xml = reader(&book);
    let mut sheets = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"sheet" => {
                let (mut name, mut path) = (None, None);
                for a in e.attributes().flatten() {
                    match a.key {
                        QName(b"name") => name = value(&a),
                        QName(b"r:id") | QName(b"relationships:id") => {
                            path = targets.get(a.value.as_ref()).map(|r| match r {
                                r if r.starts_with("/xl/") => r[1..].to_string(),
                                r if r.starts_with("xl/") => r.to_string(),
                                r => format!("xl/{r}"),
                            });
                        }
                        _ => {}
                    }
                }
                if let (Some(name), Some(path)) = (name, path) {
                    sheets.push((name, path));
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"workbook" => break,
            Event::Eof => break,
            _ => {}
        }
    }
    Some(sheets)
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
    use super::{position, PadFormat};

    /// A cell the cursor cannot find near (calamine placed it elsewhere: a reference past
    /// any sheet's end, probe 60c D1) is left unpadded, and the cells after it are found.
    #[test]
    fn the_cursor_finds_the_cells_after_one_it_cannot_place() {
        let xml = br#"<worksheet><sheetData><row r="2"><c r="A2" s="1"><v>1</v></c><c r="B99999999999" s="1"><v>2</v></c></row><row r="3"><c r="A3" s="1"><v>3</v></c><c r="B3" s="0"><v>4</v></c></row></sheetData></worksheet>"#;
        let zip = std::sync::Arc::new(PadFormat::parse("00000").unwrap());
        let formats_by_style = std::collections::HashMap::from([(1u32, zip.clone())]);
        let mut cursor = super::Cursor {
            ahead: std::collections::VecDeque::new(),
            xml: quick_xml::Reader::from_reader(Box::new(&xml[..]) as Box<dyn std::io::BufRead>),
            buf: Vec::new(),
            formats_by_style: &formats_by_style,
            row: 0,
            col: None,
            started: false,
        };
        assert_eq!(cursor.format_at(1, 0), Some(&*zip));
        // Where a wrapped reference put it: nowhere the cursor read.
        assert_eq!(cursor.format_at(7, 3), None);
        assert_eq!(cursor.format_at(2, 0), Some(&*zip));
        assert_eq!(cursor.format_at(2, 1), None, "style 0 pads nothing");
    }

    #[test]
    fn references_read_as_positions() {
        assert_eq!(position("A1"), Some((0, 0)));
        assert_eq!(position("B7"), Some((6, 1)));
        assert_eq!(position("AA10"), Some((9, 26)));
        assert_eq!(position("A0"), None);
        assert_eq!(position("7"), None);
    }
}
