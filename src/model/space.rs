//! Spaces: an environment plus a space config; where people collaborate.

use super::event::{self, Context};
use super::{now, space_config, workbook, ModelError, ModelResult};
use crate::db::schema::spaces;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SpaceConfigId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = spaces)]
pub struct Space {
    pub id: SpaceId,
    pub environment_id: EnvironmentId,
    pub space_config_id: Option<SpaceConfigId>,
    pub name: String,
    pub metadata: String,
    pub created_by: Option<String>,
    pub archived_at: Option<NaiveDateTime>,
    pub last_activity_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Flatfile's `namespace`: events in the space carry `space:<namespace>`.
    pub namespace: Option<String>,
    /// Flatfile's `autoConfigure`: made with it, the space got a `space:configure` job.
    pub auto_configure: bool,
    /// Flatfile's `primaryWorkbookId` as set; see [`primary_workbook`].
    pub primary_workbook_id: Option<WorkbookId>,
    /// Flatfile's space fields kept as given (a JSON object; see `space_extras`).
    pub extras: String,
}

/// The space's primary workbook among `workbooks` (its workbooks' ids, oldest first): the
/// one set, or the oldest when none is set or the one set was deleted.
pub fn primary_workbook<'a, W: AsRef<str>>(space: &Space, workbooks: &'a [W]) -> Option<&'a W> {
    let set = space.primary_workbook_id.as_ref().map(WorkbookId::as_str);
    workbooks
        .iter()
        .find(|w| Some(w.as_ref()) == set)
        .or_else(|| workbooks.first())
}

#[derive(Insertable)]
#[diesel(table_name = spaces)]
struct NewSpace<'a> {
    id: SpaceId,
    environment_id: &'a EnvironmentId,
    space_config_id: Option<&'a SpaceConfigId>,
    name: &'a str,
    metadata: &'a str,
    created_by: Option<&'a str>,
    last_activity_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    namespace: Option<&'a str>,
    auto_configure: bool,
    extras: &'a str,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = spaces)]
pub struct SpaceChanges {
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub archived_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
    pub namespace: Option<Option<String>>,
    /// Set by [`update`] from its patch of the extras.
    pub extras: Option<String>,
    pub primary_workbook_id: Option<Option<WorkbookId>>,
}

/// What a new space is made from.
pub struct SpaceInput<'a> {
    pub name: Option<&'a str>,
    pub space_config_id: Option<&'a SpaceConfigId>,
    pub metadata: &'a str,
    pub namespace: Option<&'a str>,
    /// Flatfile's `autoConfigure`: a `space:configure` job is made with the space, for
    /// listener code (`@flatfile/plugin-space-configure`) to set it up.
    pub auto_configure: bool,
    /// Flatfile's fields kept as given (a checked JSON object, `space_extras`).
    pub extras: &'a str,
}

/// Creates a space and, when it comes from a space config, the config's workbooks.
pub fn create(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    input: SpaceInput<'_>,
    actor: &str,
) -> ModelResult<Space> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        let config = match input.space_config_id {
            Some(id) => Some(space_config::find_held(conn, environment_id, id)?.ok_or_else(|| {
                ModelError::Invalid(vec![(
                    "spaceConfigId".into(),
                    format!("no space config {id} in this environment"),
                )])
            })?),
            None => None,
        };
        let name = input
            .name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .or_else(|| config.as_ref().map(|c| c.name.clone()))
            .unwrap_or_else(|| "Untitled space".to_string());
        if name.chars().count() > 200 {
            return Err(ModelError::Invalid(vec![(
                "name".into(),
                "a space name must be at most 200 characters".into(),
            )]));
        }
        refuse_misleading(&name)?;
        let t = now();
        let id = SpaceId::generate();
        diesel::insert_into(spaces::table)
            .values(NewSpace {
                id: id.clone(),
                environment_id,
                space_config_id: input.space_config_id,
                name: &name,
                metadata: input.metadata,
                created_by: Some(actor),
                last_activity_at: t,
                created_at: t,
                updated_at: t,
                namespace: input.namespace,
                auto_configure: input.auto_configure,
                extras: input.extras,
            })
            .execute(conn)?;
        let ctx = Context::new(environment_id, actor).space(&id);
        event::emit(conn, &ctx, "space:created", json!({"name": name}))?;
        if input.auto_configure {
            let job = super::job::JobInput {
                job_type: "space".into(),
                operation: "configure".into(),
                source: id.to_string(),
                status: super::job::status::READY.into(),
                trigger: "immediate".into(),
                ..super::job::JobInput::new(environment_id, Some(&id))
            };
            super::job::create(conn, job, actor)?;
        }
        if let Some(config) = config {
            for wb in config.parsed()?.workbooks {
                let spec = workbook::Spec {
                    labels: &wb.labels,
                    actions: &wb.actions,
                    settings: wb.settings.as_ref(),
                    ..workbook::Spec::new(&wb.name, &wb.sheets)
                };
                workbook::create(conn, &ctx, spec)?;
            }
        }
        find(conn, environment_id, &id)?.ok_or(ModelError::NotFound("space"))
    })
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SpaceId,
) -> QueryResult<Option<Space>> {
    spaces::table
        .filter(spaces::environment_id.eq(environment_id))
        .filter(spaces::id.eq(id))
        .select(Space::as_select())
        .first(conn)
        .optional()
}

