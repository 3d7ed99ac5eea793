//! Webhook deliveries: the outbox rows `webhook::enqueue` writes with each event, claimed
//! and tried by the delivery worker (`workers::webhooks`). A claim is a lease: a row claimed
//! by a process that died is claimed again once the lease has run out, so every delivery is
//! tried at least once, crash or not.

use super::event::Event;
use super::now;
use super::webhook::Webhook;
use crate::db::schema::{events, webhook_attempts, webhook_deliveries, webhooks};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, WebhookDeliveryId, WebhookId};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

mod streaks;

pub mod status {
    pub const PENDING: &str = "pending";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_duration_ms: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// One try of a delivery, as the delivery log shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: WebhookDeliveryId,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub duration_ms: Option<i32>,
    pub response: Option<String>,
    pub error: Option<String>,
}

/// The tries of these deliveries, oldest first, by delivery.
pub fn attempts_of(
    conn: &mut AnyConnection,
    ids: &[WebhookDeliveryId],
) -> QueryResult<std::collections::HashMap<WebhookDeliveryId, Vec<AttemptRow>>> {
    let rows: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(ids))
        .order(webhook_attempts::id.asc())
        .select(AttemptRow::as_select())
        .load(conn)?;
    let mut out = std::collections::HashMap::<_, Vec<_>>::new();
    for r in rows {
        out.entry(r.delivery_id.clone()).or_default().push(r);
    }
    Ok(out)
}

/// A webhook's deliveries, newest first.
pub fn list(
    conn: &mut AnyConnection,
    webhook: &WebhookId,
    page_size: i64,
    page_number: i64,
) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(page_size)
        .offset((page_number - 1).saturating_mul(page_size))
        .select(Delivery::as_select())
        .load(conn)
}

pub fn find(
    conn: &mut AnyConnection,
    webhook: &WebhookId,
    id: &WebhookDeliveryId,
) -> QueryResult<Option<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .filter(webhook_deliveries::id.eq(id))
        .select(Delivery::as_select())
        .first(conn)
        .optional()
}

/// Queues a delivery for one more try now, whatever became of it (the same `webhook-id`);
/// false, and nothing changed, while a try of it is under way (claimed less than `lease`
/// ago): queued again then, it went out a second time beside that try, and only one of the
/// two was noted (probe 66a D4).
/// What a delivery sent again by hand says until its try: it is sent whatever became of
/// its job or commit.
pub const ON_REQUEST: &str = "sent again on request";

pub fn retry(conn: &mut AnyConnection, id: &WebhookDeliveryId, lease: TimeDelta) -> QueryResult<bool> {
    let t = now();
    let queued = crate::db::write(conn, |conn| {
        diesel::update(
            webhook_deliveries::table.find(id).filter(
                webhook_deliveries::claimed_at
                    .is_null()
                    .or(webhook_deliveries::claimed_at.lt(t - lease)),
            ),
        )
        .set((
            webhook_deliveries::status.eq(status::PENDING),
            webhook_deliveries::next_attempt_at.eq(Some(now())),
            webhook_deliveries::claimed_by.eq(None::<String>),
            webhook_deliveries::claimed_at.eq(None::<NaiveDateTime>),
            // Asked for by hand: sent whatever became of its job or commit (the last
            // try's outcome stays in the delivery's log of tries).
            webhook_deliveries::last_status_code.eq(None::<i32>),
            webhook_deliveries::last_error.eq(Some(ON_REQUEST)),
        ))
        .execute(conn)
    })?;
    Ok(queued == 1)
}

