//! The Submit block of a space's Activity tab (loaded into it by htmx): each submission
//! with its tries, and, for admins, "Send again" (the same frozen records, the same id).

use super::{render, see_other, CsrfForm};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::ids::{SpaceId, SubmissionId};
use crate::model::job::{self, status as job_status, JobChanges};
use crate::model::submission::{self, Submission};
use crate::model::{space, ModelError};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpResponse};
use askama::Template;

/// The most submissions listed.
const SHOWN: i64 = 50;

pub struct TryRow {
    pub at: When,
    pub result: String,
}

pub struct SubmissionRow {
    pub id: String,
    pub slug: String,
    pub at: When,
    pub records: i64,
    pub state: String,
    pub failed: bool,
    pub tries: Vec<TryRow>,
}

impl SubmissionRow {
    /// `here`: where this process keeps objects ([`crate::storage::Storage::holder`]).
    fn new(s: &Submission, here: Option<&str>) -> Self {
        let mut state = submission::describe(s);
        if s.status == submission::status::PENDING && s.held_elsewhere(here) {
            // Only a process that reads them delivers it: while none runs, it waits.
            match s.held_by.as_deref().filter(|h| crate::storage::is_bucket(h)) {
                Some(bucket) => state.push_str(&format!(
                    " (by a Wharf process using the bucket {bucket}, where its records are frozen: it waits while none runs)"
                )),
                None => state.push_str(
                    " (by the Wharf process that froze its records, whose data folder holds them: it waits while that process is down)",
                ),
            }
        }
        SubmissionRow {
            id: s.id.to_string(),
            slug: s.slug.clone(),
            at: When::new(&s.created_at),
            records: s.record_count,
            state,
            failed: s.status == submission::status::FAILED,
            tries: s
                .try_list()
                .iter()
                .map(|t| TryRow {
                    at: When::new(&t.at),
                    result: match (&t.error, t.status_code) {
                        (Some(e), _) => e.clone(),
                        (None, Some(code)) => format!("answered {code}"),
                        (None, None) => "sent".into(),
                    },
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "spaces/_submissions.html")]
struct Block {
    space_id: String,
    csrf: String,
    admin: bool,
    rows: Vec<SubmissionRow>,
}

/// The block for the Activity tab (team members of the space's environment).
pub async fn block(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    let env = user.environment.id.clone();
    let sid = id.clone();
    let list = state
        .db(move |conn| {
            space::find(conn, &env, &sid)?.ok_or(ModelError::NotFound("space"))?;
            Ok::<_, ModelError>(submission::of_space(conn, &sid, SHOWN)?)
        })
        .await?;
    let here = state.storage.holder();
    render(&Block {
        space_id: id.to_string(),
        csrf: user.csrf().to_string(),
        admin: user.user.is_admin,
        rows: list
            .iter()
            .map(|s| SubmissionRow::new(s, here.as_deref()))
            .collect(),
    })
}

/// Sends a submission again (admins): its tries start over; a job that failed for it is
/// executing again until the answer.
pub async fn send_again(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("send a submission again")?;
    user.check_csrf(&form.csrf_token)?;
    let (space_raw, raw) = path.into_inner();
    let space_id = SpaceId::parse(&space_raw).ok_or(AppError::NotFound("space"))?;
    let id = SubmissionId::parse(&raw).ok_or(AppError::NotFound("submission"))?;
    let env = user.environment.id.clone();
    let actor = user.actor();
    let moved = state
        .db(move |conn| {
            let s = submission::get(conn, &id)?
                .filter(|s| s.environment_id == env && s.space_id == space_id)
                .ok_or(ModelError::NotFound("submission"))?;
            crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
                submission::send_again(conn, &s.id)?;
                let j = job::get(conn, &s.job_id)?;
                if j.status != job_status::FAILED {
                    return Ok(None);
                }
                let changes = JobChanges {
                    status: Some(job_status::EXECUTING.into()),
                    progress: Some(95),
                    info: Some(Some(format!("Sending again to {}", s.slug))),
                    outcome: Some(None),
                    finished_at: Some(None),
                    outcome_acknowledged_at: Some(None),
                    ..Default::default()
                };
                Ok(Some(job::change(
                    conn,
                    &j.id,
                    changes,
                    Some("job:updated"),
                    &actor,
                )?))
            })
        })
        .await?;
    if let Some(j) = moved {
        state.live.publish_job(&j.id, j.space_id.as_ref());
    }
    crate::workers::submissions::WAKE.notify_one();
    Ok(see_other(&format!("/spaces/{space_raw}?tab=activity")))
}
