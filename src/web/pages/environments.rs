//! Environments (admins): list, create, rename, mark production, delete, switch; API keys.

use super::CsrfForm;
use super::{render_checked, see_other, Layout};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::ids::{ApiKeyId, EnvironmentId};
use crate::model::environment::{self, EnvironmentChanges};
use crate::model::{api_key, session, ModelError};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

pub struct EnvRow {
    pub id: String,
    pub name: String,
    pub is_prod: bool,
    pub keys: Vec<KeyRow>,
}

impl EnvRow {
    /// How many keys the page shows (revoked ones too): "Create secret key" sends it, so
    /// the same form sent again (a reload of the page that showed the new secret) makes no
    /// second key.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

pub struct KeyRow {
    pub id: String,
    pub hint: String,
    pub created: crate::web::when::When,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "environments/list.html")]
struct EnvironmentsPage {
    layout: Layout,
    envs: Vec<EnvRow>,
    new_secret: Option<(String, String)>,
    error: Option<String>,
}

async fn page(
    user: CurrentUser,
    state: &AppState,
    new_secret: Option<(String, String)>,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage environments and keys")?;
    let envs = state
        .db(|conn| {
            let mut rows = Vec::new();
            for e in environment::list(conn)? {
                let keys = api_key::list(conn, &e.id)?
                    .into_iter()
                    .map(|k| KeyRow {
                        id: k.id.to_string(),
                        hint: k.hint,
                        created: When::new(&k.created_at),
                        revoked: k.revoked_at.is_some(),
                    })
                    .collect();
                rows.push(EnvRow {
                    id: e.id.to_string(),
                    name: e.name,
                    is_prod: e.is_prod,
                    keys,
                });
            }
            Ok::<_, diesel::result::Error>(rows)
        })
        .await?;
    let failed = error.is_some();
    render_checked(
        &EnvironmentsPage {
            layout: Layout::new(&user, "Environments", "environments"),
            envs,
            new_secret,
            error: error.clone(),
        },
        failed,
    )
}

/// Back to the list after a change, or the list with the problem shown.
async fn after_change<T>(
    user: CurrentUser,
    state: &AppState,
    done: Result<T, AppError>,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(_) => Ok(see_other("/environments")),
        Err(AppError::Invalid(items)) => {
            page(user, state, None, items.first().map(|i| i.message.clone())).await
        }
        Err(AppError::Conflict(msg)) => page(user, state, None, Some(msg)).await,
        Err(e) => Err(e),
    }
}

pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    page(user, &state, None, None).await
}

#[derive(Deserialize)]
pub struct EnvForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    name: String,
    #[serde(default)]
    is_prod: Option<String>,
    /// The name and production flag as the page showed them (`on`/`off`): only what the
    /// person changed is saved, so a page opened before another admin's change does not
    /// undo it (probe 58b F6).
    #[serde(default)]
    was_name: Option<String>,
    #[serde(default)]
    was_prod: Option<String>,
}

pub async fn create(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: crate::web::input::Form<EnvForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage environments and keys")?;
    user.check_csrf(&form.csrf_token)?;
    let form = form.into_inner();
    let prod = form.is_prod.is_some();
    let done = state
        .db(move |conn| environment::create(conn, &form.name, prod, "{}", None))
        .await;
    after_change(user, &state, done).await
}

pub async fn update(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<EnvForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage environments and keys")?;
    user.check_csrf(&form.csrf_token)?;
    let id = EnvironmentId::parse(&path).ok_or(AppError::NotFound("environment"))?;
    let form = form.into_inner();
    let done = state
        .db(move |conn| crate::db::write_tx(conn, |conn| save_changes(conn, &id, form)))
        .await;
    after_change(user, &state, done).await
}

