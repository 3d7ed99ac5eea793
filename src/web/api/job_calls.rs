//! A job's lifecycle calls: execute, ack, complete, fail, cancel, outcome/ack, retry, each
//! as Flatfile's, with who may make it (a guest its own jobs; a handler's calls a key).

use super::job_starts::{
    cancel_info, guest_may_cancel, guest_may_handle, guest_may_rerun, iso_time, refuse_oversized, Percent,
};
use super::jobs::{job_json, load};
use super::{ok, success};
use crate::app::AppState;
use crate::auth::{ApiCaller, SpaceCaller, SpaceScope};
use crate::db::AnyConnection;
use crate::model::job::{self, status, Job};
use crate::model::{ModelError, ModelResult};
use crate::web::error::AppError;
use crate::web::input::OptionalJson;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// Runs a lifecycle call on a job and answers with the job (or `Success` for execute).
/// Guests may run, cancel and retry their spaces' jobs and acknowledge outcomes; the calls
/// of a job's handler (ack, complete, fail) take an API key.
async fn transition<F>(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    raw_id: &str,
    f: F,
) -> Result<Job, AppError>
where
    F: FnOnce(&mut AnyConnection, &Job, &str) -> ModelResult<Job> + Send + 'static,
{
    let j = load(&state, &caller, raw_id).await?;
    let actor = caller.actor();
    let j = state.db(move |conn| f(conn, &j, &actor)).await?;
    if j.status == status::READY {
        state.jobs.wake();
    }
    state.live.publish_job(&j.id, j.space_id.as_ref());
    Ok(j)
}

pub async fn execute(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let guest = caller.only_spaces().is_some();
    transition(caller, state, &path, move |conn, j, actor| {
        crate::db::write_tx(conn, |conn| {
            // Whose job it is comes first: another's says nothing of its sheet's lock.
            if guest && guest_may_rerun(conn, j, actor)?.as_deref() == Some("foreground") {
                crate::model::job_once::refuse_rerun_while_running(conn, j)?;
            }
            crate::jobs::guard::refuse_locked_job(conn, j, actor)?;
            refuse_stale_plan(conn, j)?;
            job::execute(conn, j, actor)
        })
    })
    .await?;
    Ok(success())
}

/// A mapping job's plan that no longer holds (a field it maps removed, nothing mapped) is
/// refused at once, as a plan sent so is, rather than answered 200 and failed when the job
/// runs (probe 64a D5). A job with no plan yet makes its own when it runs.
fn refuse_stale_plan(conn: &mut crate::db::AnyConnection, j: &Job) -> Result<(), ModelError> {
    use crate::jobs::plan;
    if j.job_type != "workbook" || j.operation != "map" || j.plan.is_none() {
        return Ok(());
    }
    let config: serde_json::Value = serde_json::from_str(&j.config).unwrap_or_default();
    let sheets = plan::sheets_of_job(conn, j, &config)?;
    let resolved = plan::resolve(&plan::stored(j.plan.as_deref()), &sheets)?;
    if resolved.columns.iter().all(Option::is_none) {
        return Err(ModelError::Invalid(vec![(
            "fieldMapping".into(),
            "the plan maps no column to a field; map at least one".into(),
        )]));
    }
    Ok(())
}

pub async fn retry(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let guest = caller.only_spaces().is_some();
    let j = transition(caller, state, &path, move |conn, j, actor| {
        crate::db::write_tx(conn, |conn| {
            let mode = match guest {
                true => guest_may_rerun(conn, j, actor)?,
                false => None,
            };
            if j.status != status::FAILED && j.status != status::CANCELED {
                return Err(ModelError::Conflict(format!(
                    "only a failed or canceled job can be retried; this one is {}",
                    j.status
                )));
            }
            if mode.as_deref() == Some("foreground") {
                crate::model::job_once::refuse_rerun_while_running(conn, j)?;
            }
            crate::jobs::guard::refuse_locked_job(conn, j, actor)?;
            let changes = j.retry_changes();
            job::change_from(conn, j, changes, Some("job:ready"), actor)
        })
    })
    .await?;
    Ok(ok(job_json(&j)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AckBody {
    info: Option<String>,
    progress: Option<Percent>,
    #[serde(default, deserialize_with = "iso_time")]
    estimated_completion_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn ack(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: OptionalJson<AckBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    refuse_oversized(b.info.as_deref(), &[])?;
    let j = transition(caller.into(), state, &path, move |conn, j, actor| {
        j.refuse_if_built_in("ack")?;
        let ack = job::Ack {
            info: b.info,
            progress: b.progress.map(Percent::whole),
            estimated_completion_at: b.estimated_completion_at.map(|t| t.naive_utc()),
        };
        job::ack(conn, j, ack, actor)
    })
    .await?;
    Ok(ok(job_json(&j)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FinishBody {
    pub(super) outcome: Option<serde_json::Value>,
    pub(super) info: Option<String>,
}

pub(super) async fn finish_with(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    raw_id: &str,
    b: FinishBody,
    final_status: &'static str,
) -> Result<HttpResponse, AppError> {
    refuse_oversized(b.info.as_deref(), &[("outcome", b.outcome.as_ref())])?;
    // An outcome and its words are the job handler's: a guest only cancels.
    if caller.only_spaces().is_some() && (b.outcome.is_some() || b.info.is_some()) {
        return Err(AppError::Forbidden(
            "a guest cancels a job without an outcome or info: those are its handler's".into(),
        ));
    }
    let guest = caller.only_spaces().is_some();
    let j = transition(caller, state, raw_id, move |conn, j, actor| {
        match (guest, final_status) {
            (true, status::CANCELED) => guest_may_cancel(conn, j, actor)?,
            (true, _) => guest_may_handle(conn, j, actor)?,
            _ => {}
        }
        if final_status != status::CANCELED {
            j.refuse_if_built_in(if final_status == status::COMPLETE {
                "complete"
            } else {
                "fail"
            })?;
        }
        let info = match final_status {
            status::CANCELED => cancel_info(j, b.info)?,
            _ => b.info,
        };
        job::finish(conn, j, final_status, b.outcome, info, actor)
    })
    .await?;
    Ok(ok(job_json(&j)))
}

pub async fn complete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: OptionalJson<FinishBody>,
) -> Result<HttpResponse, AppError> {
    finish_with(caller.into(), state, &path, body.into_inner(), status::COMPLETE).await
}

pub async fn fail(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: OptionalJson<FinishBody>,
) -> Result<HttpResponse, AppError> {
    finish_with(caller.into(), state, &path, body.into_inner(), status::FAILED).await
}

pub async fn cancel(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: OptionalJson<FinishBody>,
) -> Result<HttpResponse, AppError> {
    finish_with(caller, state, &path, body.into_inner(), status::CANCELED).await
}

pub async fn ack_outcome(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let guest = caller.only_spaces().is_some();
    let j = transition(caller, state, &path, move |conn, j, actor| {
        if guest {
            guest_may_handle(conn, j, actor)?;
        }
        job::ack_outcome(conn, j, actor)
    })
    .await?;
    Ok(ok(job_json(&j)))
}
