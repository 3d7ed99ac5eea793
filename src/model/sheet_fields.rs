//! Changing a sheet's fields and names (`sheets.addField`, `sheets.removeField`,
//! `sheets.updateSheet`). Each change is one write transaction that keeps records and
//! config in step: a field is added at the end (records stored before it read as empty
//! there), a removed field is taken out of every record in the same transaction. Then a
//! `sheet:recheck-records` job re-checks every record under the new fields in the
//! background, a batch per transaction, so the counts are true at every moment.

use super::event::{self, Context};
use super::job::{self, Job, JobInput};
use super::record::bulk_history;
use super::record::fields as record_fields;
use super::sheet::{self, Sheet, SheetContext};
use super::{now, ModelError, ModelResult};
use crate::blueprint;
use crate::db::schema::sheets;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SheetId};
use diesel::prelude::*;
use serde_json::{json, Value};

/// The job operation that re-checks a sheet's records (job type `sheet`).
pub const RECHECK: &str = "recheck-records";

/// The sheet's context as it is once every sheet of its workbook is locked: field changes
/// lock them all (references may point anywhere in the workbook), so no record write or
/// other field change runs on fields older than this.
pub fn locked_context(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    id: &SheetId,
) -> ModelResult<SheetContext> {
    let first = sheet::load_context(conn, env, id)?;
    sheet::lock_workbook(conn, &first.sheet.workbook_id)?;
    sheet::load_context(conn, env, id)
}

/// Adds a field (already parsed from `json`, its shape checked) at position `at` of the
/// sheet's fields (`None`: at the end) and queues the re-check of its records. A key the
/// sheet has: 409. A reference to a sheet or field the workbook lacks, or a position past
/// the end: 422.
pub fn add_field(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    id: &SheetId,
    json: &Value,
    at: Option<usize>,
    actor: &str,
) -> ModelResult<Job> {
    let field = blueprint::parse_one_field(json, "$")?;
    crate::db::write_tx(conn, |conn| {
        let ctx = locked_context(conn, env, id)?;
        // Read under the lock: a guest's field waiting behind a lock does not land after it.
        let (at, target) = addition(conn, &ctx, (&field, json), at, actor)?;
        let count = ctx.config.fields.len();
        let mut config = ctx.config.json.clone();
        match config["fields"].as_array_mut() {
            Some(fields) => fields.insert(at, json.clone()),
            None => config["fields"] = json!([json]),
        }
        // The target's records must keep keys for the reference to find them.
        if let (Some((target_id, index)), Some(_)) = (target, field.field_type.reference_target()) {
            let target_ctx = sheet::load_context(conn, env, &target_id)?;
            record_fields::keep_target_keys(conn, &target_ctx, index)?;
        }
        store_config(conn, &ctx.sheet, &config, None)?;
        if at < count {
            record_fields::insert_field(conn, &ctx, at)?;
        }
        if field.unique_keeps_empty() {
            record_fields::keep_empty_keys(conn, &ctx, at)?;
        }
        emit_updated(conn, &ctx, actor, json!({"fieldAdded": field.key}))?;
        queue_recheck(conn, &ctx, actor)
    })
}

/// Whether [`add_field`] would refuse this field now, read without changing anything: a
/// big sheet's indexes are set aside only for an addition that will happen.
pub fn check_addition(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    id: &SheetId,
    json: &Value,
    at: Option<usize>,
    actor: &str,
) -> ModelResult<()> {
    let field = blueprint::parse_one_field(json, "$")?;
    let ctx = sheet::load_context(conn, env, id)?;
    addition(conn, &ctx, (&field, json), at, actor).map(|_| ())
}

