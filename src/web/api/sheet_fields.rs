//! A sheet's fields and names: `POST /v1/sheets/{id}/fields` (`sheets.addField`),
//! `DELETE /v1/sheets/{id}/fields/{key}` (`sheets.removeField`) and `PATCH
//! /v1/sheets/{id}` (`sheets.updateSheet`). Callers who may write the sheet's records may
//! add fields (a locked sheet: secret keys only); removing fields and renaming the sheet are
//! the team's (a guest removing a required field would beat `hasAllValid`). Field changes queue a
//! `sheet:recheck-records` job that re-checks every record in the background.

use super::records::writable;
use super::sheets::sheet_json;
use crate::app::AppState;
use crate::auth::SpaceCaller;
use crate::model::job::Job;
use crate::model::sheet_fields::{self, SheetUpdate};
use crate::web::error::AppError;
use crate::web::input::Json;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest field a caller adds, as JSON (a blueprint's field is a few hundred bytes).
const MAX_FIELD: usize = 64 * 1024;

/// The sheet's shape is the team's blueprint: a guest adds a field at most.
fn team_only(caller: &SpaceCaller, what: &str) -> Result<(), AppError> {
    match caller.guest_spaces() {
        Some(_) => Err(AppError::Forbidden(format!(
            "a guest cannot {what}: the sheet's fields are the team's"
        ))),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddFieldQuery {
    insert_at_index: Option<String>,
}

/// Adds a field at `insertAtIndex` of the sheet's fields (the end when not given); answers
/// `{data: Property}`.
pub async fn add(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<AddFieldQuery>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    // A field changes every record (a required one makes each an error): a guest needs to
    // be let edit the sheet's records.
    super::records::check_access(&caller, &ctx, "edit")?;
    let mut property = body.into_inner();
    // A client building the field may put its position in the body rather than the query:
    // it is the position either way, never part of the field.
    let in_body = property.as_object_mut().and_then(|p| p.remove("insertAtIndex"));
    if property.to_string().len() > MAX_FIELD {
        return Err(AppError::invalid(
            "$",
            format!("a field is at most {} KiB of JSON", MAX_FIELD / 1024),
        ));
    }
    crate::blueprint::parse_one_field(&property, "$").map_err(AppError::malformed)?;
    let given = match (query.insert_at_index.clone(), in_body) {
        (Some(raw), _) => Some(raw),
        (None, None | Some(Value::Null)) => None,
        (None, Some(Value::String(raw))) => Some(raw),
        (None, Some(other)) => Some(other.to_string()),
    };
    let at = match given.as_deref() {
        None => None,
        Some(raw) => Some(raw.trim().parse::<usize>().map_err(|_| {
            AppError::bad_request(
                "insertAtIndex",
                format!("`{raw}` is not a field position (0, 1, ...)"),
            )
        })?),
    };
    let (env, id, actor) = (ctx.environment_id.clone(), ctx.sheet.id.clone(), caller.actor());
    let stored = property.clone();
    // A field put among the others moves every record's later cells (and sort keys): the
    // sheet's indexes are built again after, not kept up.
    let fields = ctx.config.fields.len();
    // An addition that will be refused (a key the sheet has, a lock, a reference to
    // nothing) sets nothing aside: asking again and again must not rebuild the indexes.
    let moves = at.is_some_and(|at| at < fields);
    let (seq, records, indexer) = (ctx.sheet.seq, ctx.sheet.total_count, state.indexer.clone());
    let (aside, added) = state
        .db(move |conn| {
            let aside = moves
                && sheet_fields::check_addition(conn, &env, &id, &property, at, &actor).is_ok()
                && indexer.set_aside(conn, seq, records)?;
            Ok::<_, AppError>((
                aside,
                sheet_fields::add_field(conn, &env, &id, &property, at, &actor),
            ))
        })
        .await?;
    if aside {
        state
            .indexer
            .request_all(&state.pool, seq, fields + added.is_ok() as usize, records);
    }
    let job = added?;
    started(&state, &job, &ctx.sheet.id);
    Ok(super::ok(stored))
}

/// Removes a field and its values from every record; answers `{data: {success: true}}`.
pub async fn remove(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (raw_id, key) = path.into_inner();
    let ctx = writable(&state, &caller, &raw_id).await?;
    team_only(&caller, "remove a field")?;
    let (env, id, actor) = (ctx.environment_id.clone(), ctx.sheet.id.clone(), caller.actor());
    let (seq, records) = (ctx.sheet.seq, ctx.sheet.total_count);
    // A removal refused at once (a key the sheet lacks, its last field) sets nothing aside.
    let removable = ctx.config.field_index(&key).is_some() && ctx.config.fields.len() > 1;
    let (indexer, pool) = (state.indexer.clone(), state.pool.clone());
    let (aside, removed) = state
        .db(move |conn| {
            // Every record is rewritten: its indexes are built again after, not kept up.
            let aside = removable && indexer.set_aside(conn, seq, records)?;
            let removed = sheet_fields::remove_field(conn, &env, &id, &key, &actor);
            if removed.is_ok() {
                let left = crate::model::sheet::field_count(conn, seq)?;
                indexer.drop_past(conn, &pool, seq, left)?;
            }
            Ok::<_, AppError>((aside, removed))
        })
        .await?;
    if aside {
        let fields = ctx.config.fields.len().saturating_sub(removed.is_ok() as usize);
        state.indexer.request_all(&state.pool, seq, fields, records);
    }
    let job = removed?;
    started(&state, &job, &ctx.sheet.id);
    Ok(super::ok(json!({"success": true, "jobId": job.id})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    name: Option<String>,
    slug: Option<String>,
    /// `Some(Null)` when given as `null` (which empties it), `None` when not given.
    #[serde(default, deserialize_with = "super::records::given")]
    metadata: Option<Value>,
}

/// Changes a sheet's name, slug or metadata; answers `{data: Sheet}`.
pub async fn update(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    team_only(&caller, "rename a sheet or change its metadata")?;
    let mut body = body.into_inner();
    if body.metadata == Some(Value::Null) {
        body.metadata = Some(json!({}));
    }
    if let Some(message) = body.metadata.as_ref().and_then(super::records::not_an_object) {
        return Err(AppError::invalid("metadata", message));
    }
    // As a space's or workbook's: every workbook list sends each sheet's (probe 65f D6).
    super::metadata::check(body.metadata.as_ref())?;
    let change = SheetUpdate {
        name: body.name,
        slug: body.slug,
        metadata: body.metadata,
    };
    let (env, id, actor) = (ctx.environment_id.clone(), ctx.sheet.id.clone(), caller.actor());
    let sheet = state
        .db(move |conn| sheet_fields::update_sheet(conn, &env, &id, change, &actor))
        .await?;
    state.live.publish(&sheet.id, None);
    Ok(super::ok(sheet_json(&sheet)))
}

/// Wakes the workers for the re-check and tells whoever shows the sheet and the job.
fn started(state: &AppState, job: &Job, sheet: &crate::ids::SheetId) {
    state.jobs.wake();
    state.live.publish_job(&job.id, job.space_id.as_ref());
    state.live.publish(sheet, None);
}
