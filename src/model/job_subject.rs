//! What an action's job works on (its `subject`), the `dataUrl` its events carry, and the
//! jobs no listener took.

use super::job::{self, status, Job};
use super::{now, ModelError, ModelResult};
use crate::db::schema::{jobs, records};
use crate::db::AnyConnection;
use crate::ids::SheetId;
use diesel::prelude::*;
use serde_json::{json, Value};

/// What a job nobody acknowledged says.
pub const NOT_TAKEN: &str = "No listener took this job";

/// `subject` of a sheet action: the grid's filter, search (or FFQL `q`) and selected ids.
pub fn records_subject(
    filter: &str,
    filter_field: &str,
    search_value: &str,
    search_field: &str,
    q: &str,
    ids: &[String],
) -> Value {
    let mut query = serde_json::Map::new();
    for (k, v) in [
        ("filter", filter),
        ("filterField", filter_field),
        ("searchValue", search_value),
        ("searchField", search_field),
        ("q", q),
    ] {
        if !v.is_empty() {
            query.insert(k.into(), json!(v));
        }
    }
    if !ids.is_empty() {
        query.insert("ids".into(), json!(ids));
    }
    json!({"type": "collection", "resource": "records", "query": query})
}

/// The subject a guest (or the grid) gives a job: nothing, or the records of the job's own sheet in
/// Flatfile's shape (`{type: collection, resource: records, query: {filter, filterField,
/// searchValue, searchField, q, ids}}`), rebuilt from those members alone, its `ids` each a
/// record of that sheet. Listener code reads the subject with its own key, so a guest must
/// not name there what it cannot reach.
pub fn within_sheet(
    conn: &mut AnyConnection,
    sheet_seq: Option<i64>,
    given: Option<&Value>,
) -> ModelResult<Option<Value>> {
    let Some(given) = given.filter(|s| !s.is_null()) else {
        return Ok(None);
    };
    let invalid = |m: &str| ModelError::Invalid(vec![("subject".into(), m.to_string())]);
    let Some(seq) = sheet_seq else {
        return Err(invalid(
            "a guest's workbook job has no subject; a sheet action's names its records",
        ));
    };
    if given["type"] != "collection" || given["resource"] != "records" {
        return Err(invalid(
            "a guest's job subject is {\"type\": \"collection\", \"resource\": \"records\", \"query\": {...}}",
        ));
    }
    let text = |k: &str| given["query"][k].as_str().unwrap_or_default().to_string();
    let mut ids = Vec::new();
    for (i, id) in given["query"]["ids"].as_array().into_iter().flatten().enumerate() {
        let id = id
            .as_str()
            .and_then(crate::ids::RecordId::parse)
            .ok_or_else(|| invalid(&format!("query.ids[{i}] is not a record id")))?;
        ids.push(id);
    }
    let mut wanted: Vec<i64> = ids.iter().map(|r| r.0).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let found: i64 = records::table
        .filter(records::sheet_seq.eq(seq))
        .filter(records::id.eq_any(&wanted))
        .count()
        .get_result(conn)?;
    if found != wanted.len() as i64 {
        return Err(invalid("query.ids names records that are not this sheet's"));
    }
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    Ok(Some(records_subject(
        &text("filter"),
        &text("filterField"),
        &text("searchValue"),
        &text("searchField"),
        &text("q"),
        &ids,
    )))
}

/// Selected records past which a `dataUrl` names the job (`subjectOf=`) instead of listing
/// their ids: 6,000 ids made an address of 89,000 characters, past what the HTTP layer reads.
const IDS_IN_URL: usize = 200;

