//! Submissions: what a Submit action froze (one stored JSON Lines file per sheet) and the
//! state of its delivery to a webhook, kept in the database so that a restart resumes it.
//! A claim is a lease, as with webhook deliveries: a process that died leaves its claim to
//! run out. The signed `recordsUrl` of a submission is checked here too.

use super::now;
use crate::db::schema::{server_keys, submissions};
use crate::db::{AnyConnection, Backend};
use crate::ids::SheetId;
use crate::ids::{EnvironmentId, JobId, SpaceId, SubmissionId, WebhookId, WorkbookId};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub mod status {
    pub const PENDING: &str = "pending";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
    /// Its job was canceled before it went.
    pub const CANCELED: &str = "canceled";
}

/// How long a `recordsUrl` works.
pub const LINK_VALID: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = submissions)]
pub struct Submission {
    pub id: SubmissionId,
    pub environment_id: EnvironmentId,
    pub space_id: SpaceId,
    pub workbook_id: WorkbookId,
    pub job_id: JobId,
    pub webhook_id: WebhookId,
    pub slug: String,
    /// JSON list of [`FrozenSheet`].
    pub sheets: String,
    pub record_count: i64,
    pub status: String,
    pub attempts: i32,
    /// JSON list of [`Try`].
    pub tries: String,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<NaiveDateTime>,
    pub rejected: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    /// Without a bucket, the data folder holding the frozen records
    /// ([`crate::storage::Storage::holder`]); `None` with a bucket, or frozen before it existed.
    pub held_by: Option<String>,
}

/// One sheet as frozen: its records are in the stored file `storage_key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrozenSheet {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Field keys, in order (the CSV's columns).
    pub fields: Vec<String>,
    pub total: i64,
    pub valid: i64,
    pub error: i64,
    pub storage_key: String,
    /// The stored file of each frozen record's id and version (`id version` lines), so
    /// what the receiver answers touches only records that went, as they went. Absent in
    /// submissions frozen before it existed.
    #[serde(default)]
    pub versions_key: Option<String>,
}

/// One try of a delivery, as the Activity tab lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Try {
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

impl Submission {
    pub fn frozen_sheets(&self) -> Vec<FrozenSheet> {
        serde_json::from_str(&self.sheets).unwrap_or_default()
    }

    pub fn try_list(&self) -> Vec<Try> {
        serde_json::from_str(&self.tries).unwrap_or_default()
    }

    /// Whether another process's data folder holds the frozen records (than `here`, this
    /// process's; `None` with a bucket, where every process reads them).
    pub fn held_elsewhere(&self, here: Option<&str>) -> bool {
        self.held_by.as_deref().is_some_and(|h| Some(h) != here)
    }

    /// The stored keys of what it froze: each sheet's records and their versions.
    pub fn frozen_keys(&self) -> Vec<String> {
        self.frozen_sheets()
            .into_iter()
            .flat_map(|f| std::iter::once(f.storage_key).chain(f.versions_key))
            .collect()
    }
}

/// The slug a Submit job delivers to (`config.deliverTo`), when it is a built-in one.
pub fn deliver_to(job_type: &str, operation: &str, config: &str) -> Option<String> {
    if operation != "submit" || !matches!(job_type, "workbook" | "sheet") {
        return None;
    }
    let config: Value = serde_json::from_str(config).ok()?;
    config["deliverTo"].as_str().map(str::to_string)
}

/// The `deliverTo` of the Submit action (operation `submit`) of a workbook or sheet, for a
/// new job of that operation on it (from a click or from `POST /v1/jobs`).
pub fn action_slug(
    conn: &mut AnyConnection,
    env: &crate::ids::EnvironmentId,
    job_type: &str,
    source: &str,
) -> diesel::QueryResult<Option<String>> {
    let actions: Value = match job_type {
        "workbook" => match WorkbookId::parse(source) {
            Some(id) => match super::workbook::find(conn, env, &id)? {
                Some(wb) => serde_json::from_str(&wb.actions).unwrap_or(Value::Null),
                None => Value::Null,
            },
            None => Value::Null,
        },
        "sheet" => match SheetId::parse(source) {
            Some(id) => match super::sheet::find(conn, env, &id)? {
                Some((s, _)) => {
                    serde_json::from_str::<Value>(&s.config).unwrap_or(Value::Null)["actions"].clone()
                }
                None => Value::Null,
            },
            None => Value::Null,
        },
        _ => Value::Null,
    };
    Ok(actions
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["operation"] == "submit" || (a["operation"].is_null() && a["slug"] == "submit"))
        .and_then(|a| a["deliverTo"].as_str())
        .map(str::to_string))
}

