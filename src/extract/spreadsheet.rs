//! XLSX, XLS and ODS through calamine: every sheet becomes a table. XLSX streams cell by
//! cell (`xlsx.rs`); ODS and XLS are built by calamine as rectangles, so they are measured
//! first (`zipped.rs` for ODS, `xls.rs` for XLS) and refused when too large. A panic inside
//! calamine on a malformed file is a damaged file, not a crash.

use super::{header, xls, xlsx, ExtractError, Format, Notes, RawRow, Table};
use calamine::{Data, Ods, Reader, SheetVisible, Xls};
use std::io::{BufReader, Cursor};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The text of a cell as the spreadsheet shows it, as near as can be told without its
/// number format: whole numbers without a decimal point, dates in ISO form, times of day
/// and durations as h:mm:ss.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        // `NaN` or `1e400` in a numeric cell: no number, as a spreadsheet shows it (it made
        // `1899-12-30` of a dated NaN, and `inf` of 1e400: probe 56b 5).
        Data::Float(f) if !f.is_finite() => "#NUM!".into(),
        Data::DateTime(dt) if !dt.as_f64().is_finite() => "#NUM!".into(),
        Data::DateTime(dt) if dt.is_duration() => clock(dt.as_f64() * 86_400.0),
        Data::DateTime(dt) if (0.0..1.0).contains(&dt.as_f64()) => clock(dt.as_f64() * 86_400.0),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => cell.to_string(),
        },
        Data::DurationIso(iso) => iso_duration(iso).map_or_else(|| iso.clone(), clock),
        other => other.to_string(),
    }
}

/// Seconds as h:mm:ss (hours beyond 24 kept, as Excel's `[h]:mm:ss` shows them).
fn clock(seconds: f64) -> String {
    let total = seconds.round() as i64;
    let (sign, total) = if total < 0 { ("-", -total) } else { ("", total) };
    format!("{sign}{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

/// Seconds of an ISO 8601 duration such as `PT12H30M00S` or `P1DT2H`, as ODS stores times.
fn iso_duration(iso: &str) -> Option<f64> {
    let rest = iso.strip_prefix('-').unwrap_or(iso).strip_prefix('P')?;
    let (mut total, mut number, mut in_time) = (0.0, String::new(), false);
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' | '.' => number.push(c),
            unit => {
                let n: f64 = std::mem::take(&mut number).parse().ok()?;
                total += n * match (unit, in_time) {
                    ('D', false) => 86_400.0,
                    ('H', true) => 3_600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
            }
        }
    }
    number
        .is_empty()
        .then_some(if iso.starts_with('-') { -total } else { total })
}

/// Runs calamine, taking a panic on a malformed file for damage.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, ExtractError>) -> Result<T, ExtractError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(ExtractError::Malformed("its structure is invalid".into())))
}

/// Most sheets of a book read, as a JSON file's lists: each costs a scan of the book's parts,
/// and 3,000 tiny sheets (a 1.3 MB file) held a job worker for five minutes (probe 63c D1).
pub const MAX_SHEETS: usize = 100;

/// The first [`MAX_SHEETS`] of a book's sheets, with a note when there are more.
pub fn capped<T>(mut sheets: Vec<T>, notes: &Notes) -> Vec<T> {
    if sheets.len() > MAX_SHEETS {
        notes.add(format!(
            "the file holds {} sheets; the first {MAX_SHEETS} were read",
            sheets.len()
        ));
        sheets.truncate(MAX_SHEETS);
    }
    sheets
}

pub fn tables(path: &Path, format: Format, merged: bool, notes: &Notes) -> Result<Vec<Table>, ExtractError> {
    let corrupt = |e: calamine::Error| ExtractError::Corrupt(e.to_string());
    let sheets: Vec<(String, bool, calamine::Range<Data>)> = guarded(|| match format {
        Format::Xlsx => Ok(Vec::new()),
        Format::Xls => {
            let clean = xls::cleaned(path)?;
            let mut book: Xls<_> = calamine::open_workbook_from_rs(Cursor::new(clean))
                .map_err(|e: calamine::XlsError| corrupt(e.into()))?;
            ranges(&mut book, notes).map_err(corrupt)
        }
        Format::Ods => {
            let file = std::fs::File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
            let mut book: Ods<_> = calamine::open_workbook_from_rs(BufReader::new(file))
                .map_err(|e: calamine::OdsError| corrupt(e.into()))?;
            ranges(&mut book, notes).map_err(corrupt)
        }
        _ => Err(ExtractError::Corrupt("not a spreadsheet".into())),
    })?;
    let out = if format == Format::Xlsx {
        guarded(|| xlsx::tables(path, merged, notes))?
    } else {
        let mut read = SheetsRead::default();
        for (name, hidden, range) in sheets {
            read.add(&name, hidden, range_table(name.clone(), range, notes), notes)?;
        }
        read.finish()?
    };
    if out.is_empty() {
        return Err(ExtractError::Empty);
    }
    Ok(out)
}

