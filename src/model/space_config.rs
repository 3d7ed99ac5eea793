//! Space configs: deployed blueprints. Redeploying a slug updates it in place.

use super::{now, ModelError, ModelResult};
use crate::blueprint::{self, SpaceConfigBlueprint};
use crate::db::schema::space_configs;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SpaceConfigId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = space_configs)]
pub struct SpaceConfig {
    pub id: SpaceConfigId,
    pub environment_id: EnvironmentId,
    pub slug: String,
    pub name: String,
    pub blueprint: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl SpaceConfig {
    /// The stored blueprint, which was checked when it was deployed.
    pub fn parsed(&self) -> ModelResult<SpaceConfigBlueprint> {
        let json: serde_json::Value = serde_json::from_str(&self.blueprint)
            .map_err(|e| ModelError::Conflict(format!("stored blueprint is unreadable: {e}")))?;
        Ok(blueprint::parse_stored_space_config(&json)?)
    }
}

#[derive(Insertable)]
#[diesel(table_name = space_configs)]
struct NewSpaceConfig<'a> {
    id: SpaceConfigId,
    environment_id: &'a EnvironmentId,
    slug: &'a str,
    name: &'a str,
    blueprint: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Parses and checks `json`, then creates the config or updates the one with the same slug.
/// Returns the config and whether it was new.
/// How many spaces were made from a space config (archived ones too).
pub fn spaces_made_from(conn: &mut AnyConnection, id: &SpaceConfigId) -> ModelResult<i64> {
    use crate::db::schema::spaces;
    Ok(spaces::table
        .filter(spaces::space_config_id.eq(id))
        .count()
        .get_result(conn)?)
}

pub fn deploy(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    json: &serde_json::Value,
) -> ModelResult<(SpaceConfig, bool)> {
    let parsed = blueprint::parse_space_config(json)?;
    crate::db::write_tx(conn, |conn| deploy_parsed(conn, environment_id, json, &parsed))
}

fn deploy_parsed(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    json: &serde_json::Value,
    parsed: &blueprint::SpaceConfigBlueprint,
) -> ModelResult<(SpaceConfig, bool)> {
    let text = json.to_string();
    let t = now();
    // Two deploys of one slug at once: the second updates what the first made.
    crate::db::one_writer_of(conn, 7326003, &format!("{environment_id} {}", parsed.slug))?;
    let existing = space_configs::table
        .filter(space_configs::environment_id.eq(environment_id))
        .filter(space_configs::slug.eq(&parsed.slug))
        .select(SpaceConfig::as_select())
        .first(conn)
        .optional()?;
    let (id, created) = match existing {
        Some(found) => {
            diesel::update(space_configs::table.find(&found.id))
                .set((
                    space_configs::name.eq(&parsed.name),
                    space_configs::blueprint.eq(&text),
                    space_configs::updated_at.eq(t),
                ))
                .execute(conn)?;
            (found.id, false)
        }
        None => {
            let id = SpaceConfigId::generate();
            diesel::insert_into(space_configs::table)
                .values(NewSpaceConfig {
                    id: id.clone(),
                    environment_id,
                    slug: &parsed.slug,
                    name: &parsed.name,
                    blueprint: &text,
                    created_at: t,
                    updated_at: t,
                })
                .execute(conn)?;
            (id, true)
        }
    };
    let config = find(conn, environment_id, &id)?.ok_or(ModelError::NotFound("space config"))?;
    Ok((config, created))
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SpaceConfigId,
) -> QueryResult<Option<SpaceConfig>> {
    space_configs::table
        .filter(space_configs::environment_id.eq(environment_id))
        .filter(space_configs::id.eq(id))
        .select(SpaceConfig::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut AnyConnection, environment_id: &EnvironmentId) -> QueryResult<Vec<SpaceConfig>> {
    space_configs::table
        .filter(space_configs::environment_id.eq(environment_id))
        .order(space_configs::name.asc())
        .select(SpaceConfig::as_select())
        .load(conn)
}

/// Deletes a space config no space was created from (archived spaces count: they may be
/// restored). The spaces made from it keep their workbooks either way; refusing keeps the
/// link from a space to its config, which its actions and "Set up by" come from.
pub fn delete_if_unused(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SpaceConfigId,
) -> ModelResult<SpaceConfig> {
    use crate::db::schema::spaces;
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        // PostgreSQL: a space being created from this config holds it (see `find_held`)
        // until it commits, so it is counted below; one created after finds it gone.
        if let AnyConnection::Postgres(pg) = conn {
            space_configs::table
                .filter(space_configs::environment_id.eq(environment_id))
                .filter(space_configs::id.eq(id))
                .select(space_configs::id)
                .for_update()
                .load::<SpaceConfigId>(pg)?;
        }
        let config = find(conn, environment_id, id)?.ok_or(ModelError::NotFound("space config"))?;
        let used: i64 = spaces::table
            .filter(spaces::space_config_id.eq(id))
            .count()
            .get_result(conn)?;
        if used > 0 {
            return Err(ModelError::Conflict(format!(
                "“{}” was used to create {used} space{} (archived ones count too); delete {} first, \
                 then the space config",
                config.name,
                if used == 1 { "" } else { "s" },
                if used == 1 { "it" } else { "them" },
            )));
        }
        diesel::delete(space_configs::table.filter(space_configs::id.eq(id))).execute(conn)?;
        Ok(config)
    })
}

/// [`find`] for a space about to be created from the config: on PostgreSQL the row is held
/// (shared) until the space commits, so a delete waits for it and then counts it.
pub fn find_held(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SpaceConfigId,
) -> QueryResult<Option<SpaceConfig>> {
    if let AnyConnection::Postgres(pg) = conn {
        return space_configs::table
            .filter(space_configs::environment_id.eq(environment_id))
            .filter(space_configs::id.eq(id))
            .select(SpaceConfig::as_select())
            .for_key_share()
            .first(pg)
            .optional();
    }
    find(conn, environment_id, id)
}
