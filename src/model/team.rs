//! Team members managed from the People page: invitations by email (a single-use link to
//! set a password), roles, removal. Wharf always keeps at least one admin.

use super::guest_link::LinkProblem;
use super::user::User;
use super::{now, ModelError, ModelResult};
use crate::db::schema::{sessions, user_invites, users};
use crate::db::{write_tx, AnyConnection};
use crate::ids::UserId;
use crate::model::api_key::hash_secret;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_invites)]
pub struct UserInvite {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = user_invites)]
struct NewUserInvite<'a> {
    token_hash: String,
    user_id: &'a UserId,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// What the People page changes about a person.
#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub is_admin: Option<bool>,
    pub password_hash: Option<String>,
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::created_at.asc())
        .select(User::as_select())
        .load(conn)
}

pub fn find(conn: &mut AnyConnection, id: &UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// People invited who have not set their password yet.
pub fn pending(conn: &mut AnyConnection) -> QueryResult<Vec<UserId>> {
    let joined: Vec<UserId> = user_invites::table
        .filter(user_invites::used_at.is_not_null())
        .select(user_invites::user_id)
        .load(conn)?;
    let invited: Vec<UserId> = user_invites::table
        .filter(user_invites::used_at.is_null())
        .select(user_invites::user_id)
        .load(conn)?;
    Ok(invited.into_iter().filter(|id| !joined.contains(id)).collect())
}

/// Whether `user` has set a password through one of its links.
pub fn joined(conn: &mut AnyConnection, user: &UserId) -> QueryResult<bool> {
    let used: i64 = user_invites::table
        .filter(user_invites::user_id.eq(user))
        .filter(user_invites::used_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(used > 0)
}

/// Stores a link token for a user; earlier unused links of that user stop working.
pub fn store_invite(conn: &mut AnyConnection, token: &str, user: &UserId, hours: i64) -> QueryResult<()> {
    write_tx(conn, |conn| {
        let t = now();
        diesel::update(
            user_invites::table
                .filter(user_invites::user_id.eq(user))
                .filter(user_invites::used_at.is_null())
                .filter(user_invites::revoked_at.is_null()),
        )
        .set(user_invites::revoked_at.eq(t))
        .execute(conn)?;
        diesel::insert_into(user_invites::table)
            .values(NewUserInvite {
                token_hash: hash_secret(token),
                user_id: user,
                created_at: t,
                expires_at: t + chrono::Duration::hours(hours),
            })
            .execute(conn)?;
        Ok(())
    })
}

/// What an invitation link would do now, without using it.
pub fn check_invite(
    conn: &mut AnyConnection,
    token: &str,
) -> QueryResult<Result<(UserInvite, User), LinkProblem>> {
    let invite: Option<UserInvite> = user_invites::table
        .find(hash_secret(token))
        .select(UserInvite::as_select())
        .first(conn)
        .optional()?;
    let Some(invite) = invite else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let user = find(conn, &invite.user_id)?;
    let Some(user) = user.filter(|_| invite.revoked_at.is_none()) else {
        return Ok(Err(LinkProblem::Revoked));
    };
    if invite.used_at.is_some() {
        return Ok(Err(LinkProblem::Used));
    }
    if invite.expires_at <= now() {
        return Ok(Err(LinkProblem::Expired));
    }
    Ok(Ok((invite, user)))
}

/// Uses an invitation link (exactly once): sets the password and starts a session.
/// Returns the session's cookie token.
pub fn accept_invite(
    conn: &mut AnyConnection,
    token: &str,
    password_hash: &str,
) -> ModelResult<Result<String, LinkProblem>> {
    write_tx(conn, |conn| {
        let (invite, user) = match check_invite(conn, token)? {
            Ok(found) => found,
            Err(p) => return Ok(Err(p)),
        };
        let took = diesel::update(
            user_invites::table
                .find(&invite.token_hash)
                .filter(user_invites::used_at.is_null()),
        )
        .set(user_invites::used_at.eq(now()))
        .execute(conn)?;
        if took != 1 {
            return Ok(Err(LinkProblem::Used));
        }
        diesel::update(users::table.find(&user.id))
            .set(UserChanges {
                password_hash: Some(password_hash.to_string()),
                ..Default::default()
            })
            .execute(conn)?;
        Ok::<_, ModelError>(Ok(super::session::create(conn, &user.id)?))
    })
}

/// On PostgreSQL, locks the admins' rows so two demotions cannot both pass the check
/// (SQLite's write transactions already run one at a time).
fn admins_locked(conn: &mut AnyConnection) -> QueryResult<i64> {
    let admins = users::table.filter(users::is_admin.eq(true)).select(users::id);
    match conn {
        AnyConnection::Postgres(pg) => Ok(admins.for_update().load::<UserId>(pg)?.len() as i64),
        AnyConnection::Sqlite(sqlite) => Ok(admins.load::<UserId>(sqlite)?.len() as i64),
    }
}

const LAST_ADMIN: &str = "Wharf needs at least one admin: make someone else an admin first";

/// Makes a person an admin or a member; the last admin stays an admin.
pub fn set_role(conn: &mut AnyConnection, id: &UserId, admin: bool) -> ModelResult<User> {
    write_tx(conn, |conn| {
        let user = find(conn, id)?.ok_or(ModelError::NotFound("user"))?;
        if user.is_admin && !admin && admins_locked(conn)? <= 1 {
            return Err(ModelError::Conflict(LAST_ADMIN.into()));
        }
        diesel::update(users::table.find(id))
            .set(UserChanges {
                is_admin: Some(admin),
                ..Default::default()
            })
            .execute(conn)?;
        find(conn, id)?.ok_or(ModelError::NotFound("user"))
    })
}

/// Removes a person: their sessions end at once and their links stop working; the last
/// admin stays.
pub fn remove(conn: &mut AnyConnection, id: &UserId) -> ModelResult<()> {
    write_tx(conn, |conn| {
        let user = find(conn, id)?.ok_or(ModelError::NotFound("user"))?;
        if user.is_admin && admins_locked(conn)? <= 1 {
            return Err(ModelError::Conflict(LAST_ADMIN.into()));
        }
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        diesel::update(
            user_invites::table
                .filter(user_invites::user_id.eq(id))
                .filter(user_invites::revoked_at.is_null()),
        )
        .set(user_invites::revoked_at.eq(now()))
        .execute(conn)?;
        diesel::delete(users::table.find(id)).execute(conn)?;
        Ok(())
    })
}
