//! The event log, newest last.

use super::{given_id, ok, paging, path_id, stored_json};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::ids::{EventId, SpaceId};
use crate::model::event::{self, Event, Filter};
use crate::model::iso;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn event_json(e: &Event) -> Value {
    let payload = stored_json(&e.payload);
    let mut v = json!({
        "id": e.public_id(),
        "topic": e.topic,
        "domain": e.topic.split(':').next(),
        "context": {
            "environmentId": e.environment_id,
            "spaceId": e.space_id,
            "workbookId": e.workbook_id,
            "sheetId": e.sheet_id,
            "actorId": e.actor,
        },
        "createdAt": iso(&e.created_at),
        "acknowledgedAt": Value::Null,
    });
    // File and job events name their file and job in the context, as Flatfile's do.
    for key in ["fileId", "jobId"] {
        if let Some(id) = payload.get(key).filter(|id| !id.is_null()) {
            v["context"][key] = id.clone();
        }
    }
    v["payload"] = payload;
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    space_id: Option<String>,
    topic: Option<String>,
    domain: Option<String>,
    since: Option<String>,
    page_size: Option<i64>,
    page_number: Option<i64>,
}

pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (size, number) = paging(q.page_size, q.page_number, 100, 1000)?;
    let q = q.into_inner();
    let since = q
        .since
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.naive_utc())
                .map_err(|_| AppError::bad_request("since", format!("`{s}` is not an ISO 8601 timestamp")))
        })
        .transpose()?;
    let filter = Filter {
        space_id: q
            .space_id
            .as_deref()
            .map(|t| given_id(t, SpaceId::parse, "spaceId"))
            .transpose()?,
        topic: q.topic,
        domain: q.domain,
        since,
        page_size: size,
        page_number: number,
    };
    let env = caller.environment_id.clone();
    let events = state.db(move |conn| event::list(conn, &env, &filter)).await?;
    Ok(ok(events.iter().map(event_json).collect::<Vec<_>>()))
}

pub async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, EventId::parse, "event")?;
    let env = caller.environment_id.clone();
    let e = state
        .db(move |conn| event::find(conn, &env, id))
        .await?
        .ok_or(AppError::NotFound("event"))?;
    Ok(ok(event_json(&e)))
}
