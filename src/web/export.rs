//! Downloads: a sheet as CSV, streamed a few thousand records at a time so memory stays
//! flat, with cells that a spreadsheet would run as formulas defused.

use crate::app::AppState;
use crate::blueprint::SheetConfig;
use crate::db::{AnyConnection, Pool};
use crate::model::record::{self, sizes, RecordRow};
use crate::model::sheet::Sheet;
use crate::validate::display;
use crate::web::error::AppError;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use serde_json::Value;

/// A file name as people should see it: none of the characters a name may not hold
/// (control, reordering, line-separator, invisible), which an upload's name drops.
pub fn clean_file_name(name: &str) -> String {
    name.chars().filter(|c| !crate::names::misleading(*c)).collect()
}

/// A download's file name for a sheet or workbook named `name` (`fallback` when nothing
/// is left): its own name, letters of any script kept, with the characters a file name
/// cannot hold made `-` (probe 69b D1: `名前` downloaded as `.xlsx`, a hidden file).
pub fn download_stem(name: &str, fallback: &str) -> String {
    let stem: String = clean_file_name(name)
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect();
    let stem = stem.trim_matches(|c: char| c.is_whitespace() || c == '.' || c == '-');
    match stem.is_empty() {
        true => fallback.to_string(),
        false => stem.to_string(),
    }
}

/// `Content-Disposition: attachment` for a name of any characters: an ASCII `filename`
/// for old clients (anything else, quotes and backslashes too, becomes `_`) and the exact
/// name as RFC 6266's `filename*`, percent-encoded UTF-8.
pub fn attachment(name: &str) -> actix_web::http::header::ContentDisposition {
    use actix_web::http::header::{
        Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    };
    let name = clean_file_name(name);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            }),
        ],
    }
}

/// What a CSV download holds: every record, or the ids a selection picked (see
/// [`selected`]), in its order.
pub enum Rows {
    All,
    Selected(Vec<i64>),
}

/// The ids the records API's selection (`filter`, `searchValue`, `ids`, `q`...) picks, in
/// its sort's order (a million are 8 MB). Read before the answer starts, and like a page
/// (within the read budget, a slow one behind the read gate), so a selection too slow is a
/// 422 rather than a download cut off after its header.
pub async fn selected(state: &AppState, sheet: &Sheet, q: record::RecordQuery) -> Result<Rows, AppError> {
    let sheet = sheet.clone();
    let ids = state
        .read_db_if(q.is_costly(), move |conn| {
            let cells = record::sort_index::Cells::of(crate::db::backend_of(conn), &sheet);
            record::cells::sorted_ids(conn, cells, sheet.seq, &q)
        })
        .await?;
    Ok(Rows::Selected(ids))
}

