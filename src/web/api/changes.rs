//! A sheet's changes since a point: `GET /v1/sheets/{id}/changes?afterId=&since=&pageSize=`,
//! oldest first, each with who made it, when, the field, its old and new input value and
//! the record's version after it. Poll with `afterId` = the last `id` seen; a page of big
//! values ends before `pageSize` once it holds 64 MiB of them.

use super::{ok, paging, path_id};
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::ids::{RecordId, SheetId};
use crate::model::iso;
use crate::model::record::history::{self, Change};
use crate::model::sheet;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Most bytes of values one page holds: the 64 MiB a page of records may hold.
const PAGE_BYTES: usize = crate::model::record::PAGE_BYTES;

pub fn change_json(c: &Change) -> Value {
    json!({
        "id": c.id,
        "recordId": RecordId(c.record_id),
        "field": c.field,
        "oldValue": c.old(),
        "newValue": c.new_value(),
        "versionId": format!("us_vr_{}", c.version),
        "actorId": c.actor,
        "createdAt": iso(&c.created_at),
    })
}

/// Any other parameter is a 400 (probe 69b D4: `pageNumber` was passed over, and a client
/// paging by number read the first page forever): this list pages with `afterId`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangesQuery {
    /// Read as text so that a number past 64 bits gets a message naming the parameter.
    after_id: Option<String>,
    since: Option<String>,
    page_size: Option<i64>,
}

pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ChangesQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SheetId::parse, "sheet")?;
    let q = q.into_inner();
    let (size, _) = paging(q.page_size, None, 1000, 10_000)?;
    let since = q
        .since
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.naive_utc())
                .map_err(|_| AppError::bad_request("since", format!("`{t}` is not an ISO 8601 time")))
        })
        .transpose()?;
    let after_id = q
        .after_id
        .as_deref()
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                AppError::bad_request(
                    "afterId",
                    format!("`{a}` is not a change id: use an `id` from this list"),
                )
            })
        })
        .transpose()?;
    let env = caller.environment_id.clone();
    let changes = state
        .db(move |conn| {
            let (_, space) = sheet::find(conn, &env, &id)?.ok_or(AppError::NotFound("sheet"))?;
            caller.check_reach_as(&space, "sheet")?;
            Ok::<_, AppError>(history::of_sheet(conn, &id, after_id, since, size, PAGE_BYTES)?)
        })
        .await?;
    Ok(ok(changes.iter().map(change_json).collect::<Vec<_>>()))
}
