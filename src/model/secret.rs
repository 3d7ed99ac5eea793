//! Secrets for listener code (`event.secrets(name)`), per environment or per space.

use super::now;
use crate::db::schema::secrets;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SecretId, SpaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Longest name and value kept.
pub const MAX_NAME: usize = 255;
pub const MAX_VALUE: usize = 64 * 1024;
/// Most secrets an environment, or a space, holds: each change answers the whole list, and
/// every listener's `event.secrets()` reads it (600 of 64 KiB made each answer 39 MB:
/// probe 65e D1).
pub const MAX_PER_SCOPE: i64 = 100;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = secrets)]
pub struct Secret {
    pub id: SecretId,
    pub environment_id: EnvironmentId,
    pub space_id: Option<SpaceId>,
    pub name: String,
    pub value: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = secrets)]
struct NewSecret<'a> {
    id: &'a SecretId,
    environment_id: &'a EnvironmentId,
    space_id: Option<&'a SpaceId>,
    scope: &'a str,
    name: &'a str,
    value: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Why a name or value is refused, in words a person can act on.
pub fn check(name: &str, value: &str) -> Result<(), (&'static str, String)> {
    if name.trim().is_empty() {
        return Err(("name", "a secret needs a name".into()));
    }
    if name.len() > MAX_NAME {
        return Err(("name", format!("a secret's name is at most {MAX_NAME} bytes")));
    }
    // Nor characters that reorder or hide what is shown: the name is shown on the
    // Activity tab, where one could pass for another (probe 76a D6).
    // Joiners, variation selectors and tags too, which names of people and emoji need and
    // a secret's does not: five secrets could all read API_KEY (probe 77a D4).
    let unseen =
        |c: char| matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0000}'..='\u{E0FFF}');
    if crate::names::misleads(name) || name.chars().any(unseen) {
        return Err((
            "name",
            "a secret's name cannot hold line breaks, control characters, or characters that reorder or hide text".into(),
        ));
    }
    if value.is_empty() {
        return Err(("value", "a secret needs a value".into()));
    }
    if value.len() > MAX_VALUE {
        return Err(("value", format!("a secret's value is at most {MAX_VALUE} bytes")));
    }
    Ok(())
}

/// Sets a secret (a second one of the same name and scope replaces the value).
pub fn set(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: Option<&SpaceId>,
    name: &str,
    value: &str,
    actor: &str,
) -> super::ModelResult<()> {
    let t = now();
    let id = SecretId::generate();
    let row = NewSecret {
        id: &id,
        environment_id: env,
        space_id: space,
        scope: space.map_or("", SpaceId::as_str),
        name,
        value,
        created_at: t,
        updated_at: t,
    };
    let query = diesel::insert_into(secrets::table)
        .values(&row)
        .on_conflict((secrets::environment_id, secrets::scope, secrets::name))
        .do_update()
        .set((secrets::value.eq(value), secrets::updated_at.eq(t)));
    crate::db::write_tx::<_, super::ModelError, _>(conn, |conn| {
        // A space deleted meanwhile is not found, not a broken foreign key.
        if let Some(space) = space {
            super::space::hold_to_add(conn, std::slice::from_ref(space))?;
        }
        let kept: Option<SecretId> = secrets::table
            .filter(secrets::environment_id.eq(env))
            .filter(secrets::scope.eq(space.map_or("", SpaceId::as_str)))
            .filter(secrets::name.eq(name))
            .select(secrets::id)
            .first(conn)
            .optional()?;
        if kept.is_none() {
            // One new secret of an environment at a time, so the cap holds when many are
            // made at once (102 on PostgreSQL: probe 65f D3; SQLite writes one at a time).
            if let AnyConnection::Postgres(pg) = conn {
                use crate::db::schema::environments;
                environments::table
                    .find(env)
                    .select(environments::id)
                    .for_no_key_update()
                    .first::<EnvironmentId>(pg)?;
            }
            let held: i64 = secrets::table
                .filter(secrets::environment_id.eq(env))
                .filter(secrets::scope.eq(space.map_or("", SpaceId::as_str)))
                .count()
                .get_result(conn)?;
            if held >= MAX_PER_SCOPE {
                return Err(super::ModelError::Invalid(vec![(
                    "name".into(),
                    format!(
                        "an environment or a space holds at most {MAX_PER_SCOPE} secrets; delete one first"
                    ),
                )]));
            }
        }
        crate::on_backend!(conn, c => query.execute(c))?;
        let topic = if kept.is_some() {
            "secret:updated"
        } else {
            "secret:created"
        };
        announce(conn, env, space, kept.as_ref().unwrap_or(&id), name, topic, actor)?;
        Ok(())
    })
}

/// Tells listener code a secret changed (its name and id, never its value), so code that
/// keeps `event.secrets(...)` reads them again.
fn announce(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: Option<&SpaceId>,
    id: &SecretId,
    name: &str,
    topic: &str,
    actor: &str,
) -> QueryResult<()> {
    let mut ctx = super::event::Context::new(env, actor);
    if let Some(space) = space {
        ctx = ctx.space(space);
    }
    ctx.extra.insert("secretId".into(), serde_json::json!(id));
    super::event::emit(conn, &ctx, topic, serde_json::json!({"name": name}))?;
    Ok(())
}

/// The secrets listener code sees: the environment's, and with a space, the space's
/// standing before the environment's of the same name. Sorted by name.
pub fn visible(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: Option<&SpaceId>,
) -> QueryResult<Vec<Secret>> {
    let scopes: Vec<&str> = match space {
        Some(s) => vec!["", s.as_str()],
        None => vec![""],
    };
    let mut all: Vec<Secret> = secrets::table
        .filter(secrets::environment_id.eq(env))
        .filter(secrets::scope.eq_any(scopes))
        .select(Secret::as_select())
        .load(conn)?;
    // Space secrets sort after the environment's of the same name, then win the dedup.
    all.sort_by(|a, b| (&a.name, a.space_id.is_some()).cmp(&(&b.name, b.space_id.is_some())));
    let mut out: Vec<Secret> = Vec::with_capacity(all.len());
    for s in all {
        match out.last_mut() {
            Some(last) if last.name == s.name => *last = s,
            _ => out.push(s),
        }
    }
    Ok(out)
}

pub fn find(conn: &mut AnyConnection, env: &EnvironmentId, id: &SecretId) -> QueryResult<Option<Secret>> {
    secrets::table
        .filter(secrets::environment_id.eq(env))
        .filter(secrets::id.eq(id))
        .select(Secret::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut AnyConnection, secret: &Secret, actor: &str) -> QueryResult<bool> {
    crate::db::write_tx(conn, |conn| {
        let n = diesel::delete(
            secrets::table
                .filter(secrets::environment_id.eq(&secret.environment_id))
                .filter(secrets::id.eq(&secret.id)),
        )
        .execute(conn)?;
        if n > 0 {
            let (env, space) = (&secret.environment_id, secret.space_id.as_ref());
            announce(
                conn,
                env,
                space,
                &secret.id,
                &secret.name,
                "secret:deleted",
                actor,
            )?;
        }
        Ok(n > 0)
    })
}