/// Whether the space is archived (a missing space reads as not archived).
pub fn is_archived(conn: &mut AnyConnection, id: &SpaceId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        spaces::table
            .filter(spaces::id.eq(id))
            .filter(spaces::archived_at.is_not_null()),
    ))
    .get_result(conn)
}

diesel::define_sql_function! {
    /// Lowercases text on both backends, for case-insensitive search.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Which spaces to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub search: Option<String>,
    pub namespace: Option<String>,
    pub archived: bool,
    pub page_size: i64,
    pub page_number: i64,
    /// Flatfile's `sortField` and whether `sortDirection` is `desc`; newest first without.
    pub sort: Option<(SortField, bool)>,
    /// A guest's spaces: the only ones listed (`None`: all of the environment's).
    pub only: Option<Vec<SpaceId>>,
}

/// The `sortField`s of Flatfile's that a space list follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Name,
    CreatedAt,
    LastActivityAt,
    EnvironmentId,
    WorkbooksCount,
    FilesCount,
    CreatedByUserName,
}

impl SortField {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "name" => Self::Name,
            "createdAt" => Self::CreatedAt,
            "lastActivityAt" => Self::LastActivityAt,
            "environmentId" => Self::EnvironmentId,
            "workbooksCount" => Self::WorkbooksCount,
            "filesCount" => Self::FilesCount,
            "createdByUserName" => Self::CreatedByUserName,
            _ => return None,
        })
    }
}

