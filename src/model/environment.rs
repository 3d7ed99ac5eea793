//! Environments: development, staging, production. Everything else lives in one.

use super::{now, ModelError, ModelResult};
use crate::db::schema::environments;
use crate::db::AnyConnection;
use crate::ids::EnvironmentId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = environments)]
pub struct Environment {
    pub id: EnvironmentId,
    pub name: String,
    pub is_prod: bool,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The API key that created it through the API, if one did.
    pub created_by_key: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = environments)]
pub struct NewEnvironment<'a> {
    pub id: EnvironmentId,
    pub name: &'a str,
    pub is_prod: bool,
    pub metadata: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by_key: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = environments)]
pub struct EnvironmentChanges {
    pub name: Option<String>,
    pub is_prod: Option<bool>,
    pub metadata: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<Environment>> {
    environments::table
        .order(environments::created_at.asc())
        .select(Environment::as_select())
        .load(conn)
}

pub fn find(conn: &mut AnyConnection, id: &EnvironmentId) -> QueryResult<Option<Environment>> {
    environments::table
        .find(id)
        .select(Environment::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_name(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<Environment>> {
    environments::table
        .filter(environments::name.eq(name))
        .select(Environment::as_select())
        .first(conn)
        .optional()
}

/// The longest environment name: it is typed on the command line and shown in the switcher.
pub const NAME_MAX: usize = 64;

/// Checks a name people will type on the command line and see in the switcher, in pages
/// and in mail (the API, the dashboard and `wharf env create` all come here).
pub fn check_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("an environment name must be 1 to {NAME_MAX} characters"));
    }
    // `--env` takes an id as an id: a name shaped like one would pass for another
    // environment (probe 66f D2: a key renamed its environment to development's id, and
    // `wharf deploy --env <that id>` deployed into it).
    if name.to_ascii_lowercase().starts_with("us_env_") {
        return Err("an environment name cannot start with `us_env_`, as environment ids do".into());
    }
    match crate::names::problem("an environment name", name, NAME_MAX) {
        Some(message) => Err(message),
        None => Ok(name),
    }
}

/// Most environments a team keeps: each one is listed on every page and gets every
/// scheduled event (probe 66f D1: one key made 20,000, and a cron tick wrote as many events).
pub const MAX_ENVIRONMENTS: i64 = 100;

/// Environment creations and renames one at a time across processes, so the cap and the
/// names' uniqueness hold (SQLite's write lock does this).
fn one_at_a_time(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7326002)").execute(pg)?;
    }
    Ok(())
}

/// The name of another environment that reads as `name` but for case (`Production` beside
/// `production` passed for it on the command line and in the switcher: probe 66f D2).
fn name_taken(
    conn: &mut AnyConnection,
    name: &str,
    except: Option<&EnvironmentId>,
) -> QueryResult<Option<String>> {
    let wanted = name.to_lowercase();
    let all: Vec<(EnvironmentId, String)> = environments::table
        .select((environments::id, environments::name))
        .load(conn)?;
    Ok(all
        .into_iter()
        .find(|(id, n)| Some(id) != except && n.to_lowercase() == wanted)
        .map(|(_, n)| n))
}

/// Creates an environment; `created_by_key` is the API key asking, when one does.
pub fn create(
    conn: &mut AnyConnection,
    name: &str,
    is_prod: bool,
    metadata: &str,
    created_by_key: Option<&str>,
) -> ModelResult<Environment> {
    crate::db::write_tx(conn, |conn| {
        create_in_tx(conn, name, is_prod, metadata, created_by_key)
    })
}

fn create_in_tx(
    conn: &mut AnyConnection,
    name: &str,
    is_prod: bool,
    metadata: &str,
    created_by_key: Option<&str>,
) -> ModelResult<Environment> {
    let name = check_name(name).map_err(|m| ModelError::Invalid(vec![("name".into(), m)]))?;
    one_at_a_time(conn)?;
    if let Some(taken) = name_taken(conn, name, None)? {
        return Err(ModelError::Conflict(format!(
            "an environment named `{taken}` already exists"
        )));
    }
    let count: i64 = environments::table.count().get_result(conn)?;
    if count >= MAX_ENVIRONMENTS {
        return Err(ModelError::Invalid(vec![(
            "name".into(),
            format!(
                "a team keeps at most {MAX_ENVIRONMENTS} environments; delete one you no longer use first"
            ),
        )]));
    }
    let t = now();
    let id = EnvironmentId::generate();
    diesel::insert_into(environments::table)
        .values(NewEnvironment {
            id: id.clone(),
            name,
            is_prod,
            metadata,
            created_at: t,
            updated_at: t,
            created_by_key,
        })
        .execute(conn)?;
    find(conn, &id)?.ok_or(ModelError::NotFound("environment"))
}

pub fn update(
    conn: &mut AnyConnection,
    id: &EnvironmentId,
    changes: EnvironmentChanges,
) -> ModelResult<Environment> {
    crate::db::write_tx(conn, |conn| update_in_tx(conn, id, changes))
}

