//! The job page's Cancel and Retry, as the API's `cancel` and `retry` calls with the
//! same rules: a person may stop an import that went the wrong way (a canceled import
//! takes back what it wrote) and run a failed one again without the API.

use super::jobs::{load, status_of};
use super::{is_htmx, render, see_other};
use crate::app::AppState;
use crate::auth::Viewer;
use crate::model::job::{self, status, Job};
use crate::model::ModelError;
use crate::web::api::job_starts::{cancel_info, guest_may_cancel, guest_may_rerun};
use crate::web::error::AppError;
use actix_web::{web, HttpRequest, HttpResponse};

/// Whether the page offers Cancel: the job may still run or is running.
pub fn may_cancel(j: &Job) -> bool {
    [
        status::CREATED,
        status::PLANNING,
        status::READY,
        status::EXECUTING,
    ]
    .contains(&j.status.as_str())
}

/// Whether the page offers Retry: the job ran and failed, or was stopped while it ran (a
/// mapping canceled on its planning screen never ran: its screen is where to run it).
pub fn may_retry(j: &Job) -> bool {
    j.status == status::FAILED || j.status == status::CANCELED && j.started_at.is_some()
}

/// Whether the page shows Cancel to `user`: as [`may_cancel`], and as the cancel would
/// answer (a re-check or a running undo cannot be stopped; a guest stops its own jobs
/// and actions, not the team's imports, deletes or bulk changes).
pub fn offers_cancel(j: &Job, user: &Viewer) -> bool {
    may_cancel(j)
        && cancel_info(j, None).is_ok()
        && match user {
            Viewer::Guest(_) => {
                j.created_by == user.actor()
                    || crate::ids::GuestId::parse(&j.created_by).is_some()
                    || !j.is_built_in()
            }
            _ => true,
        }
}

/// Whether the page shows Run again to `user`: a guest runs again only what it started.
pub fn offers_retry(j: &Job, user: &Viewer) -> bool {
    may_retry(j) && (!matches!(user, Viewer::Guest(_)) || j.created_by == user.actor())
}

async fn change(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    csrf: &str,
    step: fn(&mut crate::db::AnyConnection, &Job, &str, bool) -> Result<Job, ModelError>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(csrf)?;
    let j = load(&state, &user, &path).await?;
    let actor = user.actor();
    let guest = matches!(user, Viewer::Guest(_));
    // One transaction: a check that another run is under way holds until this one starts.
    let j = state
        .db(move |conn| crate::db::write_tx(conn, |conn| step(conn, &j, &actor, guest)))
        .await?;
    state.jobs.wake();
    state.live.publish_job(&j.id, j.space_id.as_ref());
    if is_htmx(&req) {
        return render(&status_of(&j, &user));
    }
    Ok(see_other(&format!("/jobs/{}", j.id)))
}

/// `POST /jobs/{id}/cancel`.
pub async fn cancel(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<super::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    change(
        req,
        user,
        state,
        path,
        &form.csrf_token,
        |conn, j, actor, guest| {
            if guest {
                guest_may_cancel(conn, j, actor)?;
            }
            if !may_cancel(j) {
                return Err(ModelError::Conflict(format!(
                    "the job is {}: there is nothing to stop",
                    j.status
                )));
            }
            let info = cancel_info(j, None)?;
            job::finish(conn, j, status::CANCELED, None, info, actor)
        },
    )
    .await
}

/// `POST /jobs/{id}/retry`.
pub async fn retry(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<super::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    change(
        req,
        user,
        state,
        path,
        &form.csrf_token,
        |conn, j, actor, guest| {
            // Whose job it is comes first: another's says nothing of its state or lock.
            // One run of a foreground action at a time: a guest's by its action's mode, a
            // person's by the job's own (probe 84b D1: Run again here started a second).
            let held = match guest {
                true => guest_may_rerun(conn, j, actor)?.as_deref() == Some("foreground"),
                false => crate::model::job_once::held(&j.job_type, &j.operation, &j.mode),
            };
            if !may_retry(j) {
                return Err(ModelError::Conflict(format!(
                    "only a job that failed, or was canceled while it ran, can be run again; this one is {}",
                    j.status
                )));
            }
            if held {
                crate::model::job_once::refuse_rerun_while_running(conn, j)?;
            }
            crate::jobs::guard::refuse_locked_job(conn, j, actor)?;
            if import_gone(conn, j) {
                return Err(ModelError::Conflict(IMPORT_GONE.into()));
            }
            job::change_from(conn, j, j.retry_changes(), Some("job:ready"), actor)
        },
    )
    .await
}

/// Why an import cannot run again (probe 57a: run again, it failed once more and said
/// `destinationSheetId: no workbook ...` instead).
const IMPORT_GONE: &str = "the sheet this import wrote into, or the file's sheet it read, was deleted: import the file again with Import into... on the Files tab";

/// Whether `j` is an import whose source or destination sheet is gone, so that running it
/// again could only fail.
pub fn import_gone(conn: &mut crate::db::AnyConnection, j: &Job) -> bool {
    if !(j.job_type == "workbook" && j.operation == "map") {
        return false;
    }
    let config: serde_json::Value = serde_json::from_str(&j.config).unwrap_or_default();
    crate::jobs::plan::sheets(
        conn,
        &j.environment_id,
        &j.source,
        j.destination.as_deref(),
        &config,
    )
    .is_err()
}