/// Bytes of records a download reads at once (as many as make them, up to 2,000; one
/// bigger comes alone): 2,000 records of two 1 MiB cells held 500 MB a download, and four
/// downloads at once 2.35 GB (probe 65e D5).
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Streams a sheet as CSV. A connection is taken for each page and given back before the
/// page is sent, so a slow client holds none. With `bom` (the dashboard's download, which
/// people open in Excel) it starts with UTF-8's byte order mark: without one Excel reads
/// the file as Windows-1252, and `Jürgen` shows as `JÃ¼rgen`. The API's has none.
pub fn csv_response(pool: Pool, sheet: Sheet, config: SheetConfig, rows: Rows, bom: bool) -> HttpResponse {
    let filename = format!("{}.csv", download_stem(&sheet.name, &sheet.slug));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| tx.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        let fail = |why: &dyn std::fmt::Display| {
            tracing::error!(error = %why, "CSV export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        };
        let mut header = if bom {
            "\u{FEFF}".as_bytes().to_vec()
        } else {
            Vec::new()
        };
        header.extend(csv_rows(&config, None));
        if !send(header) {
            return;
        }
        let page = |read: &mut dyn FnMut(&mut AnyConnection) -> diesel::QueryResult<Vec<RecordRow>>| {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            // Each page from one snapshot with the sheet's fields, which must still be the
            // header's: a field change moves every record's values (the download is cut
            // off, never given values under the wrong column).
            let fields = |config: &str| {
                serde_json::from_str::<serde_json::Value>(config)
                    .map(|c| c["fields"].clone())
                    .ok()
            };
            let started = fields(&sheet.config);
            let read = crate::db::read_snapshot(&mut conn, |conn| {
                if fields(&crate::model::sheet::stored_config(conn, &sheet.id)?) != started {
                    return Ok(Err(format!(
                        "the fields of {} changed during the download",
                        sheet.name
                    )));
                }
                read(conn).map(Ok)
            });
            read.map_err(|e| e.to_string())?
        };
        if let Rows::Selected(ids) = &rows {
            let mut from = 0;
            while from < ids.len() {
                let next = &ids[from..(from + 2000).min(ids.len())];
                let mut fit = 0;
                let read = page(&mut |conn| {
                    fit = sizes::fitting_of(conn, sheet.seq, next, BATCH_BYTES)?;
                    record::load_rows(conn, sheet.seq, &next[..fit])
                });
                match read {
                    Ok(rows) => {
                        from += fit;
                        if !send(csv_rows(&config, Some(&rows))) {
                            return;
                        }
                    }
                    Err(e) => return fail(&e),
                }
            }
            return;
        }
        let mut last = 0;
        loop {
            let read = page(&mut |conn| {
                let ids = sizes::fitting_after(conn, sheet.seq, last, 2000, BATCH_BYTES)?;
                record::load_rows(conn, sheet.seq, &ids)
            });
            match read {
                Ok(rows) if rows.is_empty() => break,
                Ok(rows) => {
                    last = rows[rows.len() - 1].id;
                    if !send(csv_rows(&config, Some(&rows))) {
                        break;
                    }
                }
                Err(e) => return fail(&e),
            }
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment(&filename))
        .streaming(stream)
}

/// A cell as a download writes it: as shown, but a list whose items would not read back
/// as themselves from text (one holds `,` or `;`, or starts like JSON) as a JSON array,
/// which an import reads as that list (probe 62c D6: `a,b` came back as two items).
fn exported(value: &Value) -> String {
    if let Value::Array(items) = value {
        let texts: Vec<String> = items.iter().map(display).collect();
        if texts
            .iter()
            .any(|t| t.contains([',', ';']) || t.trim_start().starts_with('['))
        {
            return serde_json::to_string(&texts).unwrap_or_default();
        }
    }
    display(value)
}

/// The header row (no rows given) or some records, as CSV bytes.
fn csv_rows(config: &SheetConfig, rows: Option<&[RecordRow]>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let result = match rows {
        None => w.write_record(config.fields.iter().map(|f| safe_cell(f.display_name()))),
        Some(rows) => rows.iter().try_for_each(|r| {
            let checked = r.checked(config);
            w.write_record(
                (0..config.fields.len())
                    .map(|i| safe_cell(&checked.vals.get(i).map(exported).unwrap_or_default())),
            )
        }),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "writing CSV to memory failed");
    }
    w.into_inner().unwrap_or_default()
}

pub use crate::extract::safe_cell;

/// Excel's last row; a larger sheet cannot be exported to XLSX.
const XLSX_MAX_ROWS: i64 = 1_048_575;
/// Most characters an Excel cell holds.
const XLSX_MAX_CHARS: usize = 32_767;

/// A workbook as XLSX, one worksheet per sheet, written row by row in constant memory.
pub fn xlsx_bytes(
    conn: &mut crate::db::AnyConnection,
    sheets: &[(Sheet, SheetConfig)],
) -> Result<Vec<u8>, crate::web::error::AppError> {
    use crate::web::error::AppError;
    use rust_xlsxwriter::Workbook;
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("writing XLSX: {e}"));
    let mut book = Workbook::new();
    // A string cell is never run as a formula; text a spreadsheet would read as one if
    // retyped gets Excel's quote prefix, a style, so the value stays as stored (a leading
    // apostrophe in the text, as in CSV, made `+44 20 1234` read `'+44 20 1234`).
    let quoted = rust_xlsxwriter::Format::new().set_quote_prefix();
    let text = |ws: &mut rust_xlsxwriter::Worksheet, row: u32, col: u16, s: &str| match safe_cell(s) == s {
        true => ws.write_string(row, col, s).map(|_| ()),
        false => ws.write_string_with_format(row, col, s, &quoted).map(|_| ()),
    };
    // A date field's dates are Excel dates, shown as the grid shows them, so Excel sorts and
    // filters them as dates (probe 60b D6: text cells).
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let names = worksheet_names(sheets.iter().map(|(s, _)| s.name.as_str()));
    for ((sheet, config), name) in sheets.iter().zip(names) {
        if sheet.total_count > XLSX_MAX_ROWS {
            return Err(AppError::invalid(
                "sheet",
                format!(
                    "{} has {} records; XLSX holds at most {XLSX_MAX_ROWS}: download it as CSV instead",
                    sheet.name, sheet.total_count
                ),
            ));
        }
        let ws = book.add_worksheet_with_constant_memory().map_err(fail)?;
        ws.set_name(name).map_err(fail)?;
        for (col, f) in config.fields.iter().enumerate() {
            text(ws, 0, col as u16, f.display_name()).map_err(fail)?;
        }
        let dated: Vec<bool> = config
            .fields
            .iter()
            .map(|f| matches!(f.field_type, crate::blueprint::FieldType::Date))
            .collect();
        let mut row_no: u32 = 1;
        let mut last = 0;
        loop {
            let ids = sizes::fitting_after(conn, sheet.seq, last, 2000, BATCH_BYTES)?;
            let rows = record::load_rows(conn, sheet.seq, &ids)?;
            let Some(tail) = rows.last() else { break };
            last = tail.id;
            for r in &rows {
                let checked = r.checked(config);
                for (col, v) in checked.vals.iter().enumerate().take(config.fields.len()) {
                    let col = col as u16;
                    match v {
                        Value::Null => {}
                        // Excel keeps numbers as doubles: a whole number past 2^53 goes as
                        // its digits, text, rather than as a neighbour of itself.
                        Value::Number(n) if !n.is_f64() && !n.as_f64().is_some_and(exact_in_excel) => {
                            ws.write_string(row_no, col, n.to_string()).map_err(fail)?;
                        }
                        Value::Number(n) => {
                            ws.write_number(row_no, col, n.as_f64().unwrap_or_default())
                                .map_err(fail)?;
                        }
                        Value::Bool(b) => {
                            ws.write_boolean(row_no, col, *b).map_err(fail)?;
                        }
                        Value::String(s) if dated[col as usize] && excel_date(s).is_some() => {
                            let day = excel_date(s).expect("checked");
                            ws.write_datetime_with_format(row_no, col, &day, &date)
                                .map_err(fail)?;
                        }
                        other => {
                            let shown = exported(other);
                            // Excel's cell holds 32,767 characters; a longer one failed the
                            // whole download with a 500 (probe 65f D2).
                            if shown.chars().count() > XLSX_MAX_CHARS {
                                return Err(AppError::invalid(
                                    "sheet",
                                    format!(
                                        "{}: record {} holds more than Excel's {XLSX_MAX_CHARS} characters in {}: download it as CSV instead",
                                        sheet.name,
                                        crate::ids::RecordId(r.id),
                                        config.fields[col as usize].display_name()
                                    ),
                                ));
                            }
                            text(ws, row_no, col, &shown).map_err(fail)?;
                        }
                    }
                }
                row_no += 1;
            }
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// A date as stored (`2024-05-03`) as an Excel date; none for other text (a value that is
/// no date stays as typed) or a date Excel has no day for (before 1900).
fn excel_date(s: &str) -> Option<rust_xlsxwriter::ExcelDateTime> {
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    let year = u16::try_from(day.year())
        .ok()
        .filter(|y| (1900..=9999).contains(y))?;
    rust_xlsxwriter::ExcelDateTime::from_ymd(year, day.month() as u8, day.day() as u8).ok()
}

/// Whether a whole number is one a double (so an Excel cell) holds exactly.
fn exact_in_excel(f: f64) -> bool {
    f.abs() <= 9_007_199_254_740_991.0
}

/// Excel's longest worksheet name, in UTF-16 code units.
const SHEET_NAME_MAX: usize = 31;

/// Worksheet names Excel accepts, one for each sheet name in order, and unique the way Excel
/// compares them (ignoring case). Characters Excel refuses (`[]:*?/\` and control characters)
/// are dropped, apostrophes and spaces trimmed from both ends, the name cut to 31 UTF-16
/// units, and a blank name becomes `Sheet`. A name already taken (or `History`, which Excel
/// reserves) gets ` (2)`, ` (3)`, ... with the name cut shorter to make room.
pub fn worksheet_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::from(["history".to_string()]);
    names
        .into_iter()
        .map(|name| {
            let clean: String = name
                .chars()
                .filter(|c| !"[]:*?/\\".contains(*c) && !c.is_control())
                .collect();
            let base = match tidy(&clean) {
                "" => "Sheet",
                base => base,
            };
            (1..)
                .map(|n| {
                    let suffix = if n == 1 { String::new() } else { format!(" ({n})") };
                    let room = SHEET_NAME_MAX - suffix.len();
                    format!("{}{suffix}", tidy(utf16_prefix(base, room)))
                })
                .find(|candidate| taken.insert(candidate.to_lowercase()))
                .unwrap_or_default() // `(1..)` never ends: a free suffix is always found
        })
        .collect()
}

/// Without the apostrophes and spaces Excel refuses (or people miss) at either end.
fn tidy(name: &str) -> &str {
    name.trim_matches(|c: char| c == '\'' || c.is_whitespace())
}

/// The longest prefix of `s` that fits in `units` UTF-16 code units.
fn utf16_prefix(s: &str, units: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > units {
            return &s[..i];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::worksheet_names;

    #[test]
    fn worksheet_names_are_valid_and_unique_ignoring_case() {
        let long = "Quarterly results, northern region 2025";
        let longer = "Quarterly results, northern region 2026";
        let names = worksheet_names([
            "Data",
            "data",
            "DATA",
            "a:b",
            "ab",
            "'quoted'",
            "''",
            "",
            "History",
            long,
            longer,
            "it's'",
            "x/y?",
            "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
        ]);
        assert_eq!(
            names,
            [
                "Data",
                "data (2)",
                "DATA (3)",
                "ab",
                "ab (2)",
                "quoted",
                "Sheet",
                "Sheet (2)",
                "History (2)",
                "Quarterly results, northern reg",
                "Quarterly results, northern (2)",
                "it's",
                "xy",
                "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
            ]
        );
        for name in &names {
            rust_xlsxwriter::utility::check_sheet_name(name).unwrap();
        }
    }
}
