//! Space configs: deploy (create or update by slug), list, get.

use super::{ok, path_id, stored_json};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::ids::SpaceConfigId;
use crate::model::iso;
use crate::model::space_config::{self, SpaceConfig};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub fn space_config_json(c: &SpaceConfig) -> Value {
    let blueprint = stored_json(&c.blueprint);
    json!({
        "id": c.id,
        "environmentId": c.environment_id,
        "name": c.name,
        "slug": c.slug,
        "workbooks": blueprint.get("workbooks").cloned().unwrap_or(json!([])),
        "createdAt": iso(&c.created_at),
        "updatedAt": iso(&c.updated_at),
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
}

/// The key's environment's space configs; another environment named is not found.
pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    super::spaces::check_environment(&caller.environment_id, q.environment_id.as_deref())?;
    let configs = state
        .db(move |conn| space_config::list(conn, &caller.environment_id))
        .await?;
    Ok(ok(configs.iter().map(space_config_json).collect::<Vec<_>>()))
}

pub async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SpaceConfigId::parse, "space config")?;
    let config = state
        .db(move |conn| space_config::find(conn, &caller.environment_id, &id))
        .await?
        .ok_or(AppError::NotFound("space config"))?;
    Ok(ok(space_config_json(&config)))
}

/// Deletes a space config no space was created from; 409 naming how many were.
pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SpaceConfigId::parse, "space config")?;
    state
        .db(move |conn| space_config::delete_if_unused(conn, &caller.environment_id, &id))
        .await?;
    Ok(super::success())
}

/// Deploys a blueprint; every problem comes back with its JSON path as the error key.
pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: crate::web::input::Json<crate::blueprint::StrictJson>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner().0;
    // A key deploys into its own environment; naming another is a mistake, not a hint.
    if let Some(given) = body.get("environmentId").filter(|v| !v.is_null()) {
        let named = given
            .as_str()
            .and_then(crate::ids::EnvironmentId::parse)
            .ok_or_else(|| {
                AppError::bad_request("environmentId", format!("{given} is not an environment id"))
            })?;
        if named != caller.environment_id {
            return Err(AppError::NotFound("environment"));
        }
    }
    crate::blueprint::actions::check_space_config_actions(&body).map_err(AppError::malformed)?;
    let (config, _) = state
        .db(move |conn| space_config::deploy(conn, &caller.environment_id, &body).map_err(AppError::from))
        .await?;
    Ok(ok(space_config_json(&config)))
}