/// A Submit action naming a webhook (`deliverTo`) is Wharf's to run, however its job was
/// made: the new job's config names the action's webhook (its slug is looked up when the
/// job runs). Another receiver named by the caller is refused, not silently replaced
/// (probe 63d D4: the records went to another system than the one asked).
pub fn settle_deliver_to(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    job_type: &str,
    source: &str,
    config: &mut Value,
) -> super::ModelResult<()> {
    let slug = action_slug(conn, env, job_type, source)?;
    let (Some(slug), Some(config)) = (slug, config.as_object_mut()) else {
        return Ok(());
    };
    match config.get("deliverTo") {
        None | Some(Value::Null) => {}
        Some(Value::String(named)) if *named == slug => {}
        Some(named) => {
            return Err(super::ModelError::Conflict(format!(
                "this Submit action delivers to `{slug}`, not {named}; leave deliverTo out, or name `{slug}`"
            )))
        }
    }
    config.insert("deliverTo".into(), json!(slug));
    Ok(())
}

/// What a new submission is made from.
pub struct NewSubmission<'a> {
    pub id: &'a SubmissionId,
    pub environment_id: &'a EnvironmentId,
    pub space_id: &'a SpaceId,
    pub workbook_id: &'a WorkbookId,
    pub job_id: &'a JobId,
    pub webhook_id: &'a WebhookId,
    pub slug: &'a str,
    pub sheets: &'a [FrozenSheet],
    pub created_by: &'a str,
    /// The data folder holding the frozen records, without a bucket.
    pub held_by: Option<&'a str>,
}

