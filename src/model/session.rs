//! Dashboard sessions: the cookie carries a random token, the database only its hash.

use super::now;
use super::user::User;
use crate::db::schema::{sessions, users};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, UserId};
use crate::model::api_key::hash_secret;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::distributions::{Alphanumeric, DistString};

/// How long a sign-in lasts.
pub const LIFETIME_DAYS: i64 = 14;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub token_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub environment_id: Option<EnvironmentId>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    token_hash: String,
    user_id: &'a UserId,
    csrf_token: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
}

/// Starts a session; returns the cookie token (not stored).
pub fn create(conn: &mut AnyConnection, user_id: &UserId) -> QueryResult<String> {
    crate::db::write(conn, |conn| {
        let token = random_token();
        let t = now();
        diesel::insert_into(sessions::table)
            .values(NewSession {
                token_hash: hash_secret(&token),
                user_id,
                csrf_token: random_token(),
                created_at: t,
                expires_at: t + chrono::Duration::days(LIFETIME_DAYS),
            })
            .execute(conn)?;
        Ok(token)
    })
}

/// A session for a sign-in whose password was checked against `verified_hash` outside any
/// transaction: none when the person was removed or their password changed meanwhile (the
/// old password must not open a session after the change ended the others). On PostgreSQL
/// the person's row is held until the session is in, so a removal waits and then ends it.
pub fn create_if_current(
    conn: &mut AnyConnection,
    user_id: &UserId,
    verified_hash: &str,
) -> QueryResult<Option<String>> {
    crate::db::write_tx(conn, |conn| {
        let query = users::table.find(user_id).select(users::password_hash);
        let current: Option<String> = match conn {
            AnyConnection::Postgres(pg) => query.for_share().first(pg).optional()?,
            _ => query.first(conn).optional()?,
        };
        if current.as_deref() != Some(verified_hash) {
            return Ok(None);
        }
        create(conn, user_id).map(Some)
    })
}

/// The live session for a cookie token, with its user.
pub fn find(conn: &mut AnyConnection, token: &str) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(hash_secret(token)))
        .filter(sessions::expires_at.gt(now()))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// Whether the session whose token hashes to `hash` is live (not ended, not expired).
pub fn is_live(conn: &mut AnyConnection, hash: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table.find(hash).filter(sessions::expires_at.gt(now())),
    ))
    .get_result(conn)
}

pub fn set_environment(conn: &mut AnyConnection, token_hash: &str, env: &EnvironmentId) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(sessions::table.find(token_hash))
            .set(sessions::environment_id.eq(env))
            .execute(conn)?;
        Ok(())
    })
}

pub fn delete(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::delete(sessions::table.find(token_hash)).execute(conn)?;
        Ok(())
    })
}

/// Ends every session of a person (removed, or their password was set anew).
pub fn end_all(conn: &mut AnyConnection, user_id: &UserId) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
        Ok(())
    })
}
