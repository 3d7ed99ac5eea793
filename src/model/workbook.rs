//! Workbooks hold sheets.

use super::event::{self, Context};
use super::{now, sheet, ModelError, ModelResult};
use crate::blueprint::SheetConfig;
use crate::db::schema::workbooks;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workbooks)]
pub struct Workbook {
    pub id: WorkbookId,
    pub space_id: SpaceId,
    pub environment_id: EnvironmentId,
    pub name: String,
    pub labels: String,
    pub metadata: String,
    pub actions: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Flatfile's `namespace`: events in the workbook carry `workbook:<namespace>`.
    pub namespace: Option<String>,
    /// Flatfile's `settings` as given (a JSON object); `trackChanges` is also held by
    /// each sheet's config, where the write path reads it.
    pub settings: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = workbooks)]
struct NewWorkbook<'a> {
    id: WorkbookId,
    space_id: &'a SpaceId,
    environment_id: &'a EnvironmentId,
    name: &'a str,
    labels: String,
    metadata: &'a str,
    actions: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    namespace: Option<&'a str>,
    settings: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = workbooks)]
pub struct WorkbookChanges {
    pub name: Option<String>,
    pub labels: Option<String>,
    pub metadata: Option<String>,
    pub actions: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub namespace: Option<Option<String>>,
    pub settings: Option<Option<String>>,
}

/// What is wrong with a workbook name given by someone, if anything: it shows in page
/// titles, breadcrumbs, a guest's home page and the Activity tab. Names made by Wharf (a
/// file's workbook) and names stored before this rule are not checked.
pub fn name_problem(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return Some("a workbook needs a name".into());
    }
    crate::names::problem("a workbook name", name, crate::names::MAX_CHARS)
}

/// What a new workbook is made of.
pub struct Spec<'a> {
    pub name: &'a str,
    pub labels: &'a [String],
    pub actions: &'a serde_json::Value,
    pub sheets: &'a [SheetConfig],
    pub metadata: &'a str,
    pub namespace: Option<&'a str>,
    pub settings: Option<&'a serde_json::Value>,
}

impl<'a> Spec<'a> {
    /// A workbook of these sheets, without labels, actions, metadata or namespace.
    pub fn new(name: &'a str, sheets: &'a [SheetConfig]) -> Self {
        static NO_ACTIONS: serde_json::Value = serde_json::Value::Null;
        Spec {
            name,
            labels: &[],
            actions: &NO_ACTIONS,
            sheets,
            metadata: "{}",
            namespace: None,
            settings: None,
        }
    }
}

/// Holds the workbook's row until the transaction ends (PostgreSQL; SQLite's one writer
/// holds everything already): changes that must see each other's (sheets added to it,
/// imports planned from it) wait their turn.
pub fn hold(conn: &mut AnyConnection, id: &WorkbookId) -> ModelResult<()> {
    if let AnyConnection::Postgres(pg) = conn {
        workbooks::table
            .find(id)
            .select(workbooks::id)
            .for_update()
            .first::<WorkbookId>(pg)
            .optional()?
            .ok_or(ModelError::NotFound("workbook"))?;
    }
    Ok(())
}

/// Creates a workbook and its sheets in the space named by `ctx`.
pub fn create(conn: &mut AnyConnection, ctx: &Context, spec: Spec<'_>) -> ModelResult<Workbook> {
    let Spec {
        name,
        labels,
        actions,
        sheets,
        metadata,
        namespace,
        settings,
    } = spec;
    let actions = if actions.is_null() { &json!([]) } else { actions };
    let space_id = ctx.space_id.as_ref().ok_or(ModelError::NotFound("space"))?;
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        super::space::hold_to_add(conn, std::slice::from_ref(space_id))?;
        let t = now();
        let id = WorkbookId::generate();
        diesel::insert_into(workbooks::table)
            .values(NewWorkbook {
                id: id.clone(),
                space_id,
                environment_id: &ctx.environment_id,
                name,
                labels: serde_json::to_string(labels).unwrap_or_else(|_| "[]".into()),
                metadata,
                actions: actions.to_string(),
                created_at: t,
                updated_at: t,
                namespace,
                settings: settings.map(|s| s.to_string()),
            })
            .execute(conn)?;
        let ctx = ctx.clone().workbook(&id);
        for (position, config) in sheets.iter().enumerate() {
            sheet::create(conn, &id, config, position as i32)?;
        }
        event::emit(conn, &ctx, "workbook:created", json!({"name": name}))?;
        super::space::touch(conn, space_id)?;
        find(conn, &ctx.environment_id, &id)?.ok_or(ModelError::NotFound("workbook"))
    })
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &WorkbookId,
) -> QueryResult<Option<Workbook>> {
    workbooks::table
        .filter(workbooks::environment_id.eq(environment_id))
        .filter(workbooks::id.eq(id))
        .select(Workbook::as_select())
        .first(conn)
        .optional()
}

