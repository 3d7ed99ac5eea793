//! The one-time links that create the first admin while no admin exists. Kept by hash in
//! the database, so any Wharf process sharing it accepts a link another one printed. A link
//! is good for [`VALID_HOURS`]: one printed in an old log or terminal does not stay a key to
//! the first admin account for ever (each start prints a fresh one while no admin exists).

use super::{now, user, ModelError, ModelResult};
use crate::db::schema::setup_tokens;
use crate::db::AnyConnection;
use diesel::prelude::*;

/// How long a first-admin link is good for.
pub const VALID_HOURS: i64 = 24;

fn oldest_valid() -> chrono::NaiveDateTime {
    now() - chrono::Duration::hours(VALID_HOURS)
}

/// Keeps a new link's hash (and forgets links too old to use).
pub fn add(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::delete(setup_tokens::table.filter(setup_tokens::created_at.lt(oldest_valid())))
            .execute(conn)?;
        diesel::insert_into(setup_tokens::table)
            .values((
                setup_tokens::token_hash.eq(token_hash),
                setup_tokens::created_at.eq(now()),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// Whether a link is still good: its hash is kept, it is not too old, and no admin exists yet.
pub fn is_valid(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<bool> {
    if user::count_admins(conn)? > 0 {
        return Ok(false);
    }
    let found: i64 = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(token_hash))
        .filter(setup_tokens::created_at.ge(oldest_valid()))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Creates the first admin with a good link, and voids every link; refused once an admin
/// exists (two people racing with two links get one admin).
pub fn create_first_admin(
    conn: &mut AnyConnection,
    token_hash: &str,
    email: &str,
    password_hash: &str,
) -> ModelResult<user::User> {
    crate::db::write_tx(conn, |conn| {
        if matches!(conn, AnyConnection::Postgres(_)) {
            // The check and the insert run as one, across processes.
            diesel::sql_query("LOCK TABLE setup_tokens IN EXCLUSIVE MODE").execute(conn)?;
        }
        if !is_valid(conn, token_hash)? {
            return Err(ModelError::Conflict(
                "this setup link was used already; sign in instead".into(),
            ));
        }
        let created = user::create(conn, email, password_hash, true)?;
        diesel::delete(setup_tokens::table).execute(conn)?;
        Ok(created)
    })
}