/// Where an addition puts the field (parsed, and as given), and a reference's target; or
/// why it is refused.
fn addition(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    (field, json): (&blueprint::Field, &Value),
    at: Option<usize>,
    actor: &str,
) -> ModelResult<(usize, Option<(SheetId, usize)>)> {
    let guest = crate::ids::GuestId::parse(actor).is_some();
    if guest {
        ctx.sheet.check_unlocked()?;
    }
    if ctx.config.field_index(&field.key).is_some() {
        return Err(ModelError::Conflict(format!(
            "the sheet {} already has a field `{}`; give the new field another key",
            ctx.sheet.name, field.key
        )));
    }
    let count = ctx.config.fields.len();
    if count >= blueprint::MAX_FIELDS {
        return Err(ModelError::Invalid(vec![(
            "$".into(),
            format!(
                "the sheet {} has {count} fields, the most a sheet may have; remove one before adding another",
                ctx.sheet.name
            ),
        )]));
    }
    if ctx.sheet.config.len() + json.to_string().len() > blueprint::MAX_CONFIG_BYTES {
        return Err(ModelError::Invalid(vec![(
            "$".into(),
            format!(
                "the fields of the sheet {} would pass {} KiB of JSON, the most a sheet's fields may hold together; shorten their options or descriptions",
                ctx.sheet.name,
                blueprint::MAX_CONFIG_BYTES / 1024
            ),
        )]));
    }
    // Put among the others, a field moves a cell of every record in one write; on a big
    // sheet that holds every other writer of the database (SQLite) for seconds.
    if guest && at.is_some_and(|at| at < count) {
        return Err(ModelError::Forbidden(format!(
            "a guest adds a field after the others: leave out insertAtIndex (or give {count})"
        )));
    }
    let at = at.unwrap_or(count);
    if at > count {
        return Err(ModelError::Invalid(vec![(
            "insertAtIndex".into(),
            format!(
                "insertAtIndex {at} is past the end: the sheet {} has {count} fields (0 puts the new one first, {count} last)",
                ctx.sheet.name
            ),
        )]));
    }
    let Some((slug, key)) = field.field_type.reference_target() else {
        return Ok((at, None));
    };
    match reference_target(conn, ctx, slug, key, &field.key)? {
        Some(target) => Ok((at, Some(target))),
        // The sheet refers to itself: the new field is its own target.
        None => Err(ModelError::Invalid(vec![(
            "$.config.key".into(),
            "a reference field cannot point at itself".into(),
        )])),
    }
}

/// Where a new reference points: the target sheet and field index. `None` when it names
/// the new field itself. A target the workbook lacks: 422 naming the config key.
fn reference_target(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    slug: &str,
    key: &str,
    new_key: &str,
) -> ModelResult<Option<(SheetId, usize)>> {
    let siblings = sheet::list_in_workbook(conn, &ctx.sheet.workbook_id)?;
    let Some(target) = siblings.iter().find(|s| s.slug == slug) else {
        return Err(ModelError::Invalid(vec![(
            "$.config.ref".into(),
            format!("reference to sheet `{slug}`, which is not in this workbook"),
        )]));
    };
    let target_config = target.parsed_config()?;
    match target_config.field_index(key) {
        Some(index) if blueprint::is_list(&target_config.fields[index].field_type) => {
            Err(ModelError::Invalid(vec![(
                "$.config.key".into(),
                format!(
                    "`{key}` of sheet `{slug}` is a {}; a reference points at a field of one value",
                    target_config.fields[index].field_type.name()
                ),
            )]))
        }
        Some(index) => Ok(Some((target.id.clone(), index))),
        None if target.id == ctx.sheet.id && key == new_key => Ok(None),
        None => Err(ModelError::Invalid(vec![(
            "$.config.key".into(),
            format!("sheet `{slug}` has no field `{key}`"),
        )])),
    }
}