/// [`update`] inside a transaction the caller holds.
pub fn update_in_tx(
    conn: &mut AnyConnection,
    id: &EnvironmentId,
    mut changes: EnvironmentChanges,
) -> ModelResult<Environment> {
    if let Some(name) = &changes.name {
        let name = check_name(name)
            .map_err(|m| ModelError::Invalid(vec![("name".into(), m)]))?
            .to_string();
        one_at_a_time(conn)?;
        if let Some(taken) = name_taken(conn, &name, Some(id))? {
            return Err(ModelError::Conflict(format!(
                "an environment named `{taken}` already exists"
            )));
        }
        changes.name = Some(name);
    }
    changes.updated_at = Some(now());
    let n = diesel::update(environments::table.find(id))
        .set(&changes)
        .execute(conn)?;
    if n == 0 {
        return Err(ModelError::NotFound("environment"));
    }
    find(conn, id)?.ok_or(ModelError::NotFound("environment"))
}

pub fn delete(conn: &mut AnyConnection, id: &EnvironmentId) -> ModelResult<()> {
    let n = crate::db::write(conn, |conn| {
        diesel::delete(environments::table.find(id)).execute(conn)
    })?;
    if n == 0 {
        return Err(ModelError::NotFound("environment"));
    }
    Ok(())
}

/// Deletes an environment with its API keys, space configs and guests (the dashboard asks to
/// confirm). Refused while it holds spaces, archived ones too, webhooks or secrets, and for
/// the last environment.
pub fn delete_if_unused(conn: &mut AnyConnection, id: &EnvironmentId) -> ModelResult<()> {
    use crate::db::schema::spaces;
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        let env = find(conn, id)?.ok_or(ModelError::NotFound("environment"))?;
        let held: i64 = spaces::table
            .filter(spaces::environment_id.eq(id))
            .count()
            .get_result(conn)?;
        if held > 0 {
            return Err(ModelError::Conflict(format!(
                "“{}” still holds {held} space{} (archived ones count too); delete {} first \
                 (on the Spaces page: archive, tick Archived, then Delete; or DELETE /v1/spaces/{{id}}), \
                 then delete the environment",
                env.name,
                if held == 1 { "" } else { "s" },
                if held == 1 { "it" } else { "them" },
            )));
        }
        refuse_while_it_keeps_secrets(conn, &env)?;
        let total: i64 = environments::table.count().get_result(conn)?;
        if total <= 1 {
            return Err(ModelError::Conflict(format!(
                "“{}” is the only environment and Wharf needs one; create another first",
                env.name
            )));
        }
        delete(conn, id)
    })
}

/// Webhooks (with their signing secrets and delivery logs) and listener secrets cannot be
/// recovered once gone: an environment keeping any is deleted only after them, by hand.
fn refuse_while_it_keeps_secrets(conn: &mut AnyConnection, env: &Environment) -> ModelResult<()> {
    use crate::db::schema::{secrets, webhooks};
    let hooks: i64 = webhooks::table
        .filter(webhooks::environment_id.eq(&env.id))
        .count()
        .get_result(conn)?;
    let kept: i64 = secrets::table
        .filter(secrets::environment_id.eq(&env.id))
        .count()
        .get_result(conn)?;
    let plural = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let held = match (hooks, kept) {
        (0, 0) => return Ok(()),
        (h, 0) => plural(h, "webhook"),
        (0, k) => plural(k, "secret"),
        (h, k) => format!("{} and {}", plural(h, "webhook"), plural(k, "secret")),
    };
    Err(ModelError::Conflict(format!(
        "“{}” still has {held}, which cannot be recovered once deleted; delete them first \
         (the Webhooks page; secrets through the API: DELETE /v1/secrets/{{id}}), then delete the environment",
        env.name
    )))
}

/// True when an environment holds no spaces and no API keys (nothing to lose by changing it).
pub fn is_empty(conn: &mut AnyConnection, id: &EnvironmentId) -> QueryResult<bool> {
    use crate::db::schema::{api_keys, spaces};
    let spaces: i64 = spaces::table
        .filter(spaces::environment_id.eq(id))
        .count()
        .get_result(conn)?;
    let keys: i64 = api_keys::table
        .filter(api_keys::environment_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(spaces == 0 && keys == 0)
}

/// True when nothing lives in an environment: no keys, space configs, spaces, secrets,
/// webhooks, guests, files or jobs (its events are only its history).
pub fn holds_nothing(conn: &mut AnyConnection, id: &EnvironmentId) -> QueryResult<bool> {
    use crate::db::schema::{api_keys, files, guests, jobs, secrets, space_configs, webhooks};
    macro_rules! none_in {
        ($table:ident) => {
            !diesel::select(diesel::dsl::exists(
                $table::table.filter($table::environment_id.eq(id)),
            ))
            .get_result::<bool>(conn)?
        };
    }
    Ok(is_empty(conn, id)?
        && none_in!(api_keys)
        && none_in!(space_configs)
        && none_in!(secrets)
        && none_in!(webhooks)
        && none_in!(guests)
        && none_in!(files)
        && none_in!(jobs))
}

/// On first start, `development` and `production` exist.
pub fn ensure_defaults(conn: &mut AnyConnection) -> ModelResult<()> {
    let existing: i64 = environments::table.count().get_result(conn)?;
    if existing == 0 {
        create(conn, "development", false, "{}", None)?;
        create(conn, "production", true, "{}", None)?;
    }
    Ok(())
}