/// For a sheet job on a collection of records: the records API address, relative and
/// with `?` (listener code appends `&k=v`), returning just those records.
pub fn data_url(job: &Job) -> Option<String> {
    let sheet = SheetId::parse(&job.source)?;
    let pairs = subject_query(job)?;
    if pairs.iter().filter(|(k, _)| *k == "ids").count() > IDS_IN_URL {
        return Some(format!("v1/sheets/{sheet}/records?subjectOf={}", job.id));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    Some(format!("v1/sheets/{sheet}/records?{query}"))
}

/// A records subject's selection as the records API's query parameters (`filter`, ...,
/// `ids` once per record); `None` when the job's subject is no collection of records.
pub fn subject_query(job: &Job) -> Option<Vec<(&'static str, String)>> {
    let subject: Value = serde_json::from_str(job.subject.as_deref()?).ok()?;
    if subject["type"] != "collection" || subject["resource"] != "records" {
        return None;
    }
    let q = &subject["query"];
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    // `filter=all` too: beside it, the ids are the records left out.
    for key in ["filter", "filterField", "searchValue", "searchField", "q"] {
        if let Some(v) = q[key].as_str().filter(|v| !v.is_empty()) {
            pairs.push((key, v.to_string()));
        }
    }
    for id in q["ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        pairs.push(("ids", id.to_string()));
    }
    Some(pairs)
}

/// Whether a webhook delivery of the job's `job:ready` is still to be tried again.
fn ready_still_on_its_way(conn: &mut AnyConnection, j: &Job) -> QueryResult<bool> {
    use crate::db::schema::{events, webhook_deliveries};
    // Job ids are letters, digits and `_`, which the pattern escapes.
    let pattern = format!("%\"jobId\":\"{}\"%", j.id.as_str().replace('_', "\\_"));
    let pending: i64 = webhook_deliveries::table
        .inner_join(events::table.on(events::id.eq(webhook_deliveries::event_id)))
        .filter(webhook_deliveries::status.eq(super::webhook_delivery::status::PENDING))
        .filter(events::environment_id.eq(&j.environment_id))
        .filter(events::topic.eq("job:ready"))
        .filter(events::context.like(pattern).escape('\\'))
        .count()
        .get_result(conn)?;
    Ok(pending > 0)
}

/// Fails the listener jobs left `ready` (nobody acknowledged them) for `seconds`; returns
/// them as they ended.
pub fn fail_unacknowledged(conn: &mut AnyConnection, seconds: i64) -> ModelResult<Vec<Job>> {
    let cutoff = now() - chrono::Duration::seconds(seconds);
    let waiting: Vec<Job> = jobs::table
        .filter(jobs::status.eq(status::READY))
        .filter(jobs::updated_at.lt(cutoff))
        .select(Job::as_select())
        .limit(500)
        .load(conn)?;
    let outcome = json!({"acknowledge": true, "heading": "Not run", "message": NOT_TAKEN});
    let mut failed = Vec::new();
    let twice = now() - chrono::Duration::seconds(seconds.saturating_mul(2));
    for j in waiting.iter().filter(|j| !j.is_built_in()) {
        // A `job:ready` a webhook is still trying to deliver (its listener restarting, its
        // next try 5 minutes after the first two) gets twice as long: failing the job just
        // before the try that would reach the listener helps no one.
        if j.updated_at >= twice && ready_still_on_its_way(conn, j)? {
            continue;
        }
        let t = now();
        let changes = job::JobChanges {
            status: Some(status::FAILED.into()),
            outcome: Some(Some(outcome.to_string())),
            info: Some(Some(NOT_TAKEN.to_string())),
            finished_at: Some(Some(t)),
            updated_at: Some(t),
            ..Default::default()
        };
        let done = crate::db::write_tx::<_, super::ModelError, _>(conn, |conn| {
            // Only if still unacknowledged: an ack that came meanwhile wins.
            let changed = diesel::update(
                jobs::table
                    .find(&j.id)
                    .filter(jobs::status.eq(status::READY))
                    .filter(jobs::updated_at.lt(cutoff)),
            )
            .set(&changes)
            .execute(conn)?;
            if changed == 0 {
                return Ok(None);
            }
            let current = job::get(conn, &j.id)?;
            job::emit(conn, &current, "job:failed", "wharf")?;
            Ok(Some(current))
        })?;
        failed.extend(done);
    }
    Ok(failed)
}

/// The oldest action job on a workbook (`sources`: its id and its sheets') other than
/// `not`, created at or after `since`: what an outcome's `next: wait` waits for.
pub fn started_after(
    conn: &mut AnyConnection,
    sources: &[String],
    not: &crate::ids::JobId,
    since: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::source.eq_any(sources))
        .filter(jobs::id.ne(not))
        .filter(jobs::job_type.eq_any(["workbook", "sheet"]))
        .filter(jobs::created_at.ge(since))
        .order((jobs::created_at.asc(), jobs::id.asc()))
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// The newest action job someone started on a workbook (`sources`: its id and its sheets')
/// whose outcome they have not acknowledged yet: the grid shows it again on a reload.
pub fn latest_unacknowledged(
    conn: &mut AnyConnection,
    sources: &[String],
    actor: &str,
) -> diesel::QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::source.eq_any(sources))
        .filter(jobs::created_by.eq(actor))
        .filter(jobs::job_type.eq_any(["workbook", "sheet"]))
        .filter(jobs::outcome_acknowledged_at.is_null())
        // A job not yet run (a mapping waiting in `planning`) is not the grid's to show as
        // running, nor to block the workbook.
        .filter(jobs::status.ne_all([
            crate::model::job::status::CREATED,
            crate::model::job::status::PLANNING,
            crate::model::job::status::SCHEDULED,
            crate::model::job::status::WAITING,
        ]))
        .order((jobs::created_at.desc(), jobs::id.desc()))
        .select(Job::as_select())
        .first(conn)
        .optional()
}
