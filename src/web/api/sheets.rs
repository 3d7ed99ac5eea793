//! Sheets: list by workbook, get, delete, counts, and CSV download.

use super::{given_id, ok, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::blueprint::SheetConfig;
use crate::ids::{SheetId, WorkbookId};
use crate::model::event::{self, Context};
use crate::model::sheet::{self, Sheet};
use crate::model::{iso, record, workbook, ModelError};
use crate::web::error::AppError;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use diesel::Connection;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn sheet_json(s: &Sheet) -> Value {
    json!({
        "id": s.id,
        "workbookId": s.workbook_id,
        "name": s.name,
        "slug": s.slug,
        "config": stored_json(&s.config),
        "recordCounts": s.counts(),
        "createdAt": iso(&s.created_at),
        "updatedAt": iso(&s.updated_at),
    })
}

async fn load(state: &AppState, caller: &ApiCaller, raw_id: &str) -> Result<Sheet, AppError> {
    let id = path_id(raw_id, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let found = state.db(move |conn| sheet::find(conn, &env, &id)).await?;
    found.map(|(s, _)| s).ok_or(AppError::NotFound("sheet"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    workbook_id: Option<String>,
}

pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let text = q
        .workbook_id
        .as_deref()
        .ok_or_else(|| AppError::bad_request("workbookId", "workbookId is required"))?;
    let wid = given_id(text, WorkbookId::parse, "workbookId")?;
    let env = caller.environment_id.clone();
    let sheets = state
        .db(move |conn| {
            workbook::find(conn, &env, &wid)?.ok_or(ModelError::NotFound("workbook"))?;
            Ok::<_, ModelError>(sheet::list_in_workbook(conn, &wid)?)
        })
        .await?;
    Ok(ok(sheets.iter().map(sheet_json).collect::<Vec<_>>()))
}

pub async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(sheet_json(&load(&state, &caller, &path).await?)))
}

pub async fn counts(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    Ok(ok(json!({"counts": s.counts(), "success": true})))
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let actor = caller.actor();
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                let (s, space_id) = sheet::find(conn, &env, &id)?.ok_or(ModelError::NotFound("sheet"))?;
                sheet::delete(conn, &s.id)?;
                let ctx = Context::new(&env, &actor)
                    .space(&space_id)
                    .workbook(&s.workbook_id)
                    .sheet(&s.id);
                event::emit(conn, &ctx, "sheet:deleted", json!({"name": s.name}))?;
                Ok::<_, ModelError>(())
            })
        })
        .await?;
    Ok(success())
}

/// Streams the sheet as CSV, a few thousand records at a time, so memory stays flat.
pub async fn download(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    let config = s.parsed_config()?;
    let filename = format!("{}.csv", s.slug);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| tx.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        if !send(csv_rows(&config, None)) {
            return;
        }
        let Ok(mut conn) = pool.get() else {
            let _ = tx.blocking_send(Err(std::io::Error::other("database unavailable")));
            return;
        };
        let mut last = 0;
        loop {
            match record::after(&mut conn, &s.id, last, 2000) {
                Ok(rows) if rows.is_empty() => break,
                Ok(rows) => {
                    last = rows[rows.len() - 1].id;
                    if !send(csv_rows(&config, Some(&rows))) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed");
                    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
                    break;
                }
            }
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(stream))
}

/// The header row (no rows given) or some records, as CSV bytes.
fn csv_rows(config: &SheetConfig, rows: Option<&[record::RecordRow]>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let result = match rows {
        None => w.write_record(config.fields.iter().map(|f| safe_cell(f.display_name()))),
        Some(rows) => rows.iter().try_for_each(|r| {
            let checked = r.checked();
            w.write_record((0..config.fields.len()).map(|i| safe_cell(&cell_text(checked.vals.get(i)))))
        }),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "writing CSV to memory failed");
    }
    w.into_inner().unwrap_or_default()
}

fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell_text(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// Text a spreadsheet would run as a formula gets a leading apostrophe (CSV injection).
pub fn safe_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formulas_are_defused_but_numbers_are_not() {
        assert_eq!(safe_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(safe_cell("@cmd"), "'@cmd");
        assert_eq!(safe_cell("-5"), "-5");
        assert_eq!(safe_cell("plain"), "plain");
    }
}
