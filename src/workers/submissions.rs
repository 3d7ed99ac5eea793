//! The Submit delivery worker: claims due submissions, POSTs each one's `workbook.submitted`
//! payload signed as Standard Webhooks asks (`webhook-id` is the submission's id, the same
//! on every try), and notes what came of it. A 2xx answer ends the job complete, with the
//! receiver's rejections put on the records; anything else is tried again on the webhooks'
//! schedule, the job's `info` saying why and when, until the tries run out and the job
//! fails. Everything it needs to go on is in the database, so a restart resumes it.

use super::webhooks::{checked_addresses, error_chain, signed_post, SCHEDULE};
use crate::db::{AnyConnection, Backend, Pool};
use crate::ids::{JobId, SheetId, SpaceId};
use crate::model::job::{self, status as job_status, JobChanges};
use crate::model::submission::{self, Next, Submission, Try};
use crate::model::{now, webhook};
use crate::ops::submit as ops;
use crate::settings::Settings;
use crate::storage::Storage;
use chrono::TimeDelta;
use std::sync::Arc;
use std::time::Duration;

/// A submission claimed longer ago than this belongs to a process that died.
const LEASE: TimeDelta = TimeDelta::seconds(120);
/// How long a receiver has to answer (it may read the records links before it does).
const TIMEOUT: Duration = Duration::from_secs(60);
/// How often an idle worker looks for due submissions.
const POLL: Duration = Duration::from_millis(500);
/// How much of an answer is read (rejections included).
const KEEP_BYTES: usize = 4 * 1024 * 1024;

/// Woken when a submission is ready to go, so this process sends it at once.
pub static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Tells the pages that a job or a sheet changed.
pub type JobMoved = Arc<dyn Fn(&JobId, Option<&SpaceId>) + Send + Sync>;
pub type SheetMoved = Arc<dyn Fn(&SheetId) + Send + Sync>;

/// What the loop needs: the pool while the application lives (`None` once it has gone,
/// which ends the loop), and nothing of the web.
pub struct Context {
    pub pool: Box<dyn Fn() -> Option<Pool> + Send + Sync>,
    pub settings: Settings,
    /// Where the records links lead (the server's address).
    pub base_url: String,
    pub storage: Storage,
    pub worker_id: String,
    pub job_moved: JobMoved,
    pub sheet_moved: SheetMoved,
}

/// Starts the loop on its own thread.
pub fn start(ctx: Context) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("wharf-submissions".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "submissions cannot start"),
            };
            rt.block_on(run(Arc::new(ctx)));
        })?;
    Ok(())
}

async fn run(ctx: Arc<Context>) {
    // SQLite has one process: a claim left at start is of a process that stopped.
    if let Some(pool) = (ctx.pool)() {
        if let Ok(mut conn) = pool.get() {
            if crate::db::backend_of(&conn) == Backend::Sqlite {
                if let Err(e) = submission::release_claims(&mut conn) {
                    tracing::warn!(error = %e, "submissions: releasing old claims failed");
                }
            }
        }
    }
    loop {
        let Some(pool) = (ctx.pool)() else { return };
        let (worker, here) = (ctx.worker_id.clone(), ctx.storage.holder());
        let claimed = db(&pool, move |c| {
            Ok(submission::claim_due(c, &worker, LEASE, here.as_deref())?)
        })
        .await;
        match claimed {
            Ok(Some(s)) => deliver(&ctx, &pool, s).await,
            Ok(None) => {
                drop(pool);
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = WAKE.notified() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "submissions: claiming failed");
                tokio::time::sleep(POLL * 4).await;
            }
        }
    }
}

async fn db<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// What the try needs from the database: the webhook, the payload, the job's status.
struct Prepared {
    hook: Option<webhook::Webhook>,
    body: String,
    job_canceled: bool,
}