pub fn list(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    f: &Filter,
) -> QueryResult<(Vec<Space>, i64)> {
    let base = || {
        let mut q = spaces::table
            .filter(spaces::environment_id.eq(environment_id))
            .into_boxed();
        q = if f.archived {
            q.filter(spaces::archived_at.is_not_null())
        } else {
            q.filter(spaces::archived_at.is_null())
        };
        if let Some(s) = f.search.as_deref().filter(|s| !s.trim().is_empty()) {
            // `%` and `_` in a search are themselves, not wildcards.
            let wanted = s
                .trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(lower(spaces::name).like(format!("%{wanted}%")).escape('\\'));
        }
        if let Some(ns) = &f.namespace {
            q = q.filter(spaces::namespace.eq(ns.clone()));
        }
        if let Some(only) = &f.only {
            q = q.filter(spaces::id.eq_any(only.clone()));
        }
        q
    };
    let total = base().count().get_result(conn)?;
    // A page past the end of what i64 can count is simply past the end.
    let Some(offset) = (f.page_number - 1).checked_mul(f.page_size) else {
        return Ok((Vec::new(), total));
    };
    let ordered = match f.sort {
        None => base().order((spaces::created_at.desc(), spaces::id.desc())),
        Some((field, desc)) => {
            let q = base();
            let q = match (field, desc) {
                (SortField::Name, false) => q.order(spaces::name.asc()),
                (SortField::Name, true) => q.order(spaces::name.desc()),
                (SortField::CreatedAt, false) => q.order(spaces::created_at.asc()),
                (SortField::CreatedAt, true) => q.order(spaces::created_at.desc()),
                (SortField::LastActivityAt, false) => q.order(spaces::last_activity_at.asc()),
                (SortField::LastActivityAt, true) => q.order(spaces::last_activity_at.desc()),
                (SortField::EnvironmentId, false) => q.order(spaces::environment_id.asc()),
                (SortField::EnvironmentId, true) => q.order(spaces::environment_id.desc()),
                // Counted as the list shows them; a space made by an API key has no user
                // name and sorts as an empty one.
                (counted, desc) => {
                    let key = match counted {
                        SortField::WorkbooksCount => {
                            "(SELECT COUNT(*) FROM workbooks w WHERE w.space_id = spaces.id)"
                        }
                        SortField::FilesCount => {
                            "(SELECT COUNT(*) FROM files f WHERE f.space_id = spaces.id)"
                        }
                        _ => "COALESCE((SELECT u.name FROM users u WHERE u.id = spaces.created_by), '')",
                    };
                    let key = diesel::dsl::sql::<diesel::sql_types::Text>(key);
                    match desc {
                        false => q.order(key.asc()),
                        true => q.order(key.desc()),
                    }
                }
            };
            // Ties in a stable order, so pages neither repeat nor skip a space.
            match desc {
                false => q.then_order_by(spaces::id.asc()),
                true => q.then_order_by(spaces::id.desc()),
            }
        }
    };
    let items = ordered
        .limit(f.page_size)
        .offset(offset)
        .select(Space::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// A space's name shows in lists, pages and invitation subjects: one line, nothing that
/// turns the text around it.
fn refuse_misleading(name: &str) -> ModelResult<()> {
    match crate::names::problem("a space name", name, crate::names::MAX_CHARS) {
        Some(message) => Err(ModelError::Invalid(vec![("name".into(), message)])),
        None => Ok(()),
    }
}

/// Changes a space. `extras` are Flatfile fields to set (`null` takes one away), merged
/// into those kept under the row's lock, so two updates of different fields keep both.
pub fn update(
    conn: &mut AnyConnection,
    space: &Space,
    mut changes: SpaceChanges,
    extras: Option<&super::space_extras::Extras>,
    actor: &str,
) -> ModelResult<Space> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        if let Some(patch) = extras {
            let kept = lock_extras(conn, &space.id)?.ok_or(ModelError::NotFound("space"))?;
            let merged = super::space_extras::merged(&kept, patch);
            if let Some(message) = super::space_extras::too_big(&merged) {
                return Err(ModelError::Invalid(vec![("settings".into(), message)]));
            }
            changes.extras = Some(merged);
        }
        if let Some(Some(wb)) = &changes.primary_workbook_id {
            if !workbook::in_space(conn, &space.id, wb)? {
                return Err(ModelError::Invalid(vec![(
                    "primaryWorkbookId".into(),
                    format!("{wb} is not a workbook of this space"),
                )]));
            }
        }
        if let Some(name) = &changes.name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(ModelError::Invalid(vec![(
                    "name".into(),
                    "a space name must be 1 to 200 characters".into(),
                )]));
            }
            refuse_misleading(name)?;
            changes.name = Some(name.to_string());
        }
        changes.updated_at = Some(now());
        diesel::update(spaces::table.find(&space.id))
            .set(&changes)
            .execute(conn)?;
        let ctx = Context::new(&space.environment_id, actor).space(&space.id);
        // Archiving and bringing back are Flatfile's events of their own; other changes
        // are `space:updated`.
        let archiving = match changes.archived_at {
            Some(Some(_)) if space.archived_at.is_none() => Some("space:archived"),
            Some(None) if space.archived_at.is_some() => Some("space:unarchived"),
            _ => None,
        };
        let other = changes.name.is_some()
            || changes.metadata.is_some()
            || changes.namespace.is_some()
            || changes.extras.is_some()
            || changes.primary_workbook_id.is_some();
        if let Some(topic) = archiving {
            event::emit(conn, &ctx, topic, json!({}))?;
        }
        if other || archiving.is_none() {
            event::emit(conn, &ctx, "space:updated", json!({}))?;
        }
        find(conn, &space.environment_id, &space.id)?.ok_or(ModelError::NotFound("space"))
    })
}

/// The space's kept extras, its row locked on PostgreSQL until the transaction ends.
/// Holds the space's row until the transaction ends (PostgreSQL; SQLite's writer holds
/// the whole database): a check of what it holds stays true for the write after it.
pub fn lock(conn: &mut AnyConnection, id: &SpaceId) -> QueryResult<()> {
    lock_extras(conn, id).map(|_| ())
}