/// Saves what the form changes from what its page showed; a field someone else changed
/// since to another value is a conflict, said with its value now.
fn save_changes(
    conn: &mut crate::db::AnyConnection,
    id: &EnvironmentId,
    form: EnvForm,
) -> crate::model::ModelResult<environment::Environment> {
    let now = environment::find(conn, id)?.ok_or(crate::model::ModelError::NotFound("environment"))?;
    let (name, prod) = (form.name.trim().to_string(), form.is_prod.is_some());
    let was_name = form.was_name.map(|w| w.trim().to_string());
    let was_prod = form.was_prod.as_deref().map(|w| w == "on");
    // A field this form changed that someone else changed since, to another value.
    fn clash<T: PartialEq>(was: &Option<T>, given: &T, now: &T) -> bool {
        was.as_ref()
            .is_some_and(|was| was != given && was != now && given != now)
    }
    if clash(&was_name, &name, &now.name) || clash(&was_prod, &prod, &now.is_prod) {
        return Err(crate::model::ModelError::Conflict(format!(
            "someone changed this environment since the page was opened: it is now named `{}`{}; nothing was saved, see it below and try again",
            now.name,
            if now.is_prod { ", production" } else { ", not production" }
        )));
    }
    let changes = EnvironmentChanges {
        name: was_name.is_none_or(|was| was != name).then_some(form.name),
        is_prod: was_prod.is_none_or(|was| was != prod).then_some(prod),
        ..Default::default()
    };
    environment::update_in_tx(conn, id, changes)
}

/// Creates a key and shows its secret once.
#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf_token: String,
    /// How many keys the page showed (see [`EnvRow::key_count`]).
    #[serde(default)]
    keys_shown: Option<usize>,
}

pub async fn create_key(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<KeyForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage environments and keys")?;
    user.check_csrf(&form.csrf_token)?;
    let id = EnvironmentId::parse(&path).ok_or(AppError::NotFound("environment"))?;
    let shown = form.into_inner().keys_shown;
    let made = state
        .db(move |conn| {
            let env = environment::find(conn, &id)?.ok_or(ModelError::NotFound("environment"))?;
            // A key made since the page was shown: this is the same form sent again (probe
            // 57a: a reload made a second live key).
            let keys = api_key::list(conn, &env.id)?;
            if let (Some(shown), Some(newest)) = (shown, keys.first()) {
                if keys.len() > shown {
                    return Ok::<_, ModelError>(Err(format!(
                        "A key was made since this page was shown (sk_…{}, from this page, another tab or the command line), so this one was not: sending a page's form again makes no other. Revoke it below if nobody copied its secret; press Create secret key for another.",
                        newest.hint
                    )));
                }
            }
            let (_, secret) = api_key::create(conn, &env.id)?;
            Ok(Ok((env.name, secret)))
        })
        .await?;
    match made {
        Ok(secret) => page(user, &state, Some(secret), None).await,
        Err(again) => page(user, &state, None, Some(again)).await,
    }
}

/// Deletes an environment with its keys and space configs (the page asks to confirm first);
/// refused, with the reason on the page, while it holds spaces or is the last one.
pub async fn delete(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage environments and keys")?;
    user.check_csrf(&form.csrf_token)?;
    let id = EnvironmentId::parse(&path).ok_or(AppError::NotFound("environment"))?;
    let done = state
        .db(move |conn| environment::delete_if_unused(conn, &id))
        .await;
    after_change(user, &state, done).await
}

pub async fn revoke_key(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage environments and keys")?;
    user.check_csrf(&form.csrf_token)?;
    let id = ApiKeyId::parse(&path).ok_or(AppError::NotFound("key"))?;
    // Revoking a revoked key again is done; a key that never was is said so.
    let known = state
        .db(move |conn| Ok::<_, ModelError>(api_key::revoke(conn, &id)? > 0 || api_key::exists(conn, &id)?))
        .await?;
    if !known {
        return Err(AppError::NotFound("key"));
    }
    Ok(see_other("/environments"))
}

#[derive(Deserialize)]
pub struct SwitchForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    environment_id: String,
    /// A page of this site to open once switched (a 404's offer), else the spaces.
    next: Option<String>,
}

/// The top bar's switcher: every page then shows this environment.
pub async fn switch(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: crate::web::input::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let id = EnvironmentId::parse(&form.environment_id).ok_or(AppError::NotFound("environment"))?;
    if !user.environments.iter().any(|e| e.id == id) {
        return Err(AppError::NotFound("environment"));
    }
    let hash = user.session.token_hash.clone();
    state
        .db(move |conn| session::set_environment(conn, &hash, &id))
        .await?;
    let next = form.next.as_deref().and_then(super::elsewhere::safe_next);
    Ok(see_other(next.unwrap_or("/spaces")))
}