/// One try of a claimed submission, and what follows from it.
async fn deliver(ctx: &Arc<Context>, pool: &Pool, s: Submission) {
    let (storage, base) = (ctx.storage.clone(), ctx.base_url.clone());
    let here = storage.holder();
    let sub = s.clone();
    let prepared = db(pool, move |c| {
        let j = match job::get(c, &sub.job_id) {
            Ok(j) => j,
            // Its job was deleted (alone or with its space): nothing is left to deliver, and
            // the frozen records go, once.
            Err(diesel::result::Error::NotFound) => {
                return Ok(Err(submission::delete_returning_keys(
                    c,
                    std::slice::from_ref(&sub),
                    here.as_deref(),
                )?));
            }
            Err(e) => return Err(e.into()),
        };
        let hook = webhook::find_any(c, &sub.webhook_id)?;
        let job_canceled = j.status == job_status::CANCELED;
        let body = if hook.is_some() && !job_canceled {
            ops::payload(c, &storage, &base, &sub)?.to_string()
        } else {
            String::new()
        };
        Ok(Ok(Prepared {
            hook,
            body,
            job_canceled,
        }))
    })
    .await;
    let p = match prepared {
        Ok(Ok(p)) => p,
        Ok(Err(frozen)) => {
            tracing::info!(submission = %s.id, "submissions: its job is gone; its frozen records are deleted");
            for key in frozen {
                if let Err(e) = ctx.storage.delete(&key).await {
                    tracing::warn!(submission = %s.id, key, error = %e, "deleting frozen records failed");
                }
            }
            return;
        }
        Err(e) => {
            // The claim runs out and the submission is tried again.
            tracing::warn!(submission = %s.id, error = format!("{e:#}"), "submissions: preparing a try failed");
            return;
        }
    };
    if p.job_canceled {
        conclude(ctx, pool, s, None, Next::Canceled, String::new()).await;
        return;
    }
    let Some(hook) = p.hook else {
        let tried = Try {
            at: now(),
            status_code: None,
            error: Some(format!("the webhook `{}` was deleted", s.slug)),
        };
        conclude(ctx, pool, s, Some(tried), Next::GiveUp, String::new()).await;
        return;
    };
    let (tried, answer) = send(ctx, &hook, &s, p.body).await;
    let next = match tried.status_code {
        Some(code) if (200..300).contains(&code) && tried.error.is_none() => Next::Delivered { rejected: 0 },
        _ => match SCHEDULE.get(usize::try_from(s.attempts).unwrap_or(0)) {
            Some(pause) => {
                let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0.9..1.1);
                Next::RetryAt(tried.at + TimeDelta::milliseconds((*pause as f64 * 1000.0 * jitter) as i64))
            }
            None => Next::GiveUp,
        },
    };
    conclude(ctx, pool, s, Some(tried), next, answer).await;
}

/// Notes the try and moves the job: complete with its outcome (rejections applied),
/// executing with why and when it goes again, or failed.
async fn conclude(
    ctx: &Arc<Context>,
    pool: &Pool,
    s: Submission,
    tried: Option<Try>,
    next: Next,
    answer: String,
) {
    let worker = ctx.worker_id.clone();
    let storage = ctx.storage.clone();
    let sheet_moved = ctx.sheet_moved.clone();
    let why = tried.as_ref().and_then(|t| t.error.clone()).unwrap_or_default();
    let done = db(pool, move |c| {
        // The rejections, the try and the job in one transaction: a lost claim takes back
        // the rejections too.
        crate::db::write_tx::<_, anyhow::Error, _>(c, |c| {
            note_all(c, &storage, &s, &worker, tried, next, &answer, &why)
        })
    })
    .await;
    match done {
        Ok((j, sheets)) => {
            for sh in &sheets {
                sheet_moved(sh);
            }
            if let Some(j) = j {
                (ctx.job_moved)(&j.id, j.space_id.as_ref());
            }
        }
        // The claim runs out and the submission is tried again (at least once).
        Err(e) => tracing::warn!(error = format!("{e:#}"), "submissions: noting a try failed"),
    }
}

/// The job that moved (if one did) and the sheets whose records got messages.
type Moved = (Option<crate::model::job::Job>, Vec<SheetId>);

#[allow(clippy::too_many_arguments)]
fn note_all(
    c: &mut AnyConnection,
    storage: &Storage,
    s: &Submission,
    worker: &str,
    tried: Option<Try>,
    next: Next,
    answer: &str,
    why: &str,
) -> anyhow::Result<Moved> {
    let mut next = next;
    let mut sheets = Vec::new();
    // A job canceled while the receiver was answering: the records went, but a cancel
    // means "change nothing more", so its rejections and deletions are not applied, and
    // the canceled job says so.
    let canceled =
        matches!(next, Next::Delivered { .. }) && job::get(c, &s.job_id)?.status == job_status::CANCELED;
    let mut moved = None;
    if canceled {
        let message = format!(
            "Canceled, but the records had gone to {} before the cancel reached Wharf; what it answered (rejections, deletions) was not applied.",
            s.slug
        );
        let changes = JobChanges {
            outcome: Some(Some(
                serde_json::json!({"acknowledge": true, "heading": "Canceled after delivery", "message": message})
                    .to_string(),
            )),
            info: Some(Some(message)),
            ..Default::default()
        };
        moved = Some(job::change(c, &s.job_id, changes, Some("job:updated"), "wharf")?);
    }
    let outcome = match &next {
        Next::Delivered { .. } if canceled => None,
        Next::Delivered { .. } => {
            let r = ops::rejections_of(answer);
            let applied = ops::apply_rejections(c, storage, s, &r)?;
            sheets.extend(r.sheets.iter().filter_map(|x| SheetId::parse(&x.sheet_id)));
            if applied.deleted > 0 {
                sheets.extend(s.frozen_sheets().iter().filter_map(|f| SheetId::parse(&f.id)));
            }
            next = Next::Delivered {
                rejected: i32::try_from(applied.records).unwrap_or(i32::MAX),
            };
            Some(ops::delivered_outcome(s, &r, &applied))
        }
        _ => None,
    };
    if !submission::note(c, s, worker, tried, &next)? {
        // Taken over (a lease that ran out): the rejections are taken back with the rest.
        anyhow::bail!("submission {} is no longer this worker's", s.id);
    }
    let j = match (&next, outcome) {
        (Next::Delivered { .. }, Some(outcome)) => ops::finish_job(
            c,
            s,
            job_status::COMPLETE,
            outcome,
            &format!("Delivered to {}", s.slug),
        )?,
        (Next::RetryAt(at), _) => {
            let info = format!("{why}; next try at {} UTC", at.format("%H:%M:%S"));
            let changes = JobChanges {
                info: Some(Some(info)),
                ..Default::default()
            };
            let j = job::get(c, &s.job_id)?;
            (!j.is_final())
                .then(|| job::change(c, &s.job_id, changes, Some("job:updated"), "wharf"))
                .transpose()?
        }
        (Next::GiveUp, _) => {
            let message = format!(
                "The submission to {} was not delivered: {why}. Wharf tried {} times and \
                 stopped; an admin can send it again from the space's Activity.",
                s.slug,
                s.attempts + 1
            );
            let outcome =
                serde_json::json!({"acknowledge": true, "heading": "Not delivered", "message": message});
            ops::finish_job(c, s, job_status::FAILED, outcome, &message)?
        }
        _ => None,
    };
    Ok((j.or(moved), sheets))
}

