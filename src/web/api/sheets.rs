//! Sheets: list by workbook, get, delete, counts, and CSV download.

use super::{given_id, ok, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::{ApiCaller, SpaceCaller, SpaceScope};
use crate::ids::{SheetId, WorkbookId};
use crate::model::sheet::{self, Sheet};
use crate::model::{iso, record, workbook, ModelError};
use crate::web::error::AppError;
use crate::web::export::Rows;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn sheet_json(s: &Sheet) -> Value {
    json!({
        "id": s.id,
        "workbookId": s.workbook_id,
        "name": s.name,
        "slug": s.slug,
        "config": stored_json(&s.config),
        "metadata": stored_json(&s.config).get("metadata").cloned().unwrap_or(json!({})),
        "recordCounts": s.counts(),
        "createdAt": iso(&s.created_at),
        "updatedAt": iso(&s.updated_at),
        "lockedAt": s.locked_at.as_ref().map(iso),
        "lockedBy": s.locked_by,
    })
}

/// `POST /v1/sheets/{id}/lock` and `.../unlock` (secret keys: listener code locks a sheet
/// while it works on it; people and guests cannot change its records meanwhile).
async fn set_lock(
    caller: ApiCaller,
    state: &AppState,
    raw_id: &str,
    lock: bool,
) -> Result<HttpResponse, AppError> {
    let id = path_id(raw_id, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let actor = caller.actor();
    let sheet_id = id.clone();
    state
        .db(move |conn| {
            let ctx = sheet::load_context(conn, &env, &id)?;
            sheet::set_lock(conn, &ctx, lock.then_some(actor.as_str()), &actor)?;
            Ok::<_, ModelError>(())
        })
        .await?;
    state.live.publish(&sheet_id, None);
    Ok(success())
}

pub async fn lock(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_lock(caller, &state, &path, true).await
}

pub async fn unlock(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_lock(caller, &state, &path, false).await
}

async fn load(state: &AppState, caller: &SpaceCaller, raw_id: &str) -> Result<Sheet, AppError> {
    let id = path_id(raw_id, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let found = state.db(move |conn| sheet::find(conn, &env, &id)).await?;
    let (s, space) = found.ok_or(AppError::NotFound("sheet"))?;
    caller.check_reach_as(&space, "sheet")?;
    Ok(s)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    workbook_id: Option<String>,
}

pub async fn list(
    caller: SpaceCaller,
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
            let wb = workbook::find(conn, &env, &wid)?.ok_or(ModelError::NotFound("workbook"))?;
            caller.check_reach_as(&wb.space_id, "workbook")?;
            Ok::<_, AppError>(sheet::list_in_workbook(conn, &wid)?)
        })
        .await?;
    Ok(ok(sheets.iter().map(sheet_json).collect::<Vec<_>>()))
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(sheet_json(&load(&state, &caller, &path).await?)))
}

/// The sheet's counts; with `q`, the counts of the records it selects.
/// The query keys that select records (as `GET .../records` reads them).
const SELECTION: [&str; 6] = ["filter", "filterField", "searchValue", "searchField", "ids", "q"];

/// Counts read over some records rather than the sheet's kept ones: a selection, a commit
/// (`commitId`, `versionId`), or what is refused as a records read refuses it.
const COUNTED_OVER: [&str; 5] = ["commitId", "versionId", "sinceVersionId", "sinceCommitId", "for"];

pub async fn counts(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    super::records::fresh_read(async || counts_once(&caller, &state, &path, &params).await).await
}