pub fn list_in_space(conn: &mut AnyConnection, space_id: &SpaceId) -> QueryResult<Vec<Workbook>> {
    workbooks::table
        .filter(workbooks::space_id.eq(space_id))
        .order((workbooks::created_at.asc(), workbooks::id.asc()))
        .select(Workbook::as_select())
        .load(conn)
}

/// A space's workbooks as its pages list them: its primary workbook first (Flatfile's
/// `primaryWorkbookId`, which listener code sets), then the others oldest first.
pub fn list_for_pages(conn: &mut AnyConnection, space: &super::space::Space) -> QueryResult<Vec<Workbook>> {
    let mut all = list_in_space(conn, &space.id)?;
    let ids: Vec<WorkbookId> = all.iter().map(|w| w.id.clone()).collect();
    if let Some(at) =
        super::space::primary_workbook(space, &ids).and_then(|p| ids.iter().position(|w| w == p))
    {
        let primary = all.remove(at);
        all.insert(0, primary);
    }
    Ok(all)
}

/// True when `id` is a workbook of the space.
pub fn in_space(conn: &mut AnyConnection, space_id: &SpaceId, id: &WorkbookId) -> QueryResult<bool> {
    use diesel::dsl::{exists, select};
    select(exists(
        workbooks::table
            .filter(workbooks::space_id.eq(space_id))
            .filter(workbooks::id.eq(id)),
    ))
    .get_result(conn)
}

/// The workbook ids of several spaces, oldest first, in one query.
pub fn ids_by_space(
    conn: &mut AnyConnection,
    spaces: &[SpaceId],
) -> QueryResult<std::collections::HashMap<SpaceId, Vec<WorkbookId>>> {
    let rows: Vec<(SpaceId, WorkbookId)> = workbooks::table
        .filter(workbooks::space_id.eq_any(spaces))
        .order((workbooks::created_at.asc(), workbooks::id.asc()))
        .select((workbooks::space_id, workbooks::id))
        .load(conn)?;
    let mut out: std::collections::HashMap<SpaceId, Vec<WorkbookId>> = std::collections::HashMap::new();
    for (space, wb) in rows {
        out.entry(space).or_default().push(wb);
    }
    Ok(out)
}

pub fn list_in_environment(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
) -> QueryResult<Vec<Workbook>> {
    workbooks::table
        .filter(workbooks::environment_id.eq(environment_id))
        .order((workbooks::created_at.asc(), workbooks::id.asc()))
        .select(Workbook::as_select())
        .load(conn)
}

/// Changes a workbook, and with `sheets` (Flatfile's `WorkbookUpdate.sheets`) the configs
/// of the sheets they name and the sheets they add (see [`super::workbook_sheets`]).
pub fn update(
    conn: &mut AnyConnection,
    wb: &Workbook,
    mut changes: WorkbookChanges,
    sheets: Option<&[serde_json::Value]>,
    actor: &str,
) -> ModelResult<Workbook> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        if let Some(message) = changes.name.as_deref().and_then(name_problem) {
            return Err(ModelError::Invalid(vec![("name".into(), message)]));
        }
        changes.updated_at = Some(now());
        let ctx = Context::new(&wb.environment_id, actor)
            .space(&wb.space_id)
            .workbook(&wb.id);
        if let Some(items) = sheets {
            let super::workbook_sheets::SheetChanges { changed, mut added } =
                super::workbook_sheets::changes(conn, wb, items)?;
            for (s, config) in changed {
                super::workbook_sheets::store(conn, &s.id, &config)?;
                let sctx = ctx.clone().sheet(&s.id).sheet_slug(&config.slug);
                event::emit(
                    conn,
                    &sctx,
                    "sheet:updated",
                    json!({"name": config.name, "slug": config.slug}),
                )?;
            }
            let settings = match &changes.settings {
                Some(given) => given.clone(),
                None => wb.settings.clone(),
            };
            let settings = settings.and_then(|s| serde_json::from_str(&s).ok());
            crate::blueprint::inherit_settings(settings.as_ref(), &mut added);
            let first = sheet::list_in_workbook(conn, &wb.id)?
                .iter()
                .map(|s| s.position + 1)
                .max()
                .unwrap_or(0);
            for (position, config) in (first..).zip(&added) {
                let id = sheet::create(conn, &wb.id, config, position)?;
                let sctx = ctx.clone().sheet(&id).sheet_slug(&config.slug);
                event::emit(
                    conn,
                    &sctx,
                    "sheet:created",
                    json!({"name": config.name, "slug": config.slug}),
                )?;
            }
        }
        if let Some(Some(settings)) = &changes.settings {
            track_changes_in_sheets(conn, &wb.id, settings)?;
        }
        diesel::update(workbooks::table.find(&wb.id))
            .set(&changes)
            .execute(conn)?;
        event::emit(conn, &ctx, "workbook:updated", json!({}))?;
        find(conn, &wb.environment_id, &wb.id)?.ok_or(ModelError::NotFound("workbook"))
    })
}

