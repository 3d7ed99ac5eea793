//! Documents of a space (`documents.*` of `@flatfile/api`): `GET`/`POST
//! /v1/spaces/{spaceId}/documents`, `GET`/`PATCH`/`DELETE .../documents/{documentId}`.
//! A guest reads its spaces' documents; writing them is the team's.

use super::records::refuse_guest;
use super::{ok, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::blueprint;
use crate::ids::{DocumentId, SpaceId};
use crate::model::document::{self, Document, DocumentChanges};
use crate::model::{iso, space};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

fn document_json(d: &Document) -> Value {
    json!({
        "id": d.id,
        "title": d.title,
        "body": d.body,
        "treatments": stored_json(&d.treatments),
        "actions": stored_json(&d.actions),
        "spaceId": d.space_id,
        "environmentId": d.environment_id,
        "createdAt": iso(&d.created_at),
        "updatedAt": iso(&d.updated_at),
    })
}

/// The space named in the path, reached by the caller (another's: 404).
async fn space_of(state: &AppState, caller: &SpaceCaller, raw: &str) -> Result<SpaceId, AppError> {
    let id = path_id(raw, SpaceId::parse, "space")?;
    caller.check_reach(&id)?;
    let (env, sid) = (caller.environment_id.clone(), id.clone());
    state
        .db(move |conn| space::find(conn, &env, &sid))
        .await?
        .ok_or(AppError::NotFound("space"))?;
    Ok(id)
}

async fn load(
    state: &AppState,
    caller: &SpaceCaller,
    raw_space: &str,
    raw_id: &str,
) -> Result<Document, AppError> {
    let sid = space_of(state, caller, raw_space).await?;
    let id = path_id(raw_id, DocumentId::parse, "document")?;
    let env = caller.environment_id.clone();
    state
        .db(move |conn| document::find(conn, &env, &sid, &id))
        .await?
        .ok_or(AppError::NotFound("document"))
}

#[derive(Deserialize)]
pub struct Body {
    title: Option<String>,
    body: Option<String>,
    treatments: Option<Vec<String>>,
    actions: Option<Value>,
}

/// The changes a body asks for, checked (422 naming the field).
fn changes_of(b: Body) -> Result<DocumentChanges, AppError> {
    if let Some((field, message)) = document::problem(b.title.as_deref(), b.body.as_deref()) {
        return Err(AppError::invalid(field, message));
    }
    if let Some(actions) = &b.actions {
        blueprint::check_actions(actions, "$.actions").map_err(AppError::malformed)?;
    }
    let lists = [
        ("treatments", json!(b.treatments).to_string()),
        ("actions", json!(b.actions).to_string()),
    ];
    if let Some((field, _)) = lists.iter().find(|(_, text)| text.len() > 64 * 1024) {
        return Err(AppError::invalid(
            field,
            format!("a document's {field} must fit in 64 KiB"),
        ));
    }
    Ok(DocumentChanges {
        title: b.title,
        body: b.body,
        treatments: b.treatments.map(|t| json!(t).to_string()),
        actions: b.actions.map(|a| a.to_string()),
        updated_at: None,
    })
}

pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sid = space_of(&state, &caller, &path).await?;
    let docs = state.db(move |conn| document::list_in_space(conn, &sid)).await?;
    let data: Vec<Value> = docs.iter().map(document_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}

pub async fn create(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<Body>,
) -> Result<HttpResponse, AppError> {
    refuse_guest(&caller, "write documents")?;
    let sid = space_of(&state, &caller, &path).await?;
    let b = body.into_inner();
    if b.title.is_none() {
        return Err(AppError::invalid("title", "a document needs a title"));
    }
    let changes = changes_of(b)?;
    let (env, actor) = (caller.environment_id.clone(), caller.actor());
    let d = state
        .db(move |conn| document::create(conn, &env, &sid, changes, &actor))
        .await?;
    Ok(ok(document_json(&d)))
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (space, id) = path.into_inner();
    Ok(ok(document_json(&load(&state, &caller, &space, &id).await?)))
}

pub async fn update(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: crate::web::input::Json<Body>,
) -> Result<HttpResponse, AppError> {
    refuse_guest(&caller, "write documents")?;
    let (space, id) = path.into_inner();
    let d = load(&state, &caller, &space, &id).await?;
    let changes = changes_of(body.into_inner())?;
    let actor = caller.actor();
    let d = state
        .db(move |conn| document::update(conn, &d, changes, &actor))
        .await?;
    Ok(ok(document_json(&d)))
}

pub async fn delete(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    refuse_guest(&caller, "delete documents")?;
    let (space, id) = path.into_inner();
    let d = load(&state, &caller, &space, &id).await?;
    let actor = caller.actor();
    state.db(move |conn| document::delete(conn, &d, &actor)).await?;
    Ok(success())
}
