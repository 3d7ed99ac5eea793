//! Secrets for listener code: `GET /v1/secrets` (`environmentId`, `spaceId`), `POST` and
//! `DELETE /v1/secrets/{id}`, as `event.secrets(name)` and `@flatfile/api` call them.
//! Secret keys only; values go nowhere else (no event, no page, no log line).

use super::{given_id, ok, path_id};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::ids::{EnvironmentId, SecretId, SpaceId};
use crate::model::secret::{self, Secret};
use crate::model::{space, ModelError};
use crate::web::error::AppError;
use crate::web::input::Json;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

fn secret_json(s: &Secret) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "value": s.value,
        "environmentId": s.environment_id,
        "spaceId": s.space_id,
    })
}

/// The caller's environment (another one named is not found) and a space of it, if named.
async fn scope(
    state: &AppState,
    caller: &ApiCaller,
    environment_id: Option<&str>,
    space_id: Option<&str>,
) -> Result<Option<SpaceId>, AppError> {
    if let Some(text) = environment_id {
        if given_id(text, EnvironmentId::parse, "environmentId")? != caller.environment_id {
            return Err(AppError::NotFound("environment"));
        }
    }
    let Some(text) = space_id.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let id = given_id(text, SpaceId::parse, "spaceId")?;
    let env = caller.environment_id.clone();
    let found = {
        let id = id.clone();
        state.db(move |conn| space::find(conn, &env, &id)).await?
    };
    found.map(|_| Some(id)).ok_or(AppError::NotFound("space"))
}

async fn visible(
    state: &AppState,
    env: EnvironmentId,
    space: Option<SpaceId>,
) -> Result<HttpResponse, AppError> {
    let list = state
        .db(move |conn| secret::visible(conn, &env, space.as_ref()))
        .await?;
    Ok(ok(list.iter().map(secret_json).collect::<Vec<_>>()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
    space_id: Option<String>,
    /// `@flatfile/listener`'s `event.secrets()` always names the event's actor. Wharf has
    /// no actor's secrets, so an actor reads the space's and the environment's.
    #[serde(rename = "actorId")]
    _actor_id: Option<String>,
}

/// Flatfile scopes a secret to an actor too; Wharf keeps secrets per environment and
/// space only. Refused rather than widened: an actor's secret would reach every listener
/// of the environment, and two actors' secrets of one name would replace each other.
fn refuse_actor(actor_id: Option<&str>) -> Result<(), AppError> {
    match actor_id.filter(|a| !a.is_empty()) {
        Some(_) => Err(AppError::invalid(
            "actorId",
            "Wharf keeps secrets per environment or space, not per actor: leave out actorId (a secret named for an actor would reach every listener of the environment)",
        )),
        None => Ok(()),
    }
}

pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let space = scope(
        &state,
        &caller,
        q.environment_id.as_deref(),
        q.space_id.as_deref(),
    )
    .await?;
    visible(&state, caller.environment_id.clone(), space).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    name: String,
    value: String,
    environment_id: Option<String>,
    space_id: Option<String>,
    actor_id: Option<String>,
}

/// Sets a secret; a second one of the same name and scope replaces its value. Answers the
/// secrets of that scope, as Flatfile's does.
pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    refuse_actor(body.actor_id.as_deref())?;
    let space = scope(
        &state,
        &caller,
        body.environment_id.as_deref(),
        body.space_id.as_deref(),
    )
    .await?;
    let name = body.name.trim().to_string();
    secret::check(&name, &body.value).map_err(|(key, message)| AppError::invalid(key, message))?;
    let env = caller.environment_id.clone();
    let (e, s) = (env.clone(), space.clone());
    let actor = caller.actor();
    state
        .db(move |conn| secret::set(conn, &e, s.as_ref(), &name, &body.value, &actor))
        .await?;
    visible(&state, env, space).await
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SecretId::parse, "secret")?;
    let env = caller.environment_id.clone();
    let actor = caller.actor();
    let gone = state
        .db(move |conn| {
            let found = secret::find(conn, &env, &id)?.ok_or(ModelError::NotFound("secret"))?;
            secret::delete(conn, &found, &actor)?;
            Ok::<_, ModelError>(found)
        })
        .await?;
    visible(&state, caller.environment_id.clone(), gone.space_id).await
}
