//! XLS (BIFF records in an OLE compound file). Calamine trusts the sizes such a file
//! states (sector counts, a sheet's DIMENSIONS record) and allocates by them, so it never
//! sees the uploaded file itself: the workbook stream is taken out with the `cfb` crate
//! (which checks the compound file's structure), its records are walked (each sheet's cells
//! measured, DIMENSIONS blanked) and it is written into a fresh compound file for calamine.

use super::zipped::MAX_RECT_CELLS;

/// Most text calamine may copy out of an XLS's shared strings, whatever the file's size: it
/// holds every sheet's cells at once.
const XLS_TEXT_CAP: u64 = 256 * 1024 * 1024;
use super::ExtractError;
use std::io::{Cursor, Read, Write};
use std::path::Path;

fn corrupt(e: std::io::Error) -> ExtractError {
    ExtractError::Corrupt(e.to_string())
}

/// The XLS as a compound file calamine can read safely.
pub fn cleaned(path: &Path) -> Result<Vec<u8>, ExtractError> {
    let file = std::fs::File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| ExtractError::Io(e.to_string()))?
        .len();
    let mut compound = cfb::CompoundFile::open(std::io::BufReader::new(file)).map_err(corrupt)?;
    // Excel keeps a password-protected XLSX in a compound file too.
    if compound.is_stream("/EncryptedPackage") {
        return Err(ExtractError::Encrypted);
    }
    let Some(name) = ["/Workbook", "/Book"].into_iter().find(|n| compound.is_stream(n)) else {
        return Err(ExtractError::NotSpreadsheet(
            "an Office document that holds no spreadsheet".into(),
        ));
    };
    let mut stream = Vec::new();
    compound
        .open_stream(name)
        .map_err(corrupt)?
        .take(size)
        .read_to_end(&mut stream)
        .map_err(corrupt)?;
    measure(&mut stream, super::zipped::text_limit(size, XLS_TEXT_CAP))?;
    // Version 3 (512-byte sectors), as Excel writes: calamine misreads a version 4 file
    // whose workbook stream is 4,096 bytes or more ("Empty Root directory").
    let mut out =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).map_err(corrupt)?;
    out.create_stream("/Workbook")
        .and_then(|mut s| s.write_all(&stream))
        .map_err(corrupt)?;
    out.flush().map_err(corrupt)?;
    Ok(out.into_inner().into_inner())
}

/// Rows and columns a sheet's cells span (calamine allocates that rectangle).
#[derive(Default)]
struct Span {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
    /// Bytes of shared strings its cells take copies of.
    text: u64,
}

impl Span {
    fn add(&mut self, row: u32, col: u32) {
        let widen = |s: &mut Option<(u32, u32)>, v: u32| {
            *s = Some(s.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
        };
        widen(&mut self.rows, row);
        widen(&mut self.cols, col);
    }

    fn size(&self) -> (u64, u64) {
        let len = |s: Option<(u32, u32)>| s.map_or(0, |(lo, hi)| u64::from(hi - lo) + 1);
        (len(self.rows), len(self.cols))
    }
}

/// One BIFF record: its type, its data, and where the next one starts.
fn record_at(stream: &[u8], at: usize) -> Option<(u16, std::ops::Range<usize>, usize)> {
    let head = stream.get(at..at + 4)?;
    let typ = u16::from_le_bytes([head[0], head[1]]);
    let len = u16::from_le_bytes([head[2], head[3]]) as usize;
    let end = (at + 4 + len).min(stream.len());
    Some((typ, at + 4..end, end))
}

fn u16_at(d: &[u8], i: usize) -> Option<u32> {
    d.get(i..i + 2)
        .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
}

/// The cells a sheet's records span, read as calamine reads the sheet: from its BOF at
/// `from` to the first EOF after it, whatever lies between.
fn sheet_span(stream: &[u8], from: usize, shared: &[u32]) -> Span {
    let mut span = Span::default();
    // Where calamine puts a formula's cached text (STRING): at the sheet's last FORMULA, at
    // A1 before any. Left out, a stray one made a 5 KB file a 65,536 x 65,536 sheet (probe
    // 49d 1).
    let mut last_formula = (0u32, 0u32);
    let mut at = from;
    let mut first = true;
    while let Some((typ, range, next)) = record_at(stream, at) {
        let data = &stream[range];
        match typ {
            0x000A if !first => break,
            // STRING, the text a formula cell shows.
            0x0207 => span.add(last_formula.0, last_formula.1),
            // Number, Label, BoolErr, String-less cells, RK, LabelSst, Formula
            0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                if let (Some(r), Some(c)) = (u16_at(data, 0), u16_at(data, 2)) {
                    span.add(r, c);
                    if typ == 0x0006 {
                        last_formula = (r, c);
                    }
                    // LabelSst: calamine copies the shared string into the cell.
                    if typ == 0x00FD {
                        let index = data
                            .get(6..10)
                            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                        let len = index.and_then(|i| shared.get(i as usize)).copied().unwrap_or(0);
                        span.text += u64::from(len);
                    }
                }
            }
            // MulRk: a row of cells from a first to a last column.
            0x00BD => {
                if let (Some(r), Some(c), Some(last)) = (
                    u16_at(data, 0),
                    u16_at(data, 2),
                    u16_at(data, data.len().saturating_sub(2)),
                ) {
                    span.add(r, c);
                    span.add(r, last);
                }
            }
            _ => {}
        }
        first = false;
        at = next;
    }
    span
}

