//! A file's actions on the Files tab (`files.update(fileId, {actions})` by a listener): a
//! click starts a `file` job of the action's operation on that file, which the team's
//! listener answers (`job:ready` with `job: "file:<operation>"`), and opens its page.

use super::action_now::judge_file;
use super::grid_action_jobs::input_of;
use super::{is_htmx, see_other};
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::model::job::{self, status, JobInput};
use crate::web::error::AppError;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::HashMap;

/// Runs one of a file's actions (form: `operation` and its `input:<key>` values).
pub async fn run(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form: HashMap<String, String> = form.into_inner().into_iter().collect();
    user.check_csrf(form.get("csrf_token").map_or("", String::as_str))?;
    // Reach is checked here: a file of a space the viewer cannot reach is not found.
    let f = super::files::find_file(&state, &user, &path).await?;
    let operation = form.get("operation").cloned().unwrap_or_default();
    // The file's actions as they are now, not as the page showed them.
    let (action, off) = judge_file(&f.actions, &operation).ok_or(AppError::NotFound("action"))?;
    if let Some(why) = off {
        return Err(AppError::Conflict(format!(
            "{} cannot run now: {why}",
            action.label
        )));
    }
    let input = input_of(&action, &form)?;
    let job_input = JobInput {
        job_type: "file".into(),
        operation,
        source: f.id.to_string(),
        status: status::READY.into(),
        trigger: "immediate".into(),
        mode: action.mode.clone(),
        input: Some(input),
        once: crate::model::job_once::held("file", &action.operation, &action.mode),
        ..JobInput::new(&f.environment_id, Some(&f.space_id))
    };
    let actor = user.actor();
    let spaces = user.only_spaces().map(<[_]>::to_vec);
    let j = state
        .db(move |conn| {
            crate::web::api::guest_ids::refuse_for_guest(conn, &job_input, spaces.as_deref())?;
            job::create(conn, job_input, &actor)
        })
        .await?;
    state.live.publish_job(&j.id, j.space_id.as_ref());
    let page = format!("/jobs/{}", j.id);
    if is_htmx(&req) {
        return Ok(HttpResponse::Ok().insert_header(("HX-Redirect", page)).finish());
    }
    Ok(see_other(&page))
}
