//! Renaming a space from its page (probe 57a: only the API could), with the API's rules;
//! a name someone else gave it since the page was opened is not overwritten unseen (probe
//! 72b D3: the last of two tabs won silently).

use super::see_other;
use super::spaces::{show_tab, Beside};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::ids::SpaceId;
use crate::model::space::{self, SpaceChanges};
use crate::model::ModelError;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf_token: String,
    name: String,
    /// The name the page showed.
    was_name: Option<String>,
}

pub async fn rename(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<RenameForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    let RenameForm { name, was_name, .. } = form.into_inner();
    let (env, actor, typed) = (user.environment.id.clone(), user.actor(), name.clone());
    let done = state
        .db(move |conn| {
            crate::db::write_tx(conn, |conn| {
                // Two renames at once: the second reads the first's name (probe 76a D5).
                space::lock(conn, &id)?;
                let s = space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
                let renamed_since = was_name.is_some_and(|was| was != s.name && name.trim() != s.name);
                if renamed_since {
                    return Err(ModelError::Conflict(format!(
                        "someone renamed this space to “{}” since the page was opened; nothing was saved",
                        s.name
                    )));
                }
                let changes = SpaceChanges {
                    name: Some(name),
                    ..Default::default()
                };
                space::update(conn, &s, changes, None, &actor)
            })
        })
        .await;
    let message = match done {
        Ok(s) => return Ok(see_other(&format!("/spaces/{}", s.id))),
        Err(AppError::Invalid(items)) => items.first().map(|i| i.message.clone()),
        Err(AppError::Conflict(message)) => Some(message),
        Err(e) => return Err(e),
    };
    let beside = Beside {
        renaming: Some(typed),
        ..Beside::default()
    };
    show_tab(&user, &state, &path, "workbooks".into(), message, beside).await
}
