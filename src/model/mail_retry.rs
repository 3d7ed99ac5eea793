//! Invitations waiting for the mail server: when SMTP does not take an invitation, the
//! person who sent it is told at once and the invitation waits here, to be tried again in
//! the background (`workers::mail_retry`) until it goes or its link would have expired. A row
//! holds what to send and to whom, never a link: each try makes a fresh one.

use super::now;
use crate::db::schema::mail_retries;
use crate::db::AnyConnection;
use crate::ids::{GuestId, SpaceId, UserId};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = mail_retries)]
pub struct MailRetry {
    pub id: i64,
    pub target: String,
    pub from_name: Option<String>,
    pub message: Option<String>,
    pub invited_by: String,
    pub tries: i32,
    pub last_error: String,
    pub next_try_at: NaiveDateTime,
    pub give_up_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// Never tried again: the mail cannot go as it is.
    pub permanent: bool,
}

impl MailRetry {
    pub fn given_up(&self) -> bool {
        self.next_try_at >= self.give_up_at
    }

    /// What the pages say of it.
    pub fn describe(&self) -> String {
        let times = if self.tries == 1 {
            "once".to_string()
        } else {
            format!("{} times", self.tries)
        };
        if self.permanent {
            format!(
                "Mail not sent: {}. It is not tried again; correct what it says, then send a new link.",
                self.last_error.trim_end_matches('.')
            )
        } else if self.given_up() {
            format!(
                "Mail not sent: tried {times} until its link would have expired; last error: {}. Send a new link.",
                self.last_error
            )
        } else {
            format!(
                "Mail waiting: tried {times}, next try at {} UTC; last error: {}",
                self.next_try_at.format("%H:%M:%S"),
                self.last_error
            )
        }
    }
}

/// Whom a waiting invitation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A guest, to one space.
    Guest(GuestId, SpaceId),
    /// A team member who has not joined yet.
    Member(UserId),
}

impl Target {
    pub fn key(&self) -> String {
        match self {
            Target::Guest(g, s) => format!("guest:{g}:{s}"),
            Target::Member(u) => format!("member:{u}"),
        }
    }

    pub fn parse(key: &str) -> Option<Target> {
        match key.split(':').collect::<Vec<_>>()[..] {
            ["guest", g, s] => Some(Target::Guest(GuestId::parse(g)?, SpaceId::parse(s)?)),
            ["member", u] => Some(Target::Member(UserId::parse(u)?)),
            _ => None,
        }
    }
}

/// What to send again, and why the first try failed.
pub struct Waiting {
    pub target: Target,
    pub from_name: Option<String>,
    pub message: Option<String>,
    pub invited_by: String,
    pub error: String,
    /// Until the next try.
    pub delay: TimeDelta,
    /// Until it is given up (the life of the link it would carry).
    pub lifetime: TimeDelta,
    /// The mail can never go as it is: kept to show why, never tried again.
    pub permanent: bool,
}

/// Keeps an invitation to try again (or, when permanent, only to show why it failed); it
/// replaces one already waiting for the same person.
pub fn queue(conn: &mut AnyConnection, w: &Waiting) -> QueryResult<()> {
    let t = now();
    let key = w.target.key();
    let (next, give_up) = if w.permanent {
        (t, t)
    } else {
        (t + w.delay, t + w.lifetime)
    };
    crate::db::write_tx(conn, |conn| {
        diesel::delete(mail_retries::table.filter(mail_retries::target.eq(&key))).execute(conn)?;
        diesel::insert_into(mail_retries::table)
            .values((
                mail_retries::target.eq(&key),
                mail_retries::from_name.eq(&w.from_name),
                mail_retries::message.eq(&w.message),
                mail_retries::invited_by.eq(&w.invited_by),
                mail_retries::tries.eq(1),
                mail_retries::last_error.eq(&w.error),
                mail_retries::next_try_at.eq(next),
                mail_retries::give_up_at.eq(give_up),
                mail_retries::created_at.eq(t),
                mail_retries::permanent.eq(w.permanent),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Forgets what waits for `target` (its invitation went, or it is no longer wanted).
pub fn clear(conn: &mut AnyConnection, target: &Target) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::delete(mail_retries::table.filter(mail_retries::target.eq(target.key()))).execute(conn)
    })?;
    Ok(())
}

/// Takes up to `limit` invitations due for a try, each for this process alone: its next
/// try moves `hold` ahead first, so another process (or a crash) does not send it twice
/// meanwhile.
pub fn claim_due(conn: &mut AnyConnection, hold: TimeDelta, limit: i64) -> QueryResult<Vec<MailRetry>> {
    let t = now();
    let due: Vec<MailRetry> = mail_retries::table
        .filter(mail_retries::next_try_at.le(t))
        .filter(mail_retries::next_try_at.lt(mail_retries::give_up_at))
        .order(mail_retries::next_try_at.asc())
        .limit(limit)
        .select(MailRetry::as_select())
        .load(conn)?;
    let mut claimed = Vec::new();
    for r in due {
        let taken = crate::db::write_tx(conn, |conn| {
            diesel::update(
                mail_retries::table
                    .find(r.id)
                    .filter(mail_retries::next_try_at.eq(r.next_try_at)),
            )
            .set(mail_retries::next_try_at.eq(t + hold))
            .execute(conn)
        })?;
        if taken == 1 {
            claimed.push(r);
        }
    }
    Ok(claimed)
}

/// Notes a failed try; the next one is at `next`, or never when that is past giving up
/// (`next` is None: the failure is permanent, no try follows).
pub fn tried(
    conn: &mut AnyConnection,
    r: &MailRetry,
    error: &str,
    next: Option<NaiveDateTime>,
) -> QueryResult<()> {
    let next_try = next.map_or(r.give_up_at, |n| n.min(r.give_up_at));
    crate::db::write_tx(conn, |conn| {
        diesel::update(mail_retries::table.find(r.id))
            .set((
                mail_retries::tries.eq(mail_retries::tries + 1),
                mail_retries::last_error.eq(error),
                mail_retries::next_try_at.eq(next_try),
                mail_retries::permanent.eq(next.is_none()),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// The try of `id` went (or was not wanted any more).
pub fn done(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::delete(mail_retries::table.find(id)).execute(conn)
    })?;
    Ok(())
}

/// Every invitation waiting or given up, oldest first (a handful at most).
pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<MailRetry>> {
    mail_retries::table
        .order(mail_retries::created_at.asc())
        .select(MailRetry::as_select())
        .load(conn)
}

/// The one waiting for `target`, if any.
pub fn find(conn: &mut AnyConnection, target: &Target) -> QueryResult<Option<MailRetry>> {
    mail_retries::table
        .filter(mail_retries::target.eq(target.key()))
        .select(MailRetry::as_select())
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_back_from_their_keys() {
        let g = Target::Guest(GuestId::generate(), SpaceId::generate());
        let m = Target::Member(UserId::generate());
        assert_eq!(Target::parse(&g.key()), Some(g));
        assert_eq!(Target::parse(&m.key()), Some(m));
        assert_eq!(Target::parse("guest:nonsense"), None);
    }
}
