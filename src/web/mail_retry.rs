//! Invitations the mail server did not take are tried again in the background: first after
//! `WHARF_MAIL_RETRY_SECONDS`, then twice as long each time (at most an hour apart), until
//! they go or the link they would carry would have expired. Each try makes a fresh link.
//! The Guests tab and the People page show what is waiting and why. Every process may run
//! this loop; a try is claimed in the database first, so one process makes it.

use crate::app::AppState;
use crate::mail::MailError;
use crate::model::mail_retry::{self, MailRetry, Target, Waiting};
use crate::model::{guest, space, team, user, ModelError};
use crate::web::error::AppError;
use crate::web::invitations::{self, Failure, Invitation};
use chrono::TimeDelta;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long a claimed try may take before another process may take it up.
const HOLD: TimeDelta = TimeDelta::minutes(5);
/// The longest pause between two tries.
const MAX_DELAY: TimeDelta = TimeDelta::hours(1);

pub fn first_delay(state: &AppState) -> TimeDelta {
    TimeDelta::seconds(state.settings.mail_retry_seconds as i64)
}

/// The pause after `tries` failed tries, the first pause being `first`.
fn delay_after(first: TimeDelta, tries: i32) -> TimeDelta {
    let doublings = (tries - 1).clamp(0, 16) as u32;
    (first * 2i32.pow(doublings)).min(MAX_DELAY)
}

/// Keeps the invitation for another try and answers the error the person sees.
pub async fn queue(state: &AppState, waiting: Waiting) -> AppError {
    let shown = if waiting.permanent {
        format!(
            "{}. Nothing was sent, and Wharf does not try again: correct what it says, then \
             send a new link.",
            waiting.error.trim_end_matches('.')
        )
    } else {
        format!(
            "{}. Nothing was sent yet; Wharf tries again in the background for the next {} hours \
             and shows the invitation as waiting until it goes.",
            waiting.error.trim_end_matches('.'),
            waiting.lifetime.num_hours()
        )
    };
    match state.db(move |conn| mail_retry::queue(conn, &waiting)).await {
        Ok(()) => AppError::Mail(shown),
        Err(e) => e,
    }
}

/// The invitation went (or is no longer wanted): nothing waits for `target` any more.
pub async fn forget(state: &AppState, target: Target) -> Result<(), AppError> {
    state.db(move |conn| mail_retry::clear(conn, &target)).await
}

/// Starts the loop that makes the tries due; it ends with the application.
pub fn start(state: &Arc<AppState>) -> anyhow::Result<()> {
    let weak = Arc::downgrade(state);
    let tick = Duration::from_secs(state.settings.mail_retry_seconds.clamp(1, 15));
    std::thread::Builder::new()
        .name("wharf-mail-retry".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "mail retries cannot start"),
            };
            rt.block_on(run(weak, tick));
        })?;
    Ok(())
}

async fn run(state: Weak<AppState>, tick: Duration) {
    loop {
        tokio::time::sleep(tick).await;
        let Some(st) = state.upgrade() else { return };
        let due = match st.db(|conn| mail_retry::claim_due(conn, HOLD, 20)).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "mail retries: reading the waiting invitations failed");
                continue;
            }
        };
        for r in due {
            try_again(&st, r).await;
        }
    }
}

/// What became of one try.
enum Outcome {
    Sent,
    /// The person or their access is gone, or they joined meanwhile: nothing to send.
    NotWanted,
}

async fn try_again(state: &AppState, r: MailRetry) {
    // One try that panics (a bug, a library's) is a failed try; it must not end the loop,
    // which would leave every later invitation waiting, after each restart too.
    let attempt = AssertUnwindSafe(async {
        match Target::parse(&r.target) {
            Some(Target::Guest(g, s)) => guest_again(state, &r, g, s).await,
            Some(Target::Member(u)) => member_again(state, &r, u).await,
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
            state.db(move |conn| mail_retry::done(conn, id)).await
        }
        Err(e) => {
            let (error, permanent) = match e {
                Failure::Mail(m) => (m.to_string(), m.is_permanent()),
                Failure::Other(other) => (other.to_string(), false),
            };
            tracing::warn!(target = %r.target, tries = r.tries + 1, error = %error, permanent, "a waiting invitation failed again");
            let next =
                (!permanent).then(|| crate::model::now() + delay_after(first_delay(state), r.tries + 1));
            state
                .db(move |conn| mail_retry::tried(conn, &r, &error, next))
                .await
        }
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "mail retries: noting a try failed");
    }
}

async fn guest_again(
    state: &AppState,
    r: &MailRetry,
    gid: crate::ids::GuestId,
    sid: crate::ids::SpaceId,
) -> Result<Outcome, Failure> {
    let found = state
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
    let Some((g, s)) = found else {
        return Ok(Outcome::NotWanted);
    };
    let inv = Invitation {
        from_name: r.from_name.as_deref(),
        message: r.message.as_deref(),
    };
    invitations::deliver(state, &g, &s, &inv).await?;
    Ok(Outcome::Sent)
}

async fn member_again(state: &AppState, r: &MailRetry, uid: crate::ids::UserId) -> Result<Outcome, Failure> {
    let found = state
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
    crate::web::pages::people::deliver_invite(state, &r.invited_by, &person).await?;
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