/// Records a frozen submission, due at once (in the caller's transaction).
pub fn insert(conn: &mut AnyConnection, n: &NewSubmission) -> QueryResult<()> {
    let t = now();
    let count: i64 = n.sheets.iter().map(|s| s.total).sum();
    diesel::insert_into(submissions::table)
        .values((
            submissions::id.eq(n.id),
            submissions::environment_id.eq(n.environment_id),
            submissions::space_id.eq(n.space_id),
            submissions::workbook_id.eq(n.workbook_id),
            submissions::job_id.eq(n.job_id),
            submissions::webhook_id.eq(n.webhook_id),
            submissions::slug.eq(n.slug),
            submissions::sheets.eq(json!(n.sheets).to_string()),
            submissions::record_count.eq(count),
            submissions::status.eq(status::PENDING),
            submissions::next_attempt_at.eq(Some(t)),
            submissions::created_by.eq(n.created_by),
            submissions::created_at.eq(t),
            submissions::held_by.eq(n.held_by),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut AnyConnection, id: &SubmissionId) -> QueryResult<Option<Submission>> {
    submissions::table
        .find(id)
        .select(Submission::as_select())
        .first(conn)
        .optional()
}

pub fn of_job(conn: &mut AnyConnection, job: &JobId) -> QueryResult<Option<Submission>> {
    submissions::table
        .filter(submissions::job_id.eq(job))
        .select(Submission::as_select())
        .first(conn)
        .optional()
}

/// Deletes submissions and answers the storage keys of what they froze, for the caller
/// to delete (a space deleted, or a submission whose job is gone). Records frozen in
/// another process's data folder (than `here`) are handed over to it instead, in the
/// caller's transaction ([`crate::model::file::hand_over_keys`]).
pub fn delete_returning_keys(
    conn: &mut AnyConnection,
    gone: &[Submission],
    here: Option<&str>,
) -> QueryResult<Vec<String>> {
    let ids: Vec<&SubmissionId> = gone.iter().map(|s| &s.id).collect();
    diesel::delete(submissions::table.filter(submissions::id.eq_any(ids))).execute(conn)?;
    let mut ours = Vec::new();
    for s in gone {
        match &s.held_by {
            Some(holder) if s.held_elsewhere(here) => {
                super::file::hand_over_keys(conn, holder, &s.frozen_keys())?
            }
            _ => ours.extend(s.frozen_keys()),
        }
    }
    Ok(ours)
}

/// Drops the submissions of workbook `wb` (that froze sheet `sheet`, when given) with the
/// workbook or sheet being deleted: records the team deleted are not delivered afterwards,
/// nor served by a `recordsUrl` (probe 69b D5). A Submit still waiting to deliver is
/// canceled, saying why. Answers the storage keys for the caller to delete, as
/// [`delete_returning_keys`] does.
pub fn drop_deleted(
    conn: &mut AnyConnection,
    wb: &WorkbookId,
    sheet: Option<&str>,
    why: &str,
    actor: &str,
    here: Option<&str>,
) -> super::ModelResult<Vec<String>> {
    let gone: Vec<Submission> = submissions::table
        .filter(submissions::workbook_id.eq(wb))
        .select(Submission::as_select())
        .load::<Submission>(conn)?
        .into_iter()
        .filter(|s| sheet.is_none_or(|id| s.frozen_sheets().iter().any(|f| f.id == id)))
        .collect();
    for s in gone.iter().filter(|s| s.status == status::PENDING) {
        if let Some(job) = super::job::find(conn, &s.environment_id, &s.job_id)? {
            if !job.is_final() {
                let why = format!("Canceled: {why} before its records were delivered");
                super::job::finish(conn, &job, super::job::status::CANCELED, None, Some(why), actor)?;
            }
        }
    }
    Ok(delete_returning_keys(conn, &gone, here)?)
}

/// A space's submissions, newest first.
pub fn of_space(conn: &mut AnyConnection, space: &SpaceId, limit: i64) -> QueryResult<Vec<Submission>> {
    submissions::table
        .filter(submissions::space_id.eq(space))
        .order((submissions::created_at.desc(), submissions::id.desc()))
        .limit(limit)
        .select(Submission::as_select())
        .load(conn)
}

/// Takes the oldest due submission for `worker`: pending, due, and not claimed, or
/// claimed longer than `lease` ago (by a process that died). Without a bucket (`here` is
/// this process's data folder), only one whose frozen records this process can read.
pub fn claim_due(
    conn: &mut AnyConnection,
    worker: &str,
    lease: TimeDelta,
    here: Option<&str>,
) -> QueryResult<Option<Submission>> {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    let lock = match crate::db::backend_of(conn) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let t = now();
    // A read first: an idle worker polls often, and SQLite's UPDATE takes the write lock.
    let mut due = submissions::table
        .filter(submissions::status.eq(status::PENDING))
        .filter(submissions::next_attempt_at.le(t))
        .filter(
            submissions::claimed_at
                .is_null()
                .or(submissions::claimed_at.lt(t - lease)),
        )
        .into_boxed();
    if let Some(here) = here {
        due = due.filter(submissions::held_by.is_null().or(submissions::held_by.eq(here)));
    }
    if due.count().get_result::<i64>(conn)? == 0 {
        return Ok(None);
    }
    let sql = format!(
        "UPDATE submissions SET claimed_by = $1, claimed_at = $2 \
         WHERE id = (SELECT id FROM submissions WHERE status = 'pending' \
         AND next_attempt_at <= $2 AND (claimed_at IS NULL OR claimed_at < $3) \
         AND ($4 IS NULL OR held_by IS NULL OR held_by = $4) \
         ORDER BY next_attempt_at, id LIMIT 1{lock}) RETURNING id"
    );
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let claimed: Vec<Claimed> = crate::db::write(conn, |conn| {
        crate::on_backend!(conn, c => diesel::sql_query(&sql)
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(t)
        .bind::<Timestamp, _>(t - lease)
        .bind::<Nullable<Text>, _>(here)
        .load(c))
    })?;
    match claimed.into_iter().next() {
        Some(c) => get(conn, &SubmissionId(c.id)),
        None => Ok(None),
    }
}

/// How many pending submissions have waited since before `since` for data folders other
/// than `here`, and which folders: a folder no running process has delivers nothing.
pub fn waiting_elsewhere(
    conn: &mut AnyConnection,
    here: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(Option<String>, i64)> = submissions::table
        .filter(submissions::status.eq(status::PENDING))
        .filter(submissions::held_by.ne(here))
        .filter(submissions::next_attempt_at.lt(since))
        .group_by(submissions::held_by)
        .select((submissions::held_by, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(h, n)| Some((h?, n))).collect())
}

/// Lets go of every claim (SQLite, at start: one process owns the database, so any claim
/// is of a process that stopped).
pub fn release_claims(conn: &mut AnyConnection) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        diesel::update(submissions::table.filter(submissions::claimed_by.is_not_null()))
            .set((
                submissions::claimed_by.eq(None::<String>),
                submissions::claimed_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
    })
}

/// What came of a try.
pub enum Next {
    Delivered { rejected: i32 },
    RetryAt(NaiveDateTime),
    GiveUp,
    Canceled,
}

/// Notes a try (while still this worker's claim); false when the claim was lost meanwhile.
pub fn note(
    conn: &mut AnyConnection,
    s: &Submission,
    worker: &str,
    tried: Option<Try>,
    next: &Next,
) -> QueryResult<bool> {
    let mut tries = s.try_list();
    let attempts = s.attempts + i32::from(tried.is_some());
    tries.extend(tried);
    // The Activity tab shows the latest; a submission retried for days keeps its last 50.
    let cut = tries.len().saturating_sub(50);
    tries.drain(..cut);
    let (state, next_at, delivered_at, rejected) = match next {
        Next::Delivered { rejected } => (status::DELIVERED, None, Some(now()), *rejected),
        Next::RetryAt(at) => (status::PENDING, Some(*at), None, s.rejected),
        Next::GiveUp => (status::FAILED, None, None, s.rejected),
        Next::Canceled => (status::CANCELED, None, None, s.rejected),
    };
    let n = diesel::update(
        submissions::table
            .find(&s.id)
            .filter(submissions::claimed_by.eq(worker)),
    )
    .set((
        submissions::status.eq(state),
        submissions::attempts.eq(attempts),
        submissions::tries.eq(json!(tries).to_string()),
        submissions::next_attempt_at.eq(next_at),
        submissions::delivered_at.eq(delivered_at),
        submissions::rejected.eq(rejected),
        submissions::claimed_by.eq(None::<String>),
        submissions::claimed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Queues a submission to be sent again now, from the same frozen records and with the
/// same id, with a fresh retry schedule.
pub fn send_again(conn: &mut AnyConnection, id: &SubmissionId) -> QueryResult<()> {
    queue_again(conn, id, None)
}

/// [`send_again`], to the webhook that has the slug now (a job run again looks it up anew).
pub fn send_again_to(conn: &mut AnyConnection, id: &SubmissionId, webhook: &WebhookId) -> QueryResult<()> {
    queue_again(conn, id, Some(webhook))
}

fn queue_again(conn: &mut AnyConnection, id: &SubmissionId, webhook: Option<&WebhookId>) -> QueryResult<()> {
    if let Some(w) = webhook {
        diesel::update(submissions::table.find(id))
            .set(submissions::webhook_id.eq(w))
            .execute(conn)?;
    }
    diesel::update(submissions::table.find(id))
        .set((
            submissions::status.eq(status::PENDING),
            submissions::attempts.eq(0),
            submissions::next_attempt_at.eq(Some(now())),
            submissions::claimed_by.eq(None::<String>),
            submissions::claimed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

const LINK_KEY: &str = "records-link";

/// The server's key for signing records links: made once, shared by every process of
/// the database.
pub fn link_key(conn: &mut AnyConnection) -> QueryResult<Vec<u8>> {
    let found: Option<String> = server_keys::table
        .find(LINK_KEY)
        .select(server_keys::value)
        .first(conn)
        .optional()?;
    let text = match found {
        Some(v) => v,
        None => {
            let fresh = hex::encode(rand::random::<[u8; 32]>());
            // Two processes may race: the first insert wins, both read it back.
            let inserted = crate::db::write(conn, |conn| {
                diesel::insert_into(server_keys::table)
                    .values((server_keys::name.eq(LINK_KEY), server_keys::value.eq(&fresh)))
                    .execute(conn)
            });
            if let Err(e) = inserted {
                tracing::debug!(error = %e, "the records-link key was made by another process");
            }
            server_keys::table
                .find(LINK_KEY)
                .select(server_keys::value)
                .first(conn)?
        }
    };
    Ok(hex::decode(text).unwrap_or_default())
}

/// The signature of a records link: HMAC-SHA256 over the submission, the sheet and the
/// expiry (Unix seconds), hex.
pub fn link_signature(key: &[u8], submission: &SubmissionId, sheet: &str, expires: i64) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{submission}.{sheet}.{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why a records link gives nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkProblem {
    Expired,
    BadSignature,
}

/// Checks a link's expiry and signature (in constant time).
pub fn check_link(
    key: &[u8],
    submission: &SubmissionId,
    sheet: &str,
    expires: i64,
    signature: &str,
) -> Result<(), LinkProblem> {
    let Ok(given) = hex::decode(signature) else {
        return Err(LinkProblem::BadSignature);
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return Err(LinkProblem::BadSignature);
    };
    mac.update(format!("{submission}.{sheet}.{expires}").as_bytes());
    mac.verify_slice(&given).map_err(|_| LinkProblem::BadSignature)?;
    if expires <= chrono::Utc::now().timestamp() {
        return Err(LinkProblem::Expired);
    }
    Ok(())
}

/// The path and query of a sheet's records link, valid for [`LINK_VALID`] from `from`.
pub fn records_path(key: &[u8], submission: &SubmissionId, sheet: &str, from: NaiveDateTime) -> String {
    let expires = (from + LINK_VALID).and_utc().timestamp();
    let sig = link_signature(key, submission, sheet, expires);
    format!("/v1/submissions/{submission}/sheets/{sheet}/records?expires={expires}&signature={sig}")
}

/// The Activity line's words for a submission's state.
pub fn describe(s: &Submission) -> String {
    match s.status.as_str() {
        status::DELIVERED => format!("delivered: {} sent, {} rejected", s.record_count, s.rejected),
        status::FAILED => "not delivered: every try failed".into(),
        status::CANCELED => "canceled before it went".into(),
        _ => match s.next_attempt_at {
            Some(t) if s.attempts > 0 => format!("waiting; next try at {} UTC", t.format("%H:%M:%S")),
            _ => "sending".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_check_signature_and_expiry() {
        let key = b"k".to_vec();
        let s = SubmissionId("us_sb_1".into());
        let later = chrono::Utc::now().timestamp() + 60;
        let sig = link_signature(&key, &s, "us_sh_1", later);
        assert_eq!(check_link(&key, &s, "us_sh_1", later, &sig), Ok(()));
        assert_eq!(
            check_link(&key, &s, "us_sh_1", later + 1, &sig),
            Err(LinkProblem::BadSignature)
        );
        let other = SubmissionId("us_sb_2".into());
        assert_eq!(
            check_link(&key, &other, "us_sh_1", later, &sig),
            Err(LinkProblem::BadSignature)
        );
        let past = chrono::Utc::now().timestamp() - 1;
        let old = link_signature(&key, &s, "us_sh_1", past);
        assert_eq!(
            check_link(&key, &s, "us_sh_1", past, &old),
            Err(LinkProblem::Expired)
        );
        assert_eq!(
            check_link(&key, &s, "us_sh_1", later, "zz"),
            Err(LinkProblem::BadSignature)
        );
    }
}
