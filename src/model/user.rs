//! People who sign in to the dashboard.

use super::{now, ModelError, ModelResult};
use crate::db::schema::users;
use crate::db::AnyConnection;
use crate::ids::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    /// When the password was set; None while an invitation waits to be used.
    pub password_set_at: Option<NaiveDateTime>,
}

/// The longest address an account may have (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

impl User {
    /// Whether this person has a password (joined through a link, or was made with one).
    pub fn has_password(&self) -> bool {
        self.password_set_at.is_some()
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser<'a> {
    id: UserId,
    email: &'a str,
    name: &'a str,
    password_hash: &'a str,
    is_admin: bool,
    created_at: NaiveDateTime,
    password_set_at: Option<NaiveDateTime>,
}

/// Emails are compared lowercased and trimmed. An address must be one a mail server
/// takes as it is (checked by `lettre`, which sends the mail): a plain `name@domain.tld`,
/// no display name, list, quoted local part or markup.
pub fn normalize_email(email: &str) -> Result<String, String> {
    // The address as sent (control characters written as escapes), not as lowercased.
    let shown: String = email
        .trim()
        .chars()
        .take(100)
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    let email = email.trim().to_lowercase();
    let problem = format!("`{shown}` is not an email address like name@example.com");
    let Ok(address) = email.parse::<lettre::Address>() else {
        return Err(problem);
    };
    let plain = email.len() <= MAX_EMAIL_LEN
        && email.is_ascii()
        && !address.user().starts_with('"')
        && address.domain().contains('.')
        && !address.domain().starts_with('[');
    if plain {
        Ok(email)
    } else {
        Err(problem)
    }
}

/// Makes a person who signs in with `password_hash`.
pub fn create(
    conn: &mut AnyConnection,
    email: &str,
    password_hash: &str,
    is_admin: bool,
) -> ModelResult<User> {
    insert(conn, email, password_hash, is_admin, Some(now()))
}

/// Makes a person invited by email: they have no password until they use a link
/// (`password_hash` is one nobody knows, so signing in costs one hash as for anyone).
pub fn create_invited(
    conn: &mut AnyConnection,
    email: &str,
    password_hash: &str,
    is_admin: bool,
) -> ModelResult<User> {
    insert(conn, email, password_hash, is_admin, None)
}

fn insert(
    conn: &mut AnyConnection,
    email: &str,
    password_hash: &str,
    is_admin: bool,
    password_set_at: Option<NaiveDateTime>,
) -> ModelResult<User> {
    let email = normalize_email(email).map_err(|m| ModelError::Invalid(vec![("email".into(), m)]))?;
    if find_by_email(conn, &email)?.is_some() {
        return Err(ModelError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id = UserId::generate();
    let name = email.split('@').next().unwrap_or_default().to_string();
    crate::db::write(conn, |conn| {
        diesel::insert_into(users::table)
            .values(NewUser {
                id: id.clone(),
                email: &email,
                name: &name,
                password_hash,
                is_admin,
                created_at: now(),
                password_set_at,
            })
            .execute(conn)
    })?;
    Ok(users::table.find(&id).select(User::as_select()).first(conn)?)
}

/// Sets a person's password anew (an admin's answer to a forgotten one, `wharf user
/// password`), ends their sessions and forgets the sign-in attempts held against them
/// (guesses by someone else would keep the new password out). `Ok(false)`: no such person.
pub fn set_password(conn: &mut AnyConnection, email: &str, password_hash: &str) -> QueryResult<bool> {
    let Some(user) = find_by_email(conn, email)? else {
        return Ok(false);
    };
    crate::db::write_tx(conn, |conn| {
        diesel::update(users::table.find(&user.id))
            .set((
                users::password_hash.eq(password_hash),
                users::password_set_at.eq(Some(super::now())),
            ))
            .execute(conn)?;
        super::session::end_all(conn, &user.id)?;
        super::sign_in_attempt::forget_account(conn, email)
    })?;
    Ok(true)
}

pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// How many admins there are: the first-admin link works while there is none, even when
/// members were made with the command line first (probe 61e D8).
pub fn count_admins(conn: &mut AnyConnection) -> QueryResult<i64> {
    users::table
        .filter(users::is_admin.eq(true))
        .count()
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn only_plain_addresses_pass() {
        assert_eq!(normalize_email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        assert!(normalize_email("first.last+tag@mail.example.co.uk").is_ok());
        for bad in [
            "<img src=x onerror=alert(1)>@example.com",
            "a@b.c,victim@other.io",
            "\"quoted\"@example.com",
            "Ada <ada@example.com>",
            "ada@localhost",
            "ada@[127.0.0.1]",
            "ada\n@example.com",
            "@example.com",
            "ada@",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} passed");
        }
    }
}
