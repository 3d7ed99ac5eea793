//! XLS (BIFF records in an OLE compound file). Calamine trusts the sizes such a file
//! states (sector counts, a sheet's DIMENSIONS record) and allocates by them, so it never
//! sees the uploaded file itself: the workbook stream is taken out with the `cfb` crate
//! (which checks the compound file's structure), its records are walked (each sheet's cells
//! measured, DIMENSIONS blanked) and it is written into a fresh compound file for calamine.

use super::zipped::MAX_RECT_CELLS;
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
    measure(&mut stream)?;
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
fn sheet_span(stream: &[u8], from: usize) -> Span {
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

/// Walks the BIFF records: refuses a book whose sheets' cells span more than Wharf reads,
/// each sheet read where its BOUNDSHEET record says and up to its EOF, as calamine reads it
/// (a sheet without its EOF runs on into the next, and two BOUNDSHEETs may name one sheet:
/// probe 50a F2), and blanks DIMENSIONS records (calamine reserves memory by what they
/// claim).
pub(super) fn measure(stream: &mut [u8]) -> Result<(), ExtractError> {
    let mut sheets = Vec::new();
    let mut at = 0;
    while let Some((typ, range, next)) = record_at(stream, at) {
        match typ {
            // BOUNDSHEET: where a sheet starts.
            0x0085 => sheets.extend(
                stream[range.clone()]
                    .get(..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
            ),
            // DIMENSIONS
            0x0200 => stream[range].fill(0),
            _ => {}
        }
        at = next;
    }
    let mut total = 0u64;
    for (n, from) in sheets.into_iter().enumerate() {
        let (rows, columns) = sheet_span(stream, from).size();
        total = total.saturating_add(rows.saturating_mul(columns));
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