async fn counts_once(
    caller: &SpaceCaller,
    state: &web::Data<AppState>,
    path: &str,
    params: &[(String, String)],
) -> Result<HttpResponse, AppError> {
    let by_field = super::flag(params, "byField")?;
    let over = |k: &String| SELECTION.contains(&k.as_str()) || COUNTED_OVER.contains(&k.as_str());
    if !by_field && !params.iter().any(|(k, _)| over(k)) {
        let s = load(state, caller, path).await?;
        return Ok(ok(json!({"counts": s.counts(), "success": true})));
    }
    let id = path_id(path, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let ctx = state.db(move |conn| sheet::load_context(conn, &env, &id)).await?;
    caller.check_reach_as(&ctx.space_id, "sheet")?;
    let (mut q, _) = super::records::parse_selection(&ctx.config, params)?;
    if let Some(ids) = super::records_commit::ids_of(state, &ctx, params).await? {
        q.ids = Some(super::records_commit::within(ids, q.ids.take()));
    }
    let (counts, by_field) = state
        .read_db_if(q.is_costly() || by_field, move |conn| crate::db::read_snapshot(conn, |conn| {
            // What `q` was made with are the records' own fields (see `records::fresh_read`).
            sheet::check_fresh(conn, &ctx)?;
            let counts = record::cells::selection_counts(conn, &ctx, &q)?;
            if !by_field {
                return Ok::<_, crate::model::ModelError>((counts, None));
            }
            // Flatfile's `byField`: each field's records in error, valid there, and empty.
            let keys: Vec<String> = ctx.config.fields.iter().map(|f| f.key.clone()).collect();
            let empty = record::cells::empties_by_field(conn, ctx.sheet.seq, keys.len(), &q)?;
            let per: serde_json::Map<String, Value> = keys
                .into_iter()
                .zip(empty)
                .map(|(key, empty)| {
                    let error = counts.errors_by_field.get(&key).copied().unwrap_or(0);
                    let field = json!({"total": counts.total, "valid": counts.total - error, "error": error, "empty": empty});
                    (key, field)
                })
                .collect();
            Ok((counts, Some(per)))
        }))
        .await?;
    let mut body = json!({"counts": counts, "success": true});
    if let Some(per) = by_field {
        body["counts"]["byField"] = Value::Object(per);
    }
    Ok(ok(body))
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let actor = caller.actor();
    let here = state.storage.holder();
    let keys = state
        .db(move |conn| sheet::delete(conn, &env, &id, &actor, here.as_deref()))
        .await?;
    // The records a Submit froze of it went with it.
    if let Err(e) = super::file_bytes::delete_bytes(&state.storage, &keys).await {
        tracing::warn!(error = %e, "deleting stored bytes failed");
    }
    Ok(success())
}

/// Streams the sheet as CSV; with `q`, the records it selects.
pub async fn download(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    let config = s.parsed_config()?;
    // Flatfile's `getRecordsAsCsv` selection and sort, as the records API reads them;
    // anything else was ignored, and the whole sheet sent for a commit's records or an
    // XLSX asked for (probe 65e D6, D7).
    let sort = ["sortField", "sortDirection"];
    if let Some((k, _)) = params
        .iter()
        .find(|(k, _)| !SELECTION.contains(&k.as_str()) && !sort.contains(&k.as_str()))
    {
        let why = match k.as_str() {
            "commitId" | "versionId" => format!(
                "a download holds the records as they are now, not `{k}`'s: read those with GET /v1/sheets/{{id}}/records?{k}=..."
            ),
            _ => format!(
                "`{k}` is not taken by a download, which reads a selection ({}) and a sort (sortField, sortDirection) as CSV",
                SELECTION.join(", ")
            ),
        };
        return Err(AppError::bad_request(k, why));
    }
    let sorted = params.iter().any(|(k, _)| sort.contains(&k.as_str()));
    let rows = if sorted || params.iter().any(|(k, _)| SELECTION.contains(&k.as_str())) {
        let q = super::records::parse_query(&config, &params)?.0;
        crate::web::export::selected(&state, &s, q).await?
    } else {
        Rows::All
    };
    Ok(crate::web::export::csv_response(
        state.pool.clone(),
        s,
        config,
        rows,
        false,
    ))
}
