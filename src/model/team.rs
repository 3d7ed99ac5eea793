//! Team members managed from the People page: invitations by email (a single-use link to
//! set a password), roles, removal. Wharf always keeps at least one admin.

use super::guest_link::LinkProblem;
use super::user::User;
use super::{now, ModelError, ModelResult};
use crate::db::schema::{mail_retries, user_invites, users};
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
    invited_by: &'a str,
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
    users::table
        .filter(users::password_set_at.is_null())
        .select(users::id)
        .load(conn)
}

/// Stores a link token for a user, sent by `inviter` (an email address); earlier unused
/// links of that user stop working. An inviter removed while the mail was on its way sent
/// a link that is stored withdrawn, and the earlier ones stay as they were (probe 68a D2:
/// removing the inviter withdrew their links, but not one whose mail was being sent).
pub fn store_invite(
    conn: &mut AnyConnection,
    token: &str,
    user: &UserId,
    inviter: &str,
    hours: i64,
) -> QueryResult<()> {
    write_tx(conn, |conn| {
        let t = now();
        let invite = NewUserInvite {
            token_hash: hash_secret(token),
            user_id: user,
            created_at: t,
            expires_at: t + chrono::Duration::hours(hours),
            invited_by: inviter,
        };
        let inviter_here: i64 = users::table
            .filter(users::email.eq(inviter))
            .count()
            .get_result(conn)?;
        if inviter_here == 0 {
            diesel::insert_into(user_invites::table)
                .values((invite, user_invites::revoked_at.eq(t)))
                .execute(conn)?;
            return Ok(());
        }
        diesel::update(
            user_invites::table
                .filter(user_invites::user_id.eq(user))
                .filter(user_invites::used_at.is_null())
                .filter(user_invites::revoked_at.is_null()),
        )
        .set(user_invites::revoked_at.eq(t))
        .execute(conn)?;
        diesel::insert_into(user_invites::table)
            .values(invite)
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
    // Removed from the team: said so, not "replaced" (probe 72b D6).
    let Some(user) = find(conn, &invite.user_id)? else {
        return Ok(Err(LinkProblem::Withdrawn));
    };
    if invite.revoked_at.is_some() {
        return Ok(Err(LinkProblem::Revoked));
    }
    if invite.used_at.is_some() {
        return Ok(Err(LinkProblem::Used));
    }
    if invite.expires_at <= now() {
        return Ok(Err(LinkProblem::Expired));
    }
    // A link never replaces a password someone already has (links mailed before that
    // rule existed included).
    if user.has_password() {
        return Ok(Err(LinkProblem::Revoked));
    }
    Ok(Ok((invite, user)))
}

/// Uses an invitation link (exactly once): sets the password and starts a session; any
/// other session of that person ends. Returns the session's cookie token.
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
        let set = diesel::update(users::table.find(&user.id))
            .set((
                users::password_hash.eq(password_hash),
                users::password_set_at.eq(Some(now())),
            ))
            .execute(conn)?;
        // Removed while the link was being used (probe 63b D8: 500 on PostgreSQL).
        if set != 1 {
            return Ok(Err(LinkProblem::Revoked));
        }
        // Whoever held a session before the password was set does not keep it.
        super::session::end_all(conn, &user.id)?;
        Ok::<_, ModelError>(Ok(super::session::create(conn, &user.id)?))
    })
}

/// The admins who can sign in (an admin still invited runs nothing). On PostgreSQL, locks
/// their rows so two demotions cannot both pass the check (SQLite's write transactions
/// already run one at a time).
fn admins_locked(conn: &mut AnyConnection) -> QueryResult<i64> {
    let admins = users::table
        .filter(users::is_admin.eq(true))
        .filter(users::password_set_at.is_not_null())
        .select(users::id);
    match conn {
        AnyConnection::Postgres(pg) => Ok(admins.for_update().load::<UserId>(pg)?.len() as i64),
        AnyConnection::Sqlite(sqlite) => Ok(admins.load::<UserId>(sqlite)?.len() as i64),
    }
}

const LAST_ADMIN: &str = "Wharf needs at least one admin who has joined: make someone who has \
                          set their password an admin first";

/// Makes a person an admin or a member; the last admin stays an admin.
pub fn set_role(conn: &mut AnyConnection, id: &UserId, admin: bool) -> ModelResult<User> {
    write_tx(conn, |conn| {
        let user = find(conn, id)?.ok_or(ModelError::NotFound("user"))?;
        if user.is_admin && user.has_password() && !admin && admins_locked(conn)? <= 1 {
            return Err(ModelError::Conflict(LAST_ADMIN.into()));
        }
        diesel::update(users::table.find(id))
            .set(users::is_admin.eq(admin))
            .execute(conn)?;
        find(conn, id)?.ok_or(ModelError::NotFound("user"))
    })
}

/// Removes a person: their sessions end at once and their links stop working; the last
/// admin stays.
pub fn remove(conn: &mut AnyConnection, id: &UserId) -> ModelResult<()> {
    write_tx(conn, |conn| {
        let user = find(conn, id)?.ok_or(ModelError::NotFound("user"))?;
        if user.is_admin && user.has_password() && admins_locked(conn)? <= 1 {
            return Err(ModelError::Conflict(LAST_ADMIN.into()));
        }
        super::session::end_all(conn, id)?;
        diesel::update(
            user_invites::table
                .filter(user_invites::user_id.eq(id))
                .filter(user_invites::revoked_at.is_null()),
        )
        .set(user_invites::revoked_at.eq(now()))
        .execute(conn)?;
        // What they sent and nobody took yet goes with them: a person removed for cause
        // keeps no way in through someone they invited (probe 67a D6).
        diesel::update(
            user_invites::table
                .filter(user_invites::invited_by.eq(&user.email))
                .filter(user_invites::used_at.is_null())
                .filter(user_invites::revoked_at.is_null()),
        )
        .set(user_invites::revoked_at.eq(now()))
        .execute(conn)?;
        diesel::delete(mail_retries::table.filter(mail_retries::invited_by.eq(&user.email))).execute(conn)?;
        diesel::delete(users::table.find(id)).execute(conn)?;
        Ok(())
    })
}
