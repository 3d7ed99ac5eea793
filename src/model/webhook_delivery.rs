//! Webhook deliveries: the outbox rows `webhook::enqueue` writes with each event, claimed
//! and tried by the delivery worker (`workers::webhooks`). A claim is a lease: a row claimed
//! by a process that died is claimed again once the lease has run out, so every delivery is
//! tried at least once, crash or not.

use super::now;
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhooks};
use crate::db::{AnyConnection, Backend};
use crate::ids::{WebhookDeliveryId, WebhookId};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

pub mod status {
    pub const PENDING: &str = "pending";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
}

#[derive(Debug, Clone, Queryable, Selectable)]
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
        .offset((page_number - 1) * page_size)
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

/// Queues a delivery for one more try now, whatever became of it (the same `webhook-id`).
pub fn retry(conn: &mut AnyConnection, id: &WebhookDeliveryId) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(status::PENDING),
            webhook_deliveries::next_attempt_at.eq(Some(now())),
            webhook_deliveries::claimed_by.eq(None::<String>),
            webhook_deliveries::claimed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Takes up to `limit` due deliveries for `worker`: pending, due, and not claimed, or
/// claimed longer than `lease` ago (by a process that died). On PostgreSQL several
/// processes share them (`FOR UPDATE SKIP LOCKED`); SQLite's single writer makes the one
/// statement atomic.
pub fn claim_due(
    conn: &mut AnyConnection,
    worker: &str,
    lease: TimeDelta,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    let lock = match crate::db::backend_of(conn) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET claimed_by = $1, claimed_at = $2 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' \
         AND next_attempt_at <= $2 AND (claimed_at IS NULL OR claimed_at < $3) \
         ORDER BY next_attempt_at LIMIT $4{lock}) RETURNING id"
    );
    let t = now();
    // A read first: an idle worker polls often, and on SQLite even an UPDATE that changes
    // nothing takes the write lock for a moment.
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(status::PENDING))
        .filter(webhook_deliveries::next_attempt_at.le(t))
        .filter(
            webhook_deliveries::claimed_at
                .is_null()
                .or(webhook_deliveries::claimed_at.lt(t - lease)),
        )
        .select(webhook_deliveries::id)
        .first::<WebhookDeliveryId>(conn)
        .optional()?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let claimed: Vec<Claimed> = crate::on_backend!(conn, c => diesel::sql_query(&sql)
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(t)
        .bind::<Timestamp, _>(t - lease)
        .bind::<BigInt, _>(limit)
        .load(c))?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = claimed.into_iter().map(|c| c.id).collect();
    webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(ids))
        .filter(webhook_deliveries::claimed_by.eq(worker))
        .order(webhook_deliveries::next_attempt_at.asc())
        .select(Delivery::as_select())
        .load(conn)
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

/// Notes a try of a delivery this worker claimed. Failures count toward the webhook's
/// failing streak; a webhook whose deliveries all failed for `disable_after` is disabled,
/// and then (only then: once, whichever process notes it) it is returned.
pub fn record(
    conn: &mut AnyConnection,
    d: &Delivery,
    worker: &str,
    attempt: &Attempt,
    next: &Next,
    disable_after: TimeDelta,
) -> QueryResult<Option<FailedTooLong>> {
    let (state, next_at) = match next {
        Next::Delivered => (status::DELIVERED, None),
        Next::RetryAt(t) => (status::PENDING, Some(*t)),
        Next::GiveUp { .. } => (status::FAILED, None),
    };
    crate::db::write_tx(conn, |conn| {
        let n = diesel::update(
            webhook_deliveries::table
                .find(&d.id)
                .filter(webhook_deliveries::claimed_by.eq(worker)),
        )
        .set((
            webhook_deliveries::status.eq(state),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::next_attempt_at.eq(next_at),
            webhook_deliveries::last_attempt_at.eq(Some(attempt.at)),
            webhook_deliveries::last_status_code.eq(attempt.status_code),
            webhook_deliveries::last_duration_ms.eq(attempt.duration_ms),
            webhook_deliveries::last_response.eq(&attempt.response),
            webhook_deliveries::last_error.eq(&attempt.error),
            webhook_deliveries::claimed_by.eq(None::<String>),
            webhook_deliveries::claimed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        if n == 0 {
            // Another process took it over after our lease ran out; its try counts.
            return Ok(None);
        }
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(&d.id),
                webhook_attempts::attempted_at.eq(attempt.at),
                webhook_attempts::status_code.eq(attempt.status_code),
                webhook_attempts::duration_ms.eq(attempt.duration_ms),
                webhook_attempts::response.eq(&attempt.response),
                webhook_attempts::error.eq(&attempt.error),
            ))
            .execute(conn)?;
        let hook = webhooks::table.find(&d.webhook_id);
        match next {
            Next::Delivered => {
                diesel::update(hook)
                    .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            }
            Next::GiveUp {
                disable: Some(reason),
            } => {
                super::webhook::disable(conn, &d.webhook_id, reason)?;
            }
            _ => {
                // A webhook already off keeps the reason it was turned off for.
                let since: Option<Option<NaiveDateTime>> = hook
                    .filter(webhooks::enabled.eq(true))
                    .select(webhooks::failing_since)
                    .first(conn)
                    .optional()?;
                match since {
                    None => {}
                    Some(None) => {
                        diesel::update(hook)
                            .set(webhooks::failing_since.eq(Some(attempt.at)))
                            .execute(conn)?;
                    }
                    Some(Some(since)) if attempt.at - since >= disable_after => {
                        let reason = format!(
                            "every delivery failed for {} days; last error: {}",
                            disable_after.num_days(),
                            attempt.error.as_deref().unwrap_or("unknown")
                        );
                        // Only while still on: two processes noting failures at once turn
                        // it off (and tell the admins) once.
                        let turned_off = diesel::update(hook.filter(webhooks::enabled.eq(true)))
                            .set((
                                webhooks::enabled.eq(false),
                                webhooks::disabled_reason.eq(Some(&reason)),
                                webhooks::updated_at.eq(now()),
                            ))
                            .execute(conn)?;
                        if turned_off == 1 {
                            return Ok(Some(FailedTooLong {
                                webhook_id: d.webhook_id.clone(),
                                since,
                                reason,
                            }));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(None)
    })
}