/// Takes up to `limit` due deliveries for `worker`, oldest due first: pending, due, and not
/// claimed, or claimed longer than `lease` ago (by a process that died). At most `per_hook(hook)`
/// of one webhook counting those it has `flying` already, so one slow receiver cannot
/// take every place. Picked from a read, then claimed by an update that checks again that
/// each is claimable: of two processes (PostgreSQL) picking one, one claims it.
pub fn claim_due(
    conn: &mut AnyConnection,
    worker: &str,
    lease: TimeDelta,
    limit: i64,
    places: &Places,
) -> QueryResult<Vec<Delivery>> {
    let t = now();
    let is_due = || {
        webhook_deliveries::status
            .eq(status::PENDING)
            .and(webhook_deliveries::next_attempt_at.le(t))
            .and(
                webhook_deliveries::claimed_at
                    .is_null()
                    .or(webhook_deliveries::claimed_at.lt(t - lease)),
            )
    };
    let due = || webhook_deliveries::table.filter(is_due());
    // Past the reserve's start, only light environments may claim.
    let env_room = |in_flight: usize| match in_flight >= places.reserved_past {
        true => places.per_env.min(places.light),
        false => places.per_env,
    };
    // A read first: an idle worker polls often, and on SQLite even an update that changes
    // nothing takes the write lock for a moment.
    // Webhooks and environments at their cap are left out of the read, not after it: a
    // long backlog of one would otherwise fill the read and hide every other's deliveries.
    let full: Vec<&WebhookId> = places
        .flying
        .iter()
        .filter(|(hook, n)| **n >= (places.per_hook)(hook))
        .map(|(hook, _)| hook)
        .collect();
    let full_envs: Vec<&EnvironmentId> = places
        .env_flying
        .iter()
        .filter(|(_, n)| **n >= env_room(places.in_flight))
        .map(|(env, _)| env)
        .collect();
    let candidates: Vec<(WebhookDeliveryId, WebhookId, EnvironmentId)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(is_due())
        .filter(webhook_deliveries::webhook_id.ne_all(&full))
        .filter(webhooks::environment_id.ne_all(&full_envs))
        .order((
            webhook_deliveries::next_attempt_at.asc(),
            webhook_deliveries::id.asc(),
        ))
        .limit(limit.saturating_mul(4))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhooks::environment_id,
        ))
        .load(conn)?;
    let mut taken: HashMap<&WebhookId, usize> = HashMap::new();
    let mut env_taken: HashMap<&EnvironmentId, usize> = HashMap::new();
    let mut in_flight = places.in_flight;
    let picked: Vec<&WebhookDeliveryId> = candidates
        .iter()
        .filter(|(_, hook, env)| {
            let n = taken
                .entry(hook)
                .or_insert_with(|| places.flying.get(hook).copied().unwrap_or(0));
            let e = env_taken
                .entry(env)
                .or_insert_with(|| places.env_flying.get(env).copied().unwrap_or(0));
            let fits = *n < (places.per_hook)(hook) && *e < env_room(in_flight);
            if fits {
                *n += 1;
                *e += 1;
                in_flight += 1;
            }
            fits
        })
        .map(|(id, _, _)| id)
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    crate::db::write(conn, |conn| {
        diesel::update(due().filter(webhook_deliveries::id.eq_any(&picked)))
            .set((
                webhook_deliveries::claimed_by.eq(worker),
                webhook_deliveries::claimed_at.eq(t),
            ))
            .execute(conn)
    })?;
    let mut claimed: Vec<Delivery> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&picked))
        .filter(webhook_deliveries::status.eq(status::PENDING))
        .filter(webhook_deliveries::claimed_by.eq(worker))
        .select(Delivery::as_select())
        .load(conn)?;
    claimed.sort_by_key(|d| d.next_attempt_at);
    Ok(claimed)
}

/// How many deliveries may be in flight, and how many are: per webhook and per
/// environment (see `workers::webhook_places`).
pub struct Places<'a> {
    pub per_hook: &'a dyn Fn(&WebhookId) -> usize,
    pub flying: &'a HashMap<WebhookId, usize>,
    pub per_env: usize,
    pub env_flying: &'a HashMap<EnvironmentId, usize>,
    /// Deliveries in flight in all, and past how many only an environment with fewer
    /// than `light` in flight may have another.
    pub in_flight: usize,
    pub reserved_past: usize,
    pub light: usize,
}

/// What a batch of claimed deliveries needs to be sent: their webhooks and events, read in
/// one query each. An event is only its own webhook environment's (checked by the caller).
pub fn webhooks_and_events(
    conn: &mut AnyConnection,
    batch: &[Delivery],
) -> QueryResult<(HashMap<WebhookId, Webhook>, HashMap<i64, Event>)> {
    let mut hook_ids: Vec<&WebhookId> = batch.iter().map(|d| &d.webhook_id).collect();
    hook_ids.sort();
    hook_ids.dedup();
    let hooks: Vec<Webhook> = webhooks::table
        .filter(webhooks::id.eq_any(hook_ids))
        .select(Webhook::as_select())
        .load(conn)?;
    let event_ids: Vec<i64> = batch.iter().map(|d| d.event_id).collect();
    let events: Vec<Event> = events::table
        .filter(events::id.eq_any(event_ids))
        .select(Event::as_select())
        .load(conn)?;
    Ok((
        hooks.into_iter().map(|h| (h.id.clone(), h)).collect(),
        events.into_iter().map(|e| (e.id, e)).collect(),
    ))
}

/// What one try came to.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub duration_ms: Option<i32>,
    /// The first 2 KB of the answer.
    pub response: Option<String>,
    pub error: Option<String>,
}

/// What happens after a try.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Delivered,
    /// Try again at that time.
    RetryAt(NaiveDateTime),
    /// No more tries; the webhook is disabled too when a reason is given.
    GiveUp {
        disable: Option<String>,
    },
}

/// A webhook turned off because every delivery failed for the whole window, so that its
/// admins are told.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedTooLong {
    pub webhook_id: WebhookId,
    /// When the failing began.
    pub since: NaiveDateTime,
    /// The disabled reason noted.
    pub reason: String,
}

/// A claimed delivery, its try, and what follows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivery: Delivery,
    pub attempt: Attempt,
    pub next: Next,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_attempts)]
struct NewAttempt<'a> {
    delivery_id: &'a WebhookDeliveryId,
    attempted_at: NaiveDateTime,
    status_code: Option<i32>,
    duration_ms: Option<i32>,
    response: Option<&'a str>,
    error: Option<&'a str>,
}

