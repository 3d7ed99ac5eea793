//! Sign-in attempts, counted in the database so that every Wharf process sharing it
//! applies the same limits (the policy is in `auth::throttle`); invitations are counted
//! here too, under their own keys (`ops::invitations::allow`, through [`take`]).

use super::now;
use crate::db::schema::sign_in_attempts;
use crate::db::AnyConnection;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

/// Counts one attempt under each `(key, limit)`, or, when any key has used its limit
/// within `window`, counts nothing and answers how long until it may try again. Returns
/// the counted rows' ids in the order of `keys`.
pub fn begin(
    conn: &mut AnyConnection,
    keys: &[(String, usize)],
    window: TimeDelta,
) -> QueryResult<Result<Vec<i64>, TimeDelta>> {
    crate::db::write_tx(conn, |conn| {
        if let AnyConnection::Postgres(pg) = conn {
            // Count and insert as one, across processes (SQLite's write lock does this).
            diesel::sql_query("SELECT pg_advisory_xact_lock(7326001)").execute(pg)?;
        }
        let t = now();
        let since = t - window;
        diesel::delete(
            sign_in_attempts::table
                .filter(sign_in_attempts::at.lt(since))
                .filter(sign_in_attempts::key.not_like(format!("{KNOWN_PREFIX}%"))),
        )
        .execute(conn)?;
        let mut wait = TimeDelta::zero();
        for (key, limit) in keys {
            let times: Vec<NaiveDateTime> = sign_in_attempts::table
                .filter(sign_in_attempts::key.eq(key))
                .order(sign_in_attempts::at.asc())
                .select(sign_in_attempts::at)
                .load(conn)?;
            if times.len() >= *limit {
                // The oldest counted attempt leaves the window first.
                wait = wait.max(times[0] + window - t);
            }
        }
        if wait > TimeDelta::zero() {
            return Ok(Err(wait));
        }
        let mut ids = Vec::with_capacity(keys.len());
        for (key, _) in keys {
            let row = (sign_in_attempts::key.eq(key), sign_in_attempts::at.eq(t));
            ids.push(
                crate::on_backend!(conn, c => diesel::insert_into(sign_in_attempts::table)
                .values(row)
                .returning(sign_in_attempts::id)
                .get_result(c))?,
            );
        }
        Ok(Ok(ids))
    })
}

/// Counts `n` uses under each `(key, limit, n)` at once, or, when any key would pass its
/// limit within `window`, counts nothing and answers how long until its oldest use leaves
/// the window (sending invitations: `ops::invitations::allow`).
pub fn take(
    conn: &mut AnyConnection,
    wants: &[(String, usize, usize)],
    window: TimeDelta,
) -> QueryResult<Result<(), TimeDelta>> {
    crate::db::write_tx(conn, |conn| {
        if let AnyConnection::Postgres(pg) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock(7326001)").execute(pg)?;
        }
        let t = now();
        let since = t - window;
        let stale = wants.iter().map(|(key, _, _)| key);
        diesel::delete(
            sign_in_attempts::table
                .filter(sign_in_attempts::key.eq_any(stale))
                .filter(sign_in_attempts::at.lt(since)),
        )
        .execute(conn)?;
        let mut wait = TimeDelta::zero();
        for (key, limit, n) in wants {
            let times: Vec<NaiveDateTime> = sign_in_attempts::table
                .filter(sign_in_attempts::key.eq(key))
                .filter(sign_in_attempts::at.ge(since))
                .order(sign_in_attempts::at.asc())
                .select(sign_in_attempts::at)
                .load(conn)?;
            if times.len() + n > *limit {
                let oldest = times.first().copied().unwrap_or(t);
                wait = wait.max(oldest + window - t).max(TimeDelta::seconds(1));
            }
        }
        if wait > TimeDelta::zero() {
            return Ok(Err(wait));
        }
        for (key, _, n) in wants {
            for _ in 0..*n {
                diesel::insert_into(sign_in_attempts::table)
                    .values((sign_in_attempts::key.eq(key), sign_in_attempts::at.eq(t)))
                    .execute(conn)?;
            }
        }
        Ok(Ok(()))
    })
}

/// Keys of sign-ins that succeeded (`auth::throttle`'s known addresses): kept for
/// [`KNOWN_FOR`], not the attempts' window.
pub const KNOWN_PREFIX: &str = "known:";

/// How long a successful sign-in makes its address known.
pub const KNOWN_FOR: TimeDelta = TimeDelta::days(30);

/// Whether a sign-in under `key` (which starts with [`KNOWN_PREFIX`]) succeeded within
/// [`KNOWN_FOR`].
pub fn is_known(conn: &mut AnyConnection, key: &str) -> QueryResult<bool> {
    let n: i64 = sign_in_attempts::table
        .filter(sign_in_attempts::key.eq(key))
        .filter(sign_in_attempts::at.gt(now() - KNOWN_FOR))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Notes a successful sign-in under `key`, once per key; known keys past [`KNOWN_FOR`] go.
pub fn remember(conn: &mut AnyConnection, key: &str) -> QueryResult<()> {
    crate::db::write_tx(conn, |conn| {
        let stale = sign_in_attempts::key.eq(key).or(sign_in_attempts::key
            .like(format!("{KNOWN_PREFIX}%"))
            .and(sign_in_attempts::at.lt(now() - KNOWN_FOR)));
        diesel::delete(sign_in_attempts::table.filter(stale)).execute(conn)?;
        diesel::insert_into(sign_in_attempts::table)
            .values((sign_in_attempts::key.eq(key), sign_in_attempts::at.eq(now())))
            .execute(conn)?;
        Ok(())
    })
}

/// Forgets every attempt under `keys`, and the one attempt `id`.
pub fn forgive(conn: &mut AnyConnection, keys: &[String], id: i64) -> QueryResult<()> {
    crate::db::write_tx(conn, |conn| {
        diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::key.eq_any(keys))).execute(conn)?;
        diesel::delete(sign_in_attempts::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Forgets every attempt counted against an account, from any address (its password was
/// set anew). The key forms are `auth::throttle`'s.
pub fn forget_account(conn: &mut AnyConnection, account: &str) -> QueryResult<()> {
    let escaped = account
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    diesel::delete(
        sign_in_attempts::table.filter(
            sign_in_attempts::key
                .eq(format!("account:{account}"))
                .or(sign_in_attempts::key
                    .like(format!("account:{escaped} from:%"))
                    .escape('\\')),
        ),
    )
    .execute(conn)?;
    Ok(())
}
