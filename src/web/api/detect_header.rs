//! `POST /v1/files/detect-header` (`files.detectHeader`): which of a sheet's first rows is
//! its header, as Wharf's own extraction tells it. `@flatfile/plugin-xlsx-extractor` asks
//! this for every sheet it reads, and drops a sheet whose answer has no header.

use super::ok;
use crate::auth::SpaceCaller;
use crate::web::error::AppError;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most rows and cells a request may hold: the plugins send the first rows only (20).
const MAX_ROWS: usize = 1_000;
const MAX_CELLS: usize = 100_000;

#[derive(Deserialize)]
pub struct DetectBody {
    /// Left out or `null`: the default algorithm.
    #[serde(default)]
    options: Option<Options>,
    data: Vec<Vec<Value>>,
}

/// Flatfile's `HeaderDetectionOptions`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Options {
    algorithm: Option<String>,
    rows_to_search: Option<usize>,
    skip: Option<usize>,
    headers: Option<Vec<String>>,
    row_numbers: Option<Vec<usize>>,
}

/// The answer: the header's cells, the number of rows up to and including it (the rows the
/// plugin skips before the data), and its columns' letters.
fn answer(header: Vec<String>, skip: usize) -> Value {
    let letters: Vec<String> = (0..header.len())
        .map(crate::extract::header::column_letters)
        .collect();
    json!({"header": header, "headerRow": skip, "letters": letters})
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn detect(
    _caller: SpaceCaller,
    body: crate::web::input::Json<DetectBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    if b.data.len() > MAX_ROWS || b.data.iter().map(Vec::len).sum::<usize>() > MAX_CELLS {
        return Err(AppError::invalid(
            "data",
            format!("send the first rows only: at most {MAX_ROWS} rows and {MAX_CELLS} cells"),
        ));
    }
    let rows: Vec<Vec<String>> = b.data.iter().map(|r| r.iter().map(text).collect()).collect();
    let o = b.options.unwrap_or_default();
    // As given: an extractor sends the first rows only, and skips what it is told.
    let given_skip = o.skip.unwrap_or(0);
    let skip = given_skip.min(rows.len());
    Ok(ok(match o.algorithm.as_deref().unwrap_or("default") {
        "explicitHeaders" => {
            let headers = o
                .headers
                .ok_or_else(|| AppError::invalid("options.headers", "explicitHeaders needs the headers"))?;
            answer(headers, given_skip)
        }
        "specificRows" => {
            let numbers = o.row_numbers.unwrap_or_default();
            let Some(&first) = numbers.first() else {
                return Err(AppError::invalid(
                    "options.rowNumbers",
                    "specificRows needs the header's row numbers",
                ));
            };
            // Several rows make one header, their cells joined by a space ("Billing" over
            // "City": "Billing City").
            let mut header = rows.get(first).cloned().unwrap_or_default();
            for n in &numbers[1..] {
                for (i, cell) in rows.get(*n).into_iter().flatten().enumerate().take(header.len()) {
                    header[i] = match header[i].trim() {
                        "" => cell.trim().to_string(),
                        above => format!("{above} {}", cell.trim()),
                    };
                }
            }
            let last = numbers.iter().max().copied().unwrap_or(first);
            answer(header, o.skip.unwrap_or(last.saturating_add(1)))
        }
        // `default`, and the AI and sub-header algorithms Wharf reads as its own.
        _ => {
            let end = skip
                .saturating_add(o.rows_to_search.unwrap_or(rows.len()))
                .min(rows.len());
            let searched = &rows[skip..end];
            match crate::extract::header::header_index(searched) {
                Some(i) => answer(searched[i].clone(), skip + i + 1),
                None => answer(Vec::new(), given_skip),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_lettered_as_spreadsheets_letter_them() {
        let got: Vec<String> = [0, 25, 26, 27, 701, 702]
            .into_iter()
            .map(crate::extract::header::column_letters)
            .collect();
        assert_eq!(got, ["A", "Z", "AA", "AB", "ZZ", "AAA"]);
    }
}