fn lock_extras(conn: &mut AnyConnection, id: &SpaceId) -> QueryResult<Option<String>> {
    let q = spaces::table.find(id).select(spaces::extras);
    match conn {
        AnyConnection::Postgres(pg) => q.for_update().first(pg).optional(),
        _ => q.first(conn).optional(),
    }
}

pub fn delete(conn: &mut AnyConnection, space: &Space, actor: &str) -> ModelResult<()> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        let guests = super::guest::guests_of_space(conn, &space.id)?;
        let ctx = Context::new(&space.environment_id, actor)
            .space(&space.id)
            .keep_namespaces(conn)?;
        // Of two deletes at once, the second finds nothing and says nothing.
        if diesel::delete(spaces::table.find(&space.id)).execute(conn)? == 0 {
            return Ok(());
        }
        // A guest whose last space this was is signed out (a later invitation must not
        // revive the old session).
        for g in &guests {
            super::guest::end_sessions_if_spaceless(conn, g)?;
        }
        event::emit(conn, &ctx, "space:deleted", json!({}))?;
        Ok(())
    })
}

/// Takes a space from every writer for the rest of a transaction that deletes it
/// (PostgreSQL `FOR UPDATE`: writers adding to it hold it `FOR KEY SHARE`, so those under
/// way finish first and later ones find it gone). SQLite's write transaction holds the
/// whole database already.
pub fn lock_for_delete(conn: &mut AnyConnection, id: &SpaceId) -> QueryResult<()> {
    if let AnyConnection::Postgres(pg) = conn {
        spaces::table
            .find(id)
            .select(spaces::id)
            .for_update()
            .load::<SpaceId>(pg)?;
    }
    Ok(())
}

/// Keeps spaces from being deleted until the transaction ends (PostgreSQL `FOR KEY SHARE`,
/// which writers of one space do not conflict on). A write takes this before any row of the
/// space's content (its job, its sheets), in the order a space's deletion takes them (the
/// space, then its content by cascade): the other way round, deleting a space while a file
/// was extracted into it deadlocked. SQLite's write transaction holds the whole database.
pub fn hold(conn: &mut AnyConnection, ids: &[SpaceId]) -> QueryResult<()> {
    if let AnyConnection::Postgres(pg) = conn {
        spaces::table
            .filter(spaces::id.eq_any(ids))
            .order(spaces::id.asc())
            .select(spaces::id)
            .for_key_share()
            .load::<SpaceId>(pg)?;
    }
    Ok(())
}

/// [`hold`] for a write that adds to spaces: each must still be there. A space deleted
/// meanwhile is not found (404), where the insert would break its foreign key (500).
pub fn hold_to_add(conn: &mut AnyConnection, ids: &[SpaceId]) -> super::ModelResult<()> {
    let query = spaces::table
        .filter(spaces::id.eq_any(ids))
        .order(spaces::id.asc())
        .select(spaces::id);
    let found: Vec<SpaceId> = match conn {
        AnyConnection::Postgres(pg) => query.for_key_share().load(pg)?,
        _ => query.load(conn)?,
    };
    match ids.iter().all(|id| found.contains(id)) {
        true => Ok(()),
        false => Err(super::ModelError::NotFound("space")),
    }
}

/// Marks activity on spaces a write holds (see [`hold`]); at most once a second each, so
/// concurrent writers of one space seldom touch its row. On PostgreSQL it never waits: a
/// space another writer is marking right now is skipped (that writer marks it anyway), as
/// waiting there could deadlock with the sheet locks a nested write already holds.
pub fn touch_some(conn: &mut AnyConnection, ids: &[SpaceId]) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        let t = now();
        let stale = spaces::table
            .filter(spaces::id.eq_any(ids))
            .filter(spaces::last_activity_at.lt(t - chrono::Duration::seconds(1)));
        let ids: Vec<SpaceId> = match conn {
            AnyConnection::Postgres(pg) => stale
                .select(spaces::id)
                .for_no_key_update()
                .skip_locked()
                .load(pg)?,
            _ => stale.select(spaces::id).load(conn)?,
        };
        if !ids.is_empty() {
            diesel::update(spaces::table.filter(spaces::id.eq_any(&ids)))
                .set(spaces::last_activity_at.eq(t))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Marks activity so the Spaces tab can show it.
pub fn touch(conn: &mut AnyConnection, id: &SpaceId) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(spaces::table.find(id))
            .set(spaces::last_activity_at.eq(now()))
            .execute(conn)?;
        Ok(())
    })
}