/// Blanks a sheet's DIMENSIONS (calamine reserves memory by what they claim) and its
/// formulas' parsed expressions (`cce` 0): calamine writes every formula out as text, Wharf
/// reads only the results, and a 7-byte token can make it copy a 255-character sheet name
/// (a 6 MB file took 800 MB: probe 51a F2). Whether anything changed.
fn blank_sheet(stream: &mut [u8], from: usize) -> bool {
    let (mut at, mut first, mut changed) = (from, true, false);
    while let Some((typ, range, next)) = record_at(stream, at) {
        let data = &mut stream[range];
        match typ {
            0x000A if !first => break,
            0x0200 if data.iter().any(|b| *b != 0) => {
                data.fill(0);
                changed = true;
            }
            0x0006 if data.len() >= 22 && data[20..22] != [0, 0] => {
                data[20..22].fill(0);
                changed = true;
            }
            _ => {}
        }
        first = false;
        at = next;
    }
    changed
}

/// Walks the BIFF records: refuses a book whose sheets' cells span more than Wharf reads,
/// each sheet read where its BOUNDSHEET record says and up to its EOF, as calamine reads it
/// (a sheet without its EOF runs on into the next, and two BOUNDSHEETs may name one sheet:
/// probe 50a F2), and blanks DIMENSIONS records (calamine reserves memory by what they
/// claim).
pub(super) fn measure(stream: &mut [u8], text_limit: u64) -> Result<(), ExtractError> {
    // What calamine must not see is blanked in each sheet as calamine reads it (a
    // BOUNDSHEET may point between the records a walk from the start finds). Blanking may
    // change what any walk finds, a sheet's place or a string's length among them (probe
    // 53a 1, 2: both were read before and moved after), so the book is read again until a
    // pass blanks nothing, and measured as that last pass read it: as calamine will.
    let mut settled = None;
    for _ in 0..8 {
        let (sheets, shared) = globals(stream);
        let mut changed = blank_dimensions(stream);
        for &from in &sheets {
            changed |= blank_sheet(stream, from);
        }
        if !changed {
            settled = Some((sheets, shared));
            break;
        }
    }
    let Some((sheets, shared)) = settled else {
        return Err(ExtractError::Corrupt("its sheets' records overlap".into()));
    };
    let (mut total, mut text) = (0u64, 0u64);
    for (n, from) in sheets.into_iter().enumerate() {
        let span = sheet_span(stream, from, &shared);
        let (rows, columns) = span.size();
        total = total.saturating_add(rows.saturating_mul(columns));
        text = text.saturating_add(span.text);
        if text > text_limit {
            return Err(ExtractError::SharedTextTooLarge(text_limit));
        }
        if total > MAX_RECT_CELLS {
            return Err(ExtractError::SheetTooLarge {
                sheet: format!("{}", n + 1),
                rows,
                columns,
            });
        }
    }
    Ok(())
}