/// The sheets of a book read so far. A blank sheet is skipped. One Wharf cannot read
/// (too wide, or no row of it readable) is left out with a note saying why, so the book's
/// other sheets still arrive; the file fails for it only when no sheet could be read.
#[derive(Default)]
pub struct SheetsRead {
    tables: Vec<Table>,
    /// The first sheet left out, and why.
    left_out: Option<(String, ExtractError)>,
}

impl SheetsRead {
    pub fn add(
        &mut self,
        name: &str,
        hidden: bool,
        outcome: Result<Table, ExtractError>,
        notes: &Notes,
    ) -> Result<(), ExtractError> {
        match outcome {
            Ok(table) => {
                if hidden {
                    notes.add(format!(
                        "sheet {name} is hidden in the file; it was extracted too"
                    ));
                }
                self.tables.push(table);
            }
            Err(ExtractError::Empty | ExtractError::NoHeader) => {}
            Err(e @ (ExtractError::TooWide(_) | ExtractError::NoRowRead { .. })) => {
                notes.add(format!("sheet {name} was not extracted: {e}"));
                self.left_out.get_or_insert((name.to_string(), e));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<Table>, ExtractError> {
        match (self.tables.is_empty(), self.left_out) {
            (true, Some((sheet, problem))) => Err(ExtractError::NoSheetRead {
                sheet,
                problem: Box::new(problem),
            }),
            _ => Ok(self.tables),
        }
    }
}

type SheetRange = (String, bool, calamine::Range<Data>);

fn ranges<RS, R>(book: &mut R, notes: &Notes) -> Result<Vec<SheetRange>, calamine::Error>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
    R::Error: Into<calamine::Error>,
{
    let sheets: Vec<(String, bool)> = book
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible != SheetVisible::Visible))
        .collect();
    let mut out = Vec::new();
    for (name, hidden) in capped(sheets, notes) {
        let range = book.worksheet_range(&name).map_err(Into::into)?;
        out.push((name, hidden, range));
    }
    Ok(out)
}

/// A sheet calamine read whole, its cells made text row by row as they are asked for.
fn range_table(name: String, range: calamine::Range<Data>, notes: &Notes) -> Result<Table, ExtractError> {
    let first_line = range.start().map_or(1, |(r, _)| u64::from(r) + 1);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let (height, width) = range.get_size();
    let done = Arc::new(AtomicU64::new(0));
    let counter = done.clone();
    let rows = (0..height).map(move |r| {
        counter.store(
            ((r + 1) as u64 * 1_000_000) / height.max(1) as u64,
            Ordering::Relaxed,
        );
        let mut values = vec![String::new(); first_col];
        values.extend((0..width).map(|c| range.get((r, c)).map(cell_text).unwrap_or_default()));
        Ok(RawRow {
            line: first_line + r as u64,
            values,
        })
    });
    let mut table = header::tabulate(name, Box::new(rows), notes)?;
    table.done = done;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_read_as_clock_times() {
        assert_eq!(
            iso_duration("PT12H30M00S").map(clock).as_deref(),
            Some("12:30:00")
        );
        assert_eq!(iso_duration("P1DT2H").map(clock).as_deref(), Some("26:00:00"));
        assert_eq!(iso_duration("PT0.5S").map(clock).as_deref(), Some("0:00:01"));
        assert_eq!(iso_duration("P1Y"), None);
        assert_eq!(iso_duration("nonsense"), None);
    }

    #[test]
    fn a_numeric_cell_that_is_no_number_reads_as_the_spreadsheets_error() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(cell_text(&Data::Float(f)), "#NUM!");
            let dated = ExcelDateTime::new(f, ExcelDateTimeType::DateTime, false);
            assert_eq!(cell_text(&Data::DateTime(dated)), "#NUM!");
        }
        let day = ExcelDateTime::new(45_000.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(day)), "2023-03-15");
        assert_eq!(cell_text(&Data::Float(1.5)), "1.5");
    }
}
