//! Invitations the mail server did not take are tried again in the background: first after
//! `WHARF_MAIL_RETRY_SECONDS`, then twice as long each time (at most an hour apart), until
//! they go or the link they would carry would have expired. Each try makes a fresh link.
//! The Guests tab and the People page show what is waiting and why. Every process may run
//! this loop; a try is claimed in the database first, so one process makes it.
//!
//! It runs on a narrow [`Context`] (pool, mailer, settings), so a test can start it alone.

use super::Running;
use crate::db::Pool;
use crate::mail::{MailError, Mailer};
use crate::model::mail_retry::{self, MailRetry, Target};
use crate::model::{guest, space, team, user, ModelError};
use crate::ops::invitations::{self, Failure, Invitation};
use crate::settings::Settings;
use chrono::TimeDelta;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long a claimed try may take before another process may take it up.
const HOLD: TimeDelta = TimeDelta::minutes(5);
/// The longest pause between two tries.
const MAX_DELAY: TimeDelta = TimeDelta::hours(1);

/// What the loop needs, and nothing of the web.
#[derive(Clone)]
pub struct Context {
    pub pool: Pool,
    pub mail: Arc<Mailer>,
    pub settings: Settings,
}

impl Context {
    fn ops(&self) -> crate::ops::Context<'_> {
        crate::ops::Context {
            pool: &self.pool,
            mail: &self.mail,
            settings: &self.settings,
        }
    }
}

/// The pause after `tries` failed tries, the first pause being `first`.
fn delay_after(first: TimeDelta, tries: i32) -> TimeDelta {
    let doublings = (tries - 1).clamp(0, 16) as u32;
    (first * 2i32.pow(doublings)).min(MAX_DELAY)
}

/// Starts the loop on its own thread; it makes the tries due until the returned handle is
/// dropped.
pub fn start(ctx: Context) -> anyhow::Result<Running> {
    let (running, alive) = Running::new();
    let tick = Duration::from_secs(ctx.settings.mail_retry_seconds.clamp(1, 15));
    std::thread::Builder::new()
        .name("wharf-mail-retry".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "mail retries cannot start"),
            };
            rt.block_on(run(ctx, alive, tick));
        })?;
    Ok(running)
}

async fn run(ctx: Context, alive: Weak<()>, tick: Duration) {
    loop {
        tokio::time::sleep(tick).await;
        if alive.strong_count() == 0 {
            return;
        }
        let due = match ctx.ops().db(|conn| mail_retry::claim_due(conn, HOLD, 20)).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "mail retries: reading the waiting invitations failed");
                continue;
            }
        };
        for r in due {
            try_again(&ctx, r).await;
        }
    }
}

/// What became of one try.
enum Outcome {
    Sent,
    /// The person or their access is gone, or they joined meanwhile: nothing to send.
    NotWanted,
}

async fn try_again(ctx: &Context, r: MailRetry) {
    let ops = ctx.ops();
    // One try that panics (a bug, a library's) is a failed try; it must not end the loop,
    // which would leave every later invitation waiting, after each restart too.
    let attempt = AssertUnwindSafe(async {
        match Target::parse(&r.target) {
            Some(Target::Guest(g, s)) => guest_again(&ops, &r, g, s).await,
            Some(Target::Member(u)) => member_again(&ops, &r, u).await,
            None => Ok(Outcome::NotWanted),
        }
    })
    .catch_unwind()
    .await;
    let outcome = attempt.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Failure::Mail(MailError::Build(format!(
            "the try crashed ({why})"
        ))))
    });
    let id = r.id;
    let done = match outcome {
        Ok(outcome) => {
            if matches!(outcome, Outcome::Sent) {
                tracing::info!(target = %r.target, tries = r.tries + 1, "a waiting invitation was sent");
            }
            ops.db(move |conn| mail_retry::done(conn, id)).await
        }
        Err(e) => {
            let (error, permanent) = match e {
                Failure::Mail(m) => (m.to_string(), m.is_permanent()),
                Failure::Other(other) => (other.to_string(), false),
            };
            tracing::warn!(target = %r.target, tries = r.tries + 1, error = %error, permanent, "a waiting invitation failed again");
            let first = invitations::first_delay(&ops);
            let next = (!permanent).then(|| crate::model::now() + delay_after(first, r.tries + 1));
            ops.db(move |conn| mail_retry::tried(conn, &r, &error, next))
                .await
        }
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "mail retries: noting a try failed");
    }
}

async fn guest_again(
    ops: &crate::ops::Context<'_>,
    r: &MailRetry,
    gid: crate::ids::GuestId,
    sid: crate::ids::SpaceId,
) -> Result<Outcome, Failure> {
    let found = ops
        .db(move |conn| {
            let Some(g) = guest::find_any(conn, &gid)? else {
                return Ok::<_, ModelError>(None);
            };
            if !guest::spaces_of(conn, &g.id)?.iter().any(|m| m.space_id == sid) {
                return Ok(None);
            }
            Ok(space::find(conn, &g.environment_id, &sid)?.map(|s| (g, s)))
        })
        .await?;
    // Not for a space archived while it waited: its link could not open it (probe 49a F4).
    let Some((g, s)) = found.filter(|(_, s)| s.archived_at.is_none()) else {
        return Ok(Outcome::NotWanted);
    };
    let inv = Invitation {
        from_name: r.from_name.as_deref(),
        message: r.message.as_deref(),
    };
    invitations::deliver(ops, &g, &s, &inv).await?;
    Ok(Outcome::Sent)
}

async fn member_again(
    ops: &crate::ops::Context<'_>,
    r: &MailRetry,
    uid: crate::ids::UserId,
) -> Result<Outcome, Failure> {
    let found = ops
        .db(move |conn| {
            let Some(u) = team::find(conn, &uid)? else {
                return Ok::<_, ModelError>(None);
            };
            Ok((!u.has_password()).then_some(u))
        })
        .await?;
    let Some(person): Option<user::User> = found else {
        return Ok(Outcome::NotWanted);
    };
    invitations::deliver_member(ops, &r.invited_by, &person).await?;
    Ok(Outcome::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_an_hour() {
        let first = TimeDelta::seconds(60);
        assert_eq!(delay_after(first, 1), TimeDelta::seconds(60));
        assert_eq!(delay_after(first, 2), TimeDelta::seconds(120));
        assert_eq!(delay_after(first, 6), TimeDelta::seconds(1920));
        assert_eq!(delay_after(first, 7), TimeDelta::hours(1));
        assert_eq!(delay_after(first, 400), TimeDelta::hours(1));
    }
}
