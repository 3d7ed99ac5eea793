//! What a batch of noted tries does to its webhooks: a delivery ends a failing streak, a
//! failure starts one or, once it has lasted `disable_after`, turns the webhook off; a
//! `410 Gone` answer turns it off at once. Each webhook is read once and written only
//! when something changed, however many of its deliveries the batch holds.

use super::{FailedTooLong, Next, Outcome};
use crate::db::schema::webhooks;
use crate::db::AnyConnection;
use crate::ids::WebhookId;
use crate::model::now;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

/// A webhook's state as the batch's tries, oldest first, leave it.
struct Streak {
    enabled: bool,
    failing_since: Option<NaiveDateTime>,
    /// Why a `410 Gone` turned it off.
    gone: Option<String>,
    /// Failing for the whole window: turn it off and tell the admins.
    too_long: Option<FailedTooLong>,
}

impl Streak {
    fn step(&mut self, o: &Outcome, disable_after: TimeDelta) {
        match &o.next {
            Next::Delivered => self.failing_since = None,
            Next::GiveUp {
                disable: Some(reason),
            } => {
                self.enabled = false;
                self.gone = Some(reason.clone());
            }
            // A webhook already off keeps the reason it was turned off for.
            _ if !self.enabled => {}
            _ => match self.failing_since {
                None => self.failing_since = Some(o.attempt.at),
                Some(since) if o.attempt.at - since >= disable_after => {
                    self.enabled = false;
                    self.too_long = Some(FailedTooLong {
                        webhook_id: o.delivery.webhook_id.clone(),
                        since,
                        reason: format!(
                            "every delivery failed for {} days; last error: {}",
                            disable_after.num_days(),
                            o.attempt.error.as_deref().unwrap_or("unknown")
                        ),
                    });
                }
                Some(_) => {}
            },
        }
    }
}

/// A failing webhook that takes a delivery again (its listener back after a restart) gets
/// its deliveries waiting for a later retry now, not minutes later (probe 74c D1: a
/// Submit's `job:ready` waited five minutes behind the events sent after it). Only at the
/// end of a failing streak: a webhook that never failed has none waiting.
fn catch_up(conn: &mut AnyConnection, id: &WebhookId) -> QueryResult<usize> {
    use crate::db::schema::webhook_deliveries;
    let t = now();
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id))
            .filter(webhook_deliveries::status.eq(super::status::PENDING))
            .filter(webhook_deliveries::next_attempt_at.gt(t))
            .filter(webhook_deliveries::claimed_by.is_null()),
    )
    .set(webhook_deliveries::next_attempt_at.eq(Some(t)))
    .execute(conn)
}

/// Applies the tries in `noted` (oldest first) to their webhooks; returns the webhooks
/// this call turned off for failing too long.
pub(super) fn note(
    conn: &mut AnyConnection,
    noted: &[&Outcome],
    disable_after: TimeDelta,
) -> QueryResult<Vec<FailedTooLong>> {
    let mut ids: Vec<&WebhookId> = noted.iter().map(|o| &o.delivery.webhook_id).collect();
    ids.sort();
    ids.dedup();
    let found: Vec<(WebhookId, bool, Option<NaiveDateTime>)> = webhooks::table
        .filter(webhooks::id.eq_any(ids))
        .select((webhooks::id, webhooks::enabled, webhooks::failing_since))
        .load(conn)?;
    let mut off = Vec::new();
    for (id, enabled, failing_since) in found {
        let mut s = Streak {
            enabled,
            failing_since,
            gone: None,
            too_long: None,
        };
        for o in noted.iter().filter(|o| o.delivery.webhook_id == id) {
            s.step(o, disable_after);
        }
        let back = noted
            .iter()
            .any(|o| o.delivery.webhook_id == id && matches!(o.next, Next::Delivered));
        if failing_since.is_some() && back {
            catch_up(conn, &id)?;
        }
        let hook = webhooks::table.find(&id);
        if s.failing_since != failing_since {
            diesel::update(hook)
                .set(webhooks::failing_since.eq(s.failing_since))
                .execute(conn)?;
        }
        if let Some(too_long) = s.too_long {
            // Only while still on: two processes noting failures at once turn it off (and
            // tell the admins) once.
            let turned_off = diesel::update(hook.filter(webhooks::enabled.eq(true)))
                .set((
                    webhooks::enabled.eq(false),
                    webhooks::disabled_reason.eq(Some(&too_long.reason)),
                    webhooks::updated_at.eq(now()),
                ))
                .execute(conn)?;
            if turned_off == 1 {
                off.push(too_long);
            }
        }
        if let Some(reason) = s.gone {
            crate::model::webhook::disable(conn, &id, &reason)?;
        }
    }
    Ok(off)
}
