//! XLSX, XLS and ODS through calamine: every sheet becomes a table. Zip-based formats are
//! checked against decompression bombs before anything is unpacked.

use super::{header, ExtractError, Format, RawRow, Table};
use calamine::{Data, Ods, Reader, Sheets, Xls, Xlsx};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Most bytes the parts of a zip-based spreadsheet may unpack to.
pub const MAX_UNPACKED: u64 = 2 * 1024 * 1024 * 1024;
/// Most a part may grow by when unpacked; real spreadsheets stay well below.
const MAX_RATIO: u64 = 200;

/// Refuses a zip whose declared contents are far larger than any spreadsheet.
pub fn check_zip(path: &Path) -> Result<(), ExtractError> {
    let file = File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        let (packed, unpacked) = (entry.compressed_size(), entry.size());
        total = total.saturating_add(unpacked);
        if unpacked > 64 * 1024 * 1024 && unpacked / packed.max(1) > MAX_RATIO {
            return Err(ExtractError::Bomb(unpacked));
        }
    }
    if total > MAX_UNPACKED {
        return Err(ExtractError::Bomb(total));
    }
    Ok(())
}

/// The text of a cell as the spreadsheet shows it, as near as can be told without its
/// number format: whole numbers without a decimal point, dates in ISO form.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::DateTime(dt) if !dt.is_duration() => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => cell.to_string(),
        },
        Data::Error(_) => format!("#{cell}"),
        other => other.to_string(),
    }
}

pub fn tables(path: &Path, format: Format) -> Result<Vec<Table>, ExtractError> {
    if matches!(format, Format::Xlsx | Format::Ods) {
        check_zip(path)?;
    }
    let file = File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
    let reader = BufReader::new(file);
    let corrupt = |e: calamine::Error| ExtractError::Corrupt(e.to_string());
    let mut book: Sheets<BufReader<File>> = match format {
        Format::Xlsx => Sheets::Xlsx(
            calamine::open_workbook_from_rs::<Xlsx<_>, _>(reader).map_err(|e| corrupt(e.into()))?,
        ),
        Format::Xls => {
            Sheets::Xls(calamine::open_workbook_from_rs::<Xls<_>, _>(reader).map_err(|e| corrupt(e.into()))?)
        }
        Format::Ods => {
            Sheets::Ods(calamine::open_workbook_from_rs::<Ods<_>, _>(reader).map_err(|e| corrupt(e.into()))?)
        }
        _ => return Err(ExtractError::Corrupt("not a spreadsheet".into())),
    };
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).map_err(corrupt)?;
        let first_line = range.start().map_or(1, |(r, _)| u64::from(r) + 1);
        let first_col = range.start().map_or(0, |(_, c)| c as usize);
        // Cells become text row by row as they are read, not all at once.
        let (height, width) = range.get_size();
        let rows = (0..height).map(move |r| {
            let mut values = vec![String::new(); first_col];
            values.extend((0..width).map(|c| range.get((r, c)).map(cell_text).unwrap_or_default()));
            Ok(RawRow {
                line: first_line + r as u64,
                values,
            })
        });
        match header::tabulate(name.clone(), Box::new(rows)) {
            Ok(table) => out.push(table),
            // A blank tab among others is skipped; a book of blank tabs is empty.
            Err(ExtractError::Empty | ExtractError::NoHeader) => continue,
            Err(e) => return Err(e),
        }
    }
    if out.is_empty() {
        return Err(ExtractError::Empty);
    }
    Ok(out)
}