/// New `settings` with `trackChanges` hold it for every sheet of the workbook, as a
/// workbook made with them does for its sheets.
fn track_changes_in_sheets(conn: &mut AnyConnection, id: &WorkbookId, settings: &str) -> ModelResult<()> {
    let Some(track) = serde_json::from_str::<serde_json::Value>(settings)
        .ok()
        .and_then(|s| s.get("trackChanges").and_then(serde_json::Value::as_bool))
    else {
        return Ok(());
    };
    sheet::lock_workbook(conn, id)?;
    for s in sheet::list_in_workbook(conn, id)? {
        let mut config: serde_json::Value = serde_json::from_str(&s.config).unwrap_or_else(|_| json!({}));
        if config
            .pointer("/settings/trackChanges")
            .and_then(serde_json::Value::as_bool)
            == Some(track)
        {
            continue;
        }
        if !config["settings"].is_object() {
            config["settings"] = json!({});
        }
        config["settings"]["trackChanges"] = json!(track);
        sheet::store_config_json(conn, &s.id, &config)?;
    }
    Ok(())
}

/// A person's (or guest's) delete of a workbook with a locked sheet is refused: while a
/// sheet is locked only secret keys change it.
pub fn refuse_locked(conn: &mut AnyConnection, wb: &Workbook, actor: &str) -> ModelResult<()> {
    if crate::ids::ApiKeyId::parse(actor).is_some() {
        return Ok(());
    }
    // Within a delete's transaction, a lock taken meanwhile waits for it (PostgreSQL; a
    // SQLite writer holds the whole database).
    if let AnyConnection::Postgres(pg) = conn {
        use crate::db::schema::sheets;
        sheets::table
            .filter(sheets::workbook_id.eq(&wb.id))
            .select(sheets::id)
            .for_update()
            .load::<String>(pg)?;
    }
    for sheet in super::sheet::list_in_workbook(conn, &wb.id)? {
        sheet.check_unlocked()?;
    }
    Ok(())
}

pub fn delete(conn: &mut AnyConnection, wb: &Workbook, actor: &str) -> ModelResult<()> {
    delete_returning_keys(conn, wb, actor, None).map(|_| ())
}

/// [`delete`], answering the storage keys of the records its Submits froze, for the caller
/// to delete (those held in another data folder than `here` are handed over to it). A file
/// whose extraction made the workbook no longer points at it.
pub fn delete_returning_keys(
    conn: &mut AnyConnection,
    wb: &Workbook,
    actor: &str,
    here: Option<&str>,
) -> ModelResult<Vec<String>> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        // Its space first, as the space's deletion takes them (see `space::hold`).
        super::space::hold(conn, std::slice::from_ref(&wb.space_id))?;
        let ctx = Context::new(&wb.environment_id, actor)
            .space(&wb.space_id)
            .workbook(&wb.id)
            .keep_namespaces(conn)?;
        diesel::delete(workbooks::table.find(&wb.id)).execute(conn)?;
        // A file whose extraction made it no longer points at it (its Open led to a 404),
        // and an import waiting to read from it or write into it is canceled (its page,
        // where it is run or canceled, could no longer be opened).
        {
            use crate::db::schema::{files, jobs};
            use crate::model::job::{self, status, Job};
            diesel::update(files::table.filter(files::workbook_id.eq(&wb.id)))
                .set(files::workbook_id.eq(None::<String>))
                .execute(conn)?;
            let waiting: Vec<Job> = jobs::table
                .filter(jobs::job_type.eq("workbook"))
                .filter(jobs::operation.eq("map"))
                .filter(jobs::status.eq_any([status::CREATED, status::PLANNING, status::READY]))
                .filter(
                    jobs::source
                        .eq(wb.id.as_str())
                        .or(jobs::destination.eq(wb.id.as_str())),
                )
                .select(Job::as_select())
                .load(conn)?;
            for j in waiting {
                let why = format!(
                    "Canceled: the workbook {} it was to read from or write into was deleted",
                    wb.name
                );
                job::finish(conn, &j, status::CANCELED, None, Some(why), actor)?;
            }
        }
        let why = format!("the workbook {} was deleted", wb.name);
        let keys = super::submission::drop_deleted(conn, &wb.id, None, &why, actor, here)?;
        event::emit(conn, &ctx, "workbook:deleted", json!({}))?;
        Ok(keys)
    })
}
