//! Environments are account-level: any key sees the list; everything inside an environment
//! is visible only to that environment's keys.

use super::{ok, paging, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::db::AnyConnection;
use crate::ids::EnvironmentId;
use crate::model::environment::{self, Environment, EnvironmentChanges};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn environment_json(e: &Environment) -> Value {
    json!({
        "id": e.id,
        "accountId": "us_acc_wharf",
        "name": e.name,
        "isProd": e.is_prod,
        "guestAuthentication": ["magic_link"],
        "features": {},
        "metadata": stored_json(&e.metadata),
        "namespaces": [],
        "createdAt": crate::model::iso(&e.created_at),
        "updatedAt": crate::model::iso(&e.updated_at),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    page_size: Option<i64>,
    page_number: Option<i64>,
}

pub async fn list(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (size, number) = paging(q.page_size, q.page_number, 50, 1000)?;
    let all = state.db(environment::list).await?;
    let total = all.len() as i64;
    let page: Vec<Value> = all
        .iter()
        .skip((number - 1).saturating_mul(size) as usize)
        .take(size as usize)
        .map(environment_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"data": page, "pagination": super::pagination(total, size, number)})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    is_prod: bool,
    metadata: Option<Value>,
    guest_authentication: Option<Value>,
    namespaces: Option<Value>,
}

pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: crate::web::input::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    super::metadata::check(body.metadata.as_ref())?;
    super::unkept::guest_authentication(body.guest_authentication.as_ref())?;
    super::unkept::environment_namespaces(body.namespaces.as_ref())?;
    let metadata = body.metadata.unwrap_or(json!({})).to_string();
    let env = state
        .db(move |conn| {
            environment::create(
                conn,
                &body.name,
                body.is_prod,
                &metadata,
                Some(caller.key_id.as_str()),
            )
        })
        .await?;
    Ok(ok(environment_json(&env)))
}

pub async fn get(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, EnvironmentId::parse, "environment")?;
    let env = state
        .db(move |conn| environment::find(conn, &id))
        .await?
        .ok_or(AppError::NotFound("environment"))?;
    Ok(ok(environment_json(&env)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    name: Option<String>,
    is_prod: Option<bool>,
    metadata: Option<Value>,
    guest_authentication: Option<Value>,
    namespaces: Option<Value>,
}

/// A key manages its own environment; another one only while that one holds nothing and
/// this key created it (say, through `environments.create` a moment ago). Anything more is
/// for an admin in the dashboard. Checked in the write's transaction, so nothing can move in
/// between.
fn check_may_manage(
    conn: &mut AnyConnection,
    caller: &ApiCaller,
    id: &EnvironmentId,
) -> Result<(), AppError> {
    if id == &caller.environment_id {
        return Ok(());
    }
    let env = environment::find(conn, id)?.ok_or(AppError::NotFound("environment"))?;
    if env.created_by_key.as_deref() != Some(caller.key_id.as_str()) {
        return Err(AppError::Forbidden(
            "this key belongs to another environment; a key changes or deletes only its own environment, or one it created that holds nothing yet. An admin manages the others on the dashboard's Environments page".into(),
        ));
    }
    if !environment::holds_nothing(conn, id)? {
        return Err(AppError::Forbidden(
            "this environment already holds keys, space configs, spaces, secrets, webhooks, guests, files or jobs; a key of another environment can no longer change or delete it. An admin can, on the dashboard's Environments page".into(),
        ));
    }
    Ok(())
}

/// Flatfile answers an environment update with the bare environment, not in `data`.
pub async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, EnvironmentId::parse, "environment")?;
    let body = body.into_inner();
    super::metadata::check(body.metadata.as_ref())?;
    super::unkept::guest_authentication(body.guest_authentication.as_ref())?;
    super::unkept::environment_namespaces(body.namespaces.as_ref())?;
    let changes = EnvironmentChanges {
        name: body.name,
        is_prod: body.is_prod,
        metadata: body.metadata.map(|m| m.to_string()),
        updated_at: None,
    };
    let env = state
        .db(move |conn| {
            crate::db::write_tx::<_, AppError, _>(conn, |conn| {
                check_may_manage(conn, &caller, &id)?;
                Ok(environment::update_in_tx(conn, &id, changes)?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(environment_json(&env)))
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, EnvironmentId::parse, "environment")?;
    if id == caller.environment_id {
        return Err(AppError::Conflict(
            "a key cannot delete its own environment; an admin can delete it on the dashboard's Environments page once it holds no spaces".into(),
        ));
    }
    state
        .db(move |conn| {
            crate::db::write_tx::<_, AppError, _>(conn, |conn| {
                check_may_manage(conn, &caller, &id)?;
                Ok(environment::delete(conn, &id)?)
            })
        })
        .await?;
    Ok(success())
}