/// Where each sheet starts (every BOUNDSHEET record's offset) and the lengths of the
/// shared strings (the last SST in the globals, as calamine reads them).
fn globals(stream: &[u8]) -> (Vec<usize>, Vec<u32>) {
    let (mut sheets, mut shared) = (Vec::new(), Vec::new());
    let (mut at, mut in_globals) = (0, true);
    while let Some((typ, range, next)) = record_at(stream, at) {
        match typ {
            0x000A => in_globals = false,
            0x00FC if in_globals => shared = shared_lengths(stream, at),
            0x0085 => sheets.extend(
                stream[range]
                    .get(..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
            ),
            _ => {}
        }
        at = next;
    }
    (sheets, shared)
}

/// Blanks every DIMENSIONS record a walk from the start finds; whether any changed.
fn blank_dimensions(stream: &mut [u8]) -> bool {
    let (mut at, mut changed) = (0, false);
    while let Some((typ, range, next)) = record_at(stream, at) {
        let data = &mut stream[range];
        if typ == 0x0200 && data.iter().any(|b| *b != 0) {
            data.fill(0);
            changed = true;
        }
        at = next;
    }
    changed
}

/// The most UTF-8 bytes of each string of the SST record at `at` and the CONTINUE
/// records after it, walked as calamine's `parse_sst` walks them (a string's characters may
/// go on in the next CONTINUE, which then starts with its own encoding flag). A string
/// calamine could not read ends the list, as it ends calamine's reading of the file.
fn shared_lengths(stream: &[u8], at: usize) -> Vec<u32> {
    let mut parts = Vec::new();
    let mut next = Some(at);
    while let Some((typ, range, after)) = next.and_then(|at| record_at(stream, at)) {
        if !(parts.is_empty() || typ == 0x003C) {
            break;
        }
        parts.push(&stream[range]);
        next = Some(after);
    }
    let mut parts = parts.into_iter();
    let mut data = parts.next().and_then(|d| d.get(8..)).unwrap_or_default();
    let mut lengths = Vec::new();
    fn skip<'a>(data: &mut &'a [u8], parts: &mut std::vec::IntoIter<&'a [u8]>, mut len: usize) -> Option<()> {
        while len > 0 {
            if data.is_empty() {
                *data = parts.next()?;
            }
            let l = len.min(data.len());
            *data = &data[l..];
            len -= l;
        }
        Some(())
    }
    loop {
        if data.is_empty() {
            match parts.next() {
                Some(d) => data = d,
                None => return lengths,
            }
        }
        let Some(&[lo, hi, flags]) = data.get(..3) else {
            return lengths;
        };
        let cch = usize::from(u16::from_le_bytes([lo, hi]));
        data = &data[3..];
        let mut runs = 0;
        if flags & 0x8 != 0 {
            let Some(&[lo, hi]) = data.get(..2) else {
                return lengths;
            };
            runs = usize::from(u16::from_le_bytes([lo, hi])) * 4;
            data = &data[2..];
        }
        let mut ext = 0;
        if flags & 0x4 != 0 {
            let Some(&[a, b, c, d]) = data.get(..4) else {
                return lengths;
            };
            ext = i32::from_le_bytes([a, b, c, d]) as usize;
            data = &data[4..];
        }
        let (mut left, mut wide) = (cch, flags & 0x1 != 0);
        loop {
            let width = if wide { 2 } else { 1 };
            let n = left.min(data.len() / width);
            data = &data[n * width..];
            left -= n;
            if left == 0 {
                break;
            }
            match parts.next() {
                Some(d) if !d.is_empty() => {
                    wide = d[0] & 0x1 != 0;
                    data = &d[1..];
                }
                _ => return lengths,
            }
        }
        // Bytes calamine keeps: a character is up to three bytes of UTF-8 (probe 52a 5: CJK
        // text took three times what its characters counted), and a two-byte one read in
        // a legacy code page two such characters (probe 53a 5).
        lengths.push((cch as u32).saturating_mul(6));
        if skip(&mut data, &mut parts, runs.saturating_add(ext)).is_none() {
            return lengths;
        }
    }
}
