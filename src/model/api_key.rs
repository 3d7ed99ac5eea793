//! API keys: a secret `sk_...` shown once, stored as its SHA-256 (the secret is random and
//! long, so a fast hash is safe here and keeps every API request cheap).

use super::{now, ModelResult};
use crate::db::schema::api_keys;
use crate::db::AnyConnection;
use crate::ids::{ApiKeyId, EnvironmentId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub environment_id: EnvironmentId,
    pub secret_hash: String,
    pub hint: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = api_keys)]
struct NewApiKey<'a> {
    id: ApiKeyId,
    environment_id: &'a EnvironmentId,
    secret_hash: String,
    hint: String,
    created_at: NaiveDateTime,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a key and returns it with its secret, which is not stored and cannot be shown again.
pub fn create(conn: &mut AnyConnection, environment_id: &EnvironmentId) -> ModelResult<(ApiKey, String)> {
    let secret = format!("sk_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 40));
    let id = ApiKeyId::generate();
    crate::db::write(conn, |conn| {
        diesel::insert_into(api_keys::table)
            .values(NewApiKey {
                id: id.clone(),
                environment_id,
                secret_hash: hash_secret(&secret),
                hint: secret[secret.len() - 4..].to_string(),
                created_at: now(),
            })
            .execute(conn)
    })?;
    let key = api_keys::table
        .find(&id)
        .select(ApiKey::as_select())
        .first(conn)?;
    Ok((key, secret))
}

/// The live key with this secret, if any.
pub fn authenticate(conn: &mut AnyConnection, secret: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::secret_hash.eq(hash_secret(secret)))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut AnyConnection, environment_id: &EnvironmentId) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::environment_id.eq(environment_id))
        .order(api_keys::created_at.desc())
        .select(ApiKey::as_select())
        .load(conn)
}

pub fn revoke(conn: &mut AnyConnection, id: &ApiKeyId) -> QueryResult<usize> {
    diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(now()))
        .execute(conn)
}

/// Whether the key of this id is live (made and not revoked).
pub fn is_live(conn: &mut AnyConnection, id: &ApiKeyId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        api_keys::table.find(id).filter(api_keys::revoked_at.is_null()),
    ))
    .get_result(conn)
}

/// Whether a key of this id was ever made (revoked or not).
pub fn exists(conn: &mut AnyConnection, id: &ApiKeyId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(api_keys::table.find(id))).get_result(conn)
}