/// One POST; the try and the answer's body.
async fn send(ctx: &Context, hook: &webhook::Webhook, s: &Submission, body: String) -> (Try, String) {
    let at = now();
    let failed = |error: String| {
        (
            Try {
                at,
                status_code: None,
                error: Some(error),
            },
            String::new(),
        )
    };
    if !hook.enabled {
        return failed(format!("the webhook `{}` is disabled", s.slug));
    }
    let url = match reqwest::Url::parse(&hook.url) {
        Ok(u) => u,
        Err(e) => return failed(format!("the URL cannot be read: {e}")),
    };
    let addrs = match checked_addresses(&url, ctx.settings.webhook_private).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .no_proxy();
    if let Some(url::Host::Domain(name)) = url.host() {
        // Connect only to the addresses just checked.
        client = client.resolve_to_addrs(name, &addrs);
    }
    let client = match client.build() {
        Ok(c) => c,
        Err(e) => return failed(format!("the HTTP client could not start: {e}")),
    };
    let sent = signed_post(
        &client,
        url,
        "Wharf-Submit",
        s.id.as_str(),
        &hook.signing_secrets(at),
        body,
    )
    .send()
    .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return failed(format!("no answer within {} s", TIMEOUT.as_secs())),
        Err(e) => return failed(format!("the request failed: {}", error_chain(&e.without_url()))),
    };
    let code = resp.status().as_u16();
    let mut kept = Vec::new();
    let mut cut = false;
    // An answer that broke off (the receiver stalled past the timeout, or hung up) is no
    // answer: its rejections past the break were lost (probe 63d D6: "rejected: 0").
    let mut broken = None;
    loop {
        match resp.chunk().await {
            Ok(Some(_)) if kept.len() >= KEEP_BYTES => {
                cut = true;
                break;
            }
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                broken = Some(match e.is_timeout() {
                    true => format!(
                        "the receiver's answer stopped coming within {} s",
                        TIMEOUT.as_secs()
                    ),
                    false => format!(
                        "the receiver's answer broke off: {}",
                        error_chain(&e.without_url())
                    ),
                });
                break;
            }
        }
    }
    // An answer that ends with its connection can break off unseen: JSON begun and not
    // finished is no answer either (probe 63e D2). A plain `OK` is a delivery.
    let starts_json = kept
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    if broken.is_none()
        && !cut
        && starts_json
        && serde_json::from_slice::<serde::de::IgnoredAny>(&kept).is_err()
    {
        broken = Some("the receiver's answer is JSON that is cut short or malformed".to_string());
    }
    let error = match code {
        200..=299 if broken.is_some() => broken.map(|why| format!("{why}; its rejections were not applied")),
        // Half an answer would drop the rejections past the cut: not a delivery.
        200..=299 if cut || kept.len() > KEEP_BYTES => Some(format!(
            "the receiver's answer is over {} MiB, more than Wharf reads; its rejections were not applied",
            KEEP_BYTES / (1024 * 1024)
        )),
        200..=299 => None,
        _ => Some(format!("the receiver answered {code}")),
    };
    let tried = Try {
        at,
        status_code: Some(i32::from(code)),
        error,
    };
    (
        tried,
        crate::names::storable(String::from_utf8_lossy(&kept).into_owned()),
    )
}