/// Removes a field: the config and every record of the sheet in one transaction, then
/// queues the re-check. The last field, or one a reference points at: 422, nothing changed.
pub fn remove_field(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    id: &SheetId,
    key: &str,
    actor: &str,
) -> ModelResult<Job> {
    // A key the sheet lacks is told at once, without waiting for the workbook's locks.
    let seen = sheet::load_context(conn, env, id)?;
    seen.config
        .field_index(key)
        .ok_or(ModelError::NotFound("field"))?;
    crate::db::write_tx(conn, |conn| {
        let ctx = locked_context(conn, env, id)?;
        let r = ctx.config.field_index(key).ok_or(ModelError::NotFound("field"))?;
        if ctx.config.fields.len() == 1 {
            return Err(ModelError::Invalid(vec![(
                "fieldKey".into(),
                format!(
                    "`{key}` is the only field of {}; a sheet keeps at least one field",
                    ctx.sheet.name
                ),
            )]));
        }
        if let Some(u) = ctx.config.together.iter().find(|u| u.fields.contains(&r)) {
            return Err(ModelError::Invalid(vec![(
                "fieldKey".into(),
                format!(
                    "`{key}` is part of the sheet's unique constraint {}; a field a sheet constraint names stays",
                    u.name
                ),
            )]));
        }
        let siblings = sheet::list_in_workbook(conn, &ctx.sheet.workbook_id)?;
        for rf in &ctx.referrers {
            if rf.target_field != r || (rf.sheet_id == ctx.sheet.id && rf.field_index == r) {
                continue;
            }
            let Some(s) = siblings.iter().find(|s| s.id == rf.sheet_id) else {
                continue;
            };
            let referring = s.parsed_config()?.fields[rf.field_index].key.clone();
            return Err(ModelError::Invalid(vec![(
                "fieldKey".into(),
                format!(
                    "field `{referring}` of sheet {} refers to `{key}`; remove or change that reference first",
                    s.name
                ),
            )]));
        }
        let mut config = ctx.config.json.clone();
        if let Some(fields) = config["fields"].as_array_mut() {
            // As the parsed config reads a key (trimmed), so the removed field is the one
            // whose values go.
            fields.retain(|f| f["key"].as_str().map(str::trim) != Some(key));
        }
        let after = blueprint::parse_stored_sheet(&config)?;
        store_config(conn, &ctx.sheet, &config, None)?;
        record_fields::drop_field(conn, &ctx, &after, r)?;
        crate::model::record::sort_index::drop_past(conn, ctx.sheet.seq, after.fields.len())?;
        bulk_history::forget_field(conn, &ctx.sheet.id, key)?;
        crate::model::record::history::retire_field(conn, &ctx.sheet.id, key)?;
        emit_updated(conn, &ctx, actor, json!({"fieldRemoved": key}))?;
        queue_recheck(conn, &ctx, actor)
    })
}

/// `sheets.updateSheet`: what may change.
#[derive(Debug, Default)]
pub struct SheetUpdate {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub metadata: Option<Value>,
}

/// Renames a sheet, changes its slug (unique in the workbook: 409; not while a reference
/// names the sheet by it: 422) or its metadata; emits `sheet:updated`.
pub fn update_sheet(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    id: &SheetId,
    change: SheetUpdate,
    actor: &str,
) -> ModelResult<Sheet> {
    crate::db::write_tx(conn, |conn| {
        let ctx = locked_context(conn, env, id)?;
        let mut config = ctx.config.json.clone();
        if let Some(name) = &change.name {
            let name = name.trim();
            if name.is_empty() {
                return Err(ModelError::Invalid(vec![(
                    "name".into(),
                    "a sheet's name cannot be empty".into(),
                )]));
            }
            // It shows in tabs, lists and mail: one line, nothing that turns text around.
            if let Some(message) = crate::names::problem("a sheet name", name, crate::names::MAX_CHARS) {
                return Err(ModelError::Invalid(vec![("name".into(), message)]));
            }
            config["name"] = json!(name);
        }
        let mut slug = None;
        if let Some(new) = change.slug.as_deref().map(str::trim) {
            if new.is_empty() {
                return Err(ModelError::Invalid(vec![(
                    "slug".into(),
                    "a sheet's slug cannot be empty".into(),
                )]));
            }
            if new != ctx.sheet.slug {
                // The form first: a reference naming the sheet is beside the point of a
                // slug that could never be one.
                if let Some(message) = blueprint::slug_problem(new) {
                    return Err(ModelError::Invalid(vec![("slug".into(), message)]));
                }
                check_new_slug(conn, &ctx, new)?;
                config["slug"] = json!(new);
                slug = Some(new.to_string());
            }
        }
        if let Some(metadata) = &change.metadata {
            // Checked by the caller: an object (`null` was made `{}`).
            config["metadata"] = metadata.clone();
        }
        blueprint::parse_stored_sheet(&config)?;
        store_config(conn, &ctx.sheet, &config, slug.as_deref())?;
        emit_updated(
            conn,
            &ctx,
            actor,
            json!({"name": config["name"], "slug": config["slug"]}),
        )?;
        Ok(sheet::get(conn, id)?)
    })
}

