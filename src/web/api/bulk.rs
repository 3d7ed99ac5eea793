//! Bulk changes in Flatfile's shapes: `PUT /v1/sheets/{id}/find-replace`
//! (`records.findAndReplace`) and `PATCH /v1/sheets/{id}/records/bulk-update`
//! (`records.bulkUpdate`), over the usual selection (`filter`, `filterField`,
//! `searchValue`, `searchField`, `ids`, `q`). Each is one transaction and one commit;
//! the answer is its version (`{data: {versionId}}`, the commit's id).

use super::records::{check_access, hooks_of, on_fresh_fields, parse_selection, writable};
use crate::app::AppState;
use crate::auth::SpaceCaller;
use crate::jobs::bulk_change;
use crate::model::commit::Hooks;
use crate::model::job;
use crate::model::record::bulk::{self, Change};
use crate::model::sheet::SheetContext;
use crate::web::error::AppError;
use crate::web::input::Json;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn field(ctx: &SheetContext, key: &str) -> Result<usize, AppError> {
    ctx.config
        .field_index(key)
        .ok_or_else(|| AppError::invalid("fieldKey", format!("this sheet has no field `{key}`")))
}

/// The parameters the official client sends with a bulk change. Any other is refused: one
/// misspelt (`fliter`, `query`) was dropped, and what was left changed every record.
const KNOWN_PARAMS: [&str; 9] = [
    "filter",
    "filterField",
    "searchValue",
    "searchField",
    "ids",
    "q",
    "sortField",
    "sortDirection",
    "silent",
];