/// Notes the tries of a batch of deliveries this worker claimed, in one write transaction
/// (on SQLite every write transaction waits for the one writer, events' inserts too).
/// Failures count toward each webhook's failing streak; a webhook whose deliveries all
/// failed for `disable_after` is disabled, and then (only then: once, whichever process
/// notes it) it is returned.
pub fn record_all(
    conn: &mut AnyConnection,
    worker: &str,
    outcomes: &[Outcome],
    disable_after: TimeDelta,
) -> QueryResult<Vec<FailedTooLong>> {
    crate::db::write_tx(conn, |conn| {
        let mut noted = Vec::with_capacity(outcomes.len());
        if let AnyConnection::Postgres(pg) = conn {
            let ids = note_deliveries_pg(pg, worker, outcomes)?;
            noted.extend(outcomes.iter().filter(|o| ids.contains(o.delivery.id.as_str())));
        } else {
            for o in outcomes {
                if note_delivery(conn, worker, o)? {
                    noted.push(o);
                }
            }
        }
        if noted.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<NewAttempt> = noted
            .iter()
            .map(|o| NewAttempt {
                delivery_id: &o.delivery.id,
                attempted_at: o.attempt.at,
                status_code: o.attempt.status_code,
                duration_ms: o.attempt.duration_ms,
                response: o.attempt.response.as_deref(),
                error: o.attempt.error.as_deref(),
            })
            .collect();
        crate::on_backend!(conn, c => diesel::insert_into(webhook_attempts::table)
            .values(&rows)
            .execute(c))?;
        noted.sort_by_key(|o| o.attempt.at);
        streaks::note(conn, &noted, disable_after)
    })
}

/// Notes one try on its delivery row; `false` when another process took the delivery over
/// after this worker's lease ran out (its try counts, not this one).
fn note_delivery(conn: &mut AnyConnection, worker: &str, o: &Outcome) -> QueryResult<bool> {
    let (state, next_at) = state_after(&o.next);
    let a = &o.attempt;
    let n = diesel::update(
        webhook_deliveries::table
            .find(&o.delivery.id)
            .filter(webhook_deliveries::claimed_by.eq(worker)),
    )
    .set((
        webhook_deliveries::status.eq(state),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::next_attempt_at.eq(next_at),
        webhook_deliveries::last_attempt_at.eq(Some(a.at)),
        webhook_deliveries::last_status_code.eq(a.status_code),
        webhook_deliveries::last_duration_ms.eq(a.duration_ms),
        webhook_deliveries::last_response.eq(&a.response),
        webhook_deliveries::last_error.eq(&a.error),
        webhook_deliveries::claimed_by.eq(None::<String>),
        webhook_deliveries::claimed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A delivery's status and next try after a try.
fn state_after(next: &Next) -> (&'static str, Option<NaiveDateTime>) {
    match next {
        Next::Delivered => (status::DELIVERED, None),
        Next::RetryAt(t) => (status::PENDING, Some(*t)),
        Next::GiveUp { .. } => (status::FAILED, None),
    }
}

#[derive(QueryableByName)]
struct Noted {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// PostgreSQL: `note_delivery` for the whole batch in one statement, as a round trip per
/// delivery adds up there (the server shares the cores). Returns the ids noted: those still
/// claimed by `worker`.
fn note_deliveries_pg(
    pg: &mut diesel::PgConnection,
    worker: &str,
    outcomes: &[Outcome],
) -> QueryResult<HashSet<String>> {
    use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
    if outcomes.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<String> = (0..outcomes.len())
        .map(|i| {
            let params: Vec<String> = (0..8).map(|k| format!("${}", 2 + i * 8 + k)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "UPDATE webhook_deliveries AS d SET status = v.status, attempts = d.attempts + 1, \
         next_attempt_at = v.next_at, last_attempt_at = v.at, last_status_code = v.code, \
         last_duration_ms = v.ms, last_response = v.resp, last_error = v.err, \
         claimed_by = NULL, claimed_at = NULL \
         FROM (VALUES {}) AS v(id, status, next_at, at, code, ms, resp, err) \
         WHERE d.id = v.id AND d.claimed_by = $1 RETURNING d.id",
        rows.join(", ")
    );
    let mut q = diesel::sql_query(sql)
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Text, _>(worker.to_string());
    for o in outcomes {
        let (state, next_at) = state_after(&o.next);
        let a = &o.attempt;
        q = q
            .bind::<Text, _>(o.delivery.id.as_str().to_string())
            .bind::<Text, _>(state)
            .bind::<Nullable<Timestamp>, _>(next_at)
            .bind::<Timestamp, _>(a.at)
            .bind::<Nullable<Integer>, _>(a.status_code)
            .bind::<Nullable<Integer>, _>(a.duration_ms)
            .bind::<Nullable<Text>, _>(a.response.clone())
            .bind::<Nullable<Text>, _>(a.error.clone());
    }
    let noted: Vec<Noted> = q.load(pg)?;
    Ok(noted.into_iter().map(|n| n.id).collect())
}
