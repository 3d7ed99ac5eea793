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
}

/// Emails are compared lowercased and trimmed.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(email)
    } else {
        Err(format!("`{email}` is not an email address"))
    }
}

pub fn create(
    conn: &mut AnyConnection,
    email: &str,
    password_hash: &str,
    is_admin: bool,
) -> ModelResult<User> {
    let email = normalize_email(email).map_err(|m| ModelError::Invalid(vec![("email".into(), m)]))?;
    if find_by_email(conn, &email)?.is_some() {
        return Err(ModelError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id = UserId::generate();
    let name = email.split('@').next().unwrap_or_default().to_string();
    diesel::insert_into(users::table)
        .values(NewUser {
            id: id.clone(),
            email: &email,
            name: &name,
            password_hash,
            is_admin,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(users::table.find(&id).select(User::as_select()).first(conn)?)
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