fn refuse_unknown(params: &[(String, String)]) -> Result<(), AppError> {
    if let Some(blank) = crate::model::record::selection::blank_search(params) {
        return Err(AppError::invalid("q", blank));
    }
    match params.iter().find(|(k, _)| !KNOWN_PARAMS.contains(&k.as_str())) {
        Some((k, _)) => Err(AppError::bad_request(
            k,
            format!(
                "`{k}` is not a parameter of a bulk change (it takes {}); left out, the change would select every record",
                KNOWN_PARAMS.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// Runs the change; a commit not announced to hooks still gives the change its version.
/// More records than one transaction takes: a `workbook:bulk-change` job, answered 202
/// with its id (the version is the job's).
async fn run(
    req: &HttpRequest,
    caller: &SpaceCaller,
    state: &AppState,
    ctx: SheetContext,
    params: &[(String, String)],
    changes: Vec<(usize, Change)>,
) -> Result<HttpResponse, AppError> {
    refuse_unknown(params)?;
    let q = parse_selection(&ctx.config, params)?.0;
    if let Some(message) = changes.iter().find_map(|(_, c)| c.too_big()) {
        return Err(AppError::invalid("value", message));
    }
    if ctx
        .config
        .fields
        .iter()
        .enumerate()
        .any(|(i, f)| f.computed && changes.iter().any(|(c, _)| *c == i))
    {
        return Err(AppError::invalid(
            "fieldKey",
            "a computed field cannot be changed",
        ));
    }
    // Read-only fields are the team's (and its listener code's) to change.
    let guest = caller.guest_spaces().is_some();
    if let Some((_, f)) = ctx
        .config
        .fields
        .iter()
        .enumerate()
        .find(|(i, f)| guest && f.readonly && changes.iter().any(|(c, _)| c == i))
    {
        return Err(AppError::Forbidden(format!(
            "{} is read-only: a guest cannot change it",
            f.display_name()
        )));
    }
    let hooks = match hooks_of(req, caller) {
        Hooks::Skip => Hooks::Quiet,
        other => other,
    };
    let actor = caller.actor();
    let sheet_id = ctx.sheet.id.clone();
    let (c, ch, who) = (ctx.clone(), changes.clone(), actor.clone());
    let done = state
        .db(move |conn| bulk::apply(conn, &c, &q, &ch, &who, &hooks))
        .await?;
    // Too many records (or more than a moment ago): a job, in batches.
    let Some(done) = done else {
        return start_job(state, &actor, ctx, params, changes).await;
    };
    if done.changed > 0 {
        state.live.publish(&sheet_id, None);
    }
    let version = done.commit.map(|c| c.to_string());
    Ok(super::ok(json!({
        "versionId": version.clone().unwrap_or_else(|| "us_vr_unchanged".into()),
        "commitId": version,
        "changed": done.changed,
        "bulkChangeId": done.bulk,
    })))
}

async fn start_job(
    state: &AppState,
    actor: &str,
    ctx: SheetContext,
    params: &[(String, String)],
    changes: Vec<(usize, Change)>,
) -> Result<HttpResponse, AppError> {
    let named: Vec<(String, Change)> = changes
        .into_iter()
        .map(|(i, c)| (ctx.config.fields[i].key.clone(), c))
        .collect();
    let config = bulk_change::config(ctx.sheet.id.as_str(), &named, params);
    let input = bulk_change::job_input(&ctx, "bulk-change", config);
    let actor = actor.to_string();
    let job = state.db(move |conn| job::create(conn, input, &actor)).await?;
    state.jobs.wake();
    state.live.publish_job(&job.id, job.space_id.as_ref());
    Ok(HttpResponse::Accepted().json(json!({"data": {
        "versionId": job.id,
        "commitId": null,
        "jobId": job.id,
        "changed": null,
    }})))
}

/// Flatfile's `FindAndReplaceRecordRequest`: `find` and `replace` are any cell value (text,
/// a number, true or false), compared by what a cell shows. Its keys only: a misspelt
/// `replace` would otherwise replace with nothing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindReplace {
    find: Option<Value>,
    replace: Option<Value>,
    field_key: String,
}

/// A cell value of a find or a replace as the text a cell shows.
fn shown(key: &str, value: Option<Value>) -> Result<String, AppError> {
    Change::text_of(value.as_ref()).map_err(|why| AppError::invalid(key, format!("{key} {why}")))
}

pub async fn find_replace(
    req: HttpRequest,
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
    body: Json<FindReplace>,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    check_access(&caller, &ctx, "edit")?;
    let body = body.into_inner();
    let find = shown("find", body.find)?;
    // `"quoted"`: the whole value, as Flatfile's search takes it.
    let (find, whole) = match find.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
        Some(inner) if find.len() >= 2 => (inner.to_string(), true),
        _ => (find, false),
    };
    if find.is_empty() && !whole {
        return Err(AppError::invalid(
            "find",
            "say what to find (\"\" finds empty cells)",
        ));
    }
    let replace = shown("replace", body.replace)?;
    on_fresh_fields(&state, &caller, &path, ctx, async |ctx| {
        let index = field(&ctx, &body.field_key)?;
        // Flatfile's find-replace matches case.
        let change = Change::Replace {
            find: find.clone(),
            replace: replace.clone(),
            whole,
            any_case: false,
        };
        run(&req, &caller, &state, ctx, &params, vec![(index, change)]).await
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkUpdate {
    field_updates: BTreeMap<String, Value>,
}

pub async fn bulk_update(
    req: HttpRequest,
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
    body: Json<BulkUpdate>,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    check_access(&caller, &ctx, "edit")?;
    let body = body.into_inner();
    if body.field_updates.is_empty() {
        return Err(AppError::invalid(
            "fieldUpdates",
            "name at least one field to set",
        ));
    }
    on_fresh_fields(&state, &caller, &path, ctx, async |ctx| {
        let mut changes = Vec::new();
        for (key, cell) in &body.field_updates {
            let index = field(&ctx, key).map_err(|_| {
                AppError::invalid(
                    &format!("fieldUpdates.{key}"),
                    format!("this sheet has no field `{key}`"),
                )
            })?;
            // A bulk change sets values, which Wharf checks; messages are listener code's to
            // put on cells with an update, not dropped unseen here (probe 57d).
            if cell["messages"].as_array().is_some_and(|m| !m.is_empty()) {
                return Err(AppError::invalid(
                    &format!("fieldUpdates.{key}.messages"),
                    "a bulk update sets values, which Wharf checks; put messages on cells with PUT /v1/sheets/{id}/records",
                ));
            }
            // Flatfile's `{value}` cell, or a bare value.
            let value = Change::value_of(cell)
                .map_err(|why| AppError::invalid(&format!("fieldUpdates.{key}"), why))?;
            changes.push((index, Change::Set(value)));
        }
        run(&req, &caller, &state, ctx, &params, changes).await
    })
    .await
}

/// `POST /v1/sheets/{id}/validate`: re-checks every record of the sheet.
pub async fn validate(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    // A re-check rewrites the sheet's records: a guest needs to be let edit them.
    super::records::check_access(&caller, &ctx, "edit")?;
    let actor = caller.actor();
    let sheet_id = ctx.sheet.id.clone();
    // A big sheet is re-checked in the background, as a field change's records are: a
    // request of minutes would outlast the load balancer and the client both.
    if ctx.sheet.total_count > bulk::MAX_RECORDS as i64 {
        let job = state
            .db(move |conn| crate::model::sheet_fields::queue_validation(conn, &ctx, &actor))
            .await?;
        state.jobs.wake();
        return Ok(HttpResponse::Accepted().json(json!({"data": {"success": true, "jobId": job.id}})));
    }
    let checked = state.db(move |conn| bulk::revalidate(conn, &ctx, &actor)).await?;
    state.live.publish(&sheet_id, None);
    Ok(super::ok(json!({"success": true, "checked": checked})))
}