/// A new slug must be free in the workbook, and no reference may name the old one.
fn check_new_slug(conn: &mut AnyConnection, ctx: &SheetContext, new: &str) -> ModelResult<()> {
    let siblings = sheet::list_in_workbook(conn, &ctx.sheet.workbook_id)?;
    if let Some(other) = siblings.iter().find(|s| s.slug == new && s.id != ctx.sheet.id) {
        return Err(ModelError::Conflict(format!(
            "the sheet {} of this workbook already has the slug `{new}`; pick another",
            other.name
        )));
    }
    if let Some(rf) = ctx.referrers.first() {
        let name = siblings
            .iter()
            .find(|s| s.id == rf.sheet_id)
            .map_or_else(|| rf.sheet_id.to_string(), |s| s.name.clone());
        return Err(ModelError::Invalid(vec![(
            "slug".into(),
            format!(
                "a reference field of sheet {name} names this sheet by its slug `{}`; change that reference first",
                ctx.sheet.slug
            ),
        )]));
    }
    Ok(())
}

fn store_config(conn: &mut AnyConnection, s: &Sheet, config: &Value, slug: Option<&str>) -> QueryResult<()> {
    let name = config["name"].as_str().unwrap_or(&s.name);
    diesel::update(sheets::table.find(&s.id))
        .set((
            sheets::config.eq(config.to_string()),
            sheets::name.eq(name),
            sheets::slug.eq(slug.unwrap_or(&s.slug)),
            sheets::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

fn emit_updated(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    payload: Value,
) -> QueryResult<()> {
    let ectx = Context::new(&ctx.environment_id, actor)
        .space(&ctx.space_id)
        .workbook(&ctx.sheet.workbook_id)
        .sheet(&ctx.sheet.id)
        .sheet_slug(&ctx.sheet.slug);
    event::emit(conn, &ectx, "sheet:updated", payload).map(|_| ())
}

/// A re-check of the same sheet queued after `job` and not over yet, if any. It checks every
/// record under the fields as they are now (fields change only under the workbook's locks,
/// each change queueing its own), so `job` can stop where it is instead of checking records
/// under fields that are no longer the sheet's, a second time.
pub fn later_recheck(conn: &mut AnyConnection, job: &Job) -> QueryResult<Option<String>> {
    use crate::db::schema::jobs;
    jobs::table
        .filter(jobs::source.eq(&job.source))
        .filter(jobs::created_at.gt(job.created_at))
        .filter(jobs::job_type.eq("sheet"))
        .filter(jobs::operation.eq(RECHECK))
        .filter(jobs::environment_id.eq(&job.environment_id))
        .filter(jobs::status.eq_any([job::status::READY, job::status::EXECUTING]))
        .order(jobs::created_at.desc())
        .select(jobs::id)
        .first(conn)
        .optional()
}

/// `sheets.validate` of a sheet too big to re-check within a request: the re-check a field
/// change queues, as its own transaction. A re-check of the sheet queued or running is the
/// answer instead of another (a client asking again and again queues one): what it has not
/// reached yet it checks as it is then, and what it passed was checked by its own write.
pub fn queue_validation(conn: &mut AnyConnection, ctx: &SheetContext, actor: &str) -> ModelResult<Job> {
    use crate::db::schema::jobs;
    crate::db::write_tx(conn, |conn| {
        let waiting: Option<String> = jobs::table
            .filter(jobs::source.eq(ctx.sheet.id.as_str()))
            .filter(jobs::job_type.eq("sheet"))
            .filter(jobs::operation.eq(RECHECK))
            .filter(jobs::environment_id.eq(&ctx.environment_id))
            .filter(jobs::status.eq_any([job::status::READY, job::status::EXECUTING]))
            .select(jobs::id)
            .first(conn)
            .optional()?;
        match waiting.and_then(|id| crate::ids::JobId::parse(&id)) {
            Some(id) => Ok(job::get(conn, &id)?),
            None => queue_recheck(conn, ctx, actor),
        }
    })
}

/// Queues `sheet:recheck-records` for the sheet, in the caller's transaction: once the
/// field change is committed, so is the job that finishes it, and a restart runs it.
fn queue_recheck(conn: &mut AnyConnection, ctx: &SheetContext, actor: &str) -> ModelResult<Job> {
    let mut input = JobInput::new(&ctx.environment_id, Some(&ctx.space_id));
    input.job_type = "sheet".into();
    input.operation = RECHECK.into();
    input.source = ctx.sheet.id.to_string();
    input.status = job::status::READY.into();
    input.trigger = "immediate".into();
    input.mode = "background".into();
    job::create(conn, input, actor)
}
