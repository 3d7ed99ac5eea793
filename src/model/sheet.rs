//! Sheets: a config of typed fields, and counts kept current with every write.

use super::event::{self, Context};
use super::{now, ModelError, ModelResult};
use crate::blueprint::{self, SheetConfig};
use crate::db::schema::{sheets, workbooks};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SheetId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sheets)]
pub struct Sheet {
    pub id: SheetId,
    /// The compact number records refer to the sheet by.
    pub seq: i64,
    pub workbook_id: WorkbookId,
    pub name: String,
    pub slug: String,
    pub config: String,
    pub position: i32,
    pub total_count: i64,
    pub error_count: i64,
    pub errors_by_field: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Locked sheets take no changes from people or guests (listener code locks one while
    /// it works on it).
    pub locked_at: Option<NaiveDateTime>,
    pub locked_by: Option<String>,
    /// SQLite: whether the records keep their sort keys in columns (`record::sort_keys`).
    pub sort_keys: i32,
}

impl Sheet {
    /// Refuses a change by a person or guest while the sheet is locked.
    pub fn check_unlocked(&self) -> ModelResult<()> {
        match &self.locked_at {
            Some(_) => Err(ModelError::Conflict(format!(
                "the sheet {} is locked while it is being worked on; try again once it is unlocked",
                self.name
            ))),
            None => Ok(()),
        }
    }

    pub fn parsed_config(&self) -> ModelResult<SheetConfig> {
        let json: serde_json::Value = serde_json::from_str(&self.config)
            .map_err(|e| ModelError::Conflict(format!("stored sheet config is unreadable: {e}")))?;
        Ok(blueprint::parse_stored_sheet(&json)?)
    }

    pub fn counts(&self) -> Counts {
        Counts {
            total: self.total_count,
            valid: self.total_count - self.error_count,
            error: self.error_count,
            errors_by_field: serde_json::from_str(&self.errors_by_field).unwrap_or_default(),
        }
    }
}

/// Flatfile's `RecordCounts`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub total: i64,
    pub valid: i64,
    pub error: i64,
    pub errors_by_field: BTreeMap<String, i64>,
}

#[derive(Insertable)]
#[diesel(table_name = sheets)]
struct NewSheet<'a> {
    id: SheetId,
    /// None on PostgreSQL, where a sequence numbers sheets.
    seq: Option<i64>,
    workbook_id: &'a WorkbookId,
    name: &'a str,
    slug: &'a str,
    config: String,
    position: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

pub fn create(
    conn: &mut AnyConnection,
    workbook_id: &WorkbookId,
    config: &SheetConfig,
    position: i32,
) -> QueryResult<SheetId> {
    let t = now();
    let id = SheetId::generate();
    // SQLite has no sequence for a column that is not the key; its single writer makes
    // max + 1 safe inside the transaction.
    let seq = match crate::db::backend_of(conn) {
        crate::db::Backend::Sqlite => {
            let max: Option<i64> = sheets::table.select(diesel::dsl::max(sheets::seq)).first(conn)?;
            Some(max.unwrap_or(0) + 1)
        }
        crate::db::Backend::Postgres => None,
    };
    diesel::insert_into(sheets::table)
        .values(NewSheet {
            id: id.clone(),
            seq,
            workbook_id,
            name: &config.name,
            slug: &config.slug,
            config: config.json.to_string(),
            position,
            created_at: t,
            updated_at: t,
        })
        .execute(conn)?;
    Ok(id)
}

/// A sheet with the workbook that scopes it.
pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SheetId,
) -> QueryResult<Option<(Sheet, SpaceId)>> {
    sheets::table
        .inner_join(workbooks::table)
        .filter(workbooks::environment_id.eq(environment_id))
        .filter(sheets::id.eq(id))
        .select((Sheet::as_select(), workbooks::space_id))
        .first(conn)
        .optional()
}

/// A sheet by id, for callers that already checked its environment.
pub fn get(conn: &mut AnyConnection, id: &SheetId) -> QueryResult<Sheet> {
    sheets::table.find(id).select(Sheet::as_select()).first(conn)
}

pub fn list_in_workbook(conn: &mut AnyConnection, workbook_id: &WorkbookId) -> QueryResult<Vec<Sheet>> {
    sheets::table
        .filter(sheets::workbook_id.eq(workbook_id))
        .order(sheets::position.asc())
        .select(Sheet::as_select())
        .load(conn)
}

pub use super::sheet_delete::delete;

/// Applies a change in counts in the same transaction as the write that caused it.
pub fn add_counts(conn: &mut AnyConnection, id: &SheetId, delta: &CountDelta) -> QueryResult<()> {
    if delta.is_zero() {
        return Ok(());
    }
    let current: String = sheets::table
        .find(id)
        .select(sheets::errors_by_field)
        .first(conn)?;
    let mut by_field: BTreeMap<String, i64> = serde_json::from_str(&current).unwrap_or_default();
    for (key, d) in &delta.errors_by_field {
        let entry = by_field.entry(key.clone()).or_insert(0);
        *entry += d;
        if *entry <= 0 {
            by_field.remove(key);
        }
    }
    diesel::update(sheets::table.find(id))
        .set((
            sheets::total_count.eq(sheets::total_count + delta.total),
            sheets::error_count.eq(sheets::error_count + delta.error),
            sheets::errors_by_field.eq(serde_json::to_string(&by_field).unwrap_or_else(|_| "{}".into())),
            sheets::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A change in a sheet's counts.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CountDelta {
    pub total: i64,
    pub error: i64,
    pub errors_by_field: BTreeMap<String, i64>,
}

impl CountDelta {
    pub fn is_zero(&self) -> bool {
        self.total == 0 && self.error == 0 && self.errors_by_field.values().all(|v| *v == 0)
    }

    /// Counts one record in (`sign` 1) or out (`sign` -1), given its validity and error fields.
    pub fn add(&mut self, sign: i64, valid: bool, error_fields: impl IntoIterator<Item = String>) {
        self.total += sign;
        if !valid {
            self.error += sign;
        }
        for key in error_fields {
            *self.errors_by_field.entry(key).or_insert(0) += sign;
        }
    }
}

/// What a record write needs to know about a sheet: its fields, which fields keep
/// normalised keys (unique ones, reference targets and reference sources), where its
/// references point, and which sheets point at it.
#[derive(Debug, Clone)]
pub struct SheetContext {
    pub sheet: Sheet,
    pub environment_id: EnvironmentId,
    pub space_id: SpaceId,
    pub config: SheetConfig,
    /// For each field: the case rule of its kept keys, when it keeps them.
    pub keyed: Vec<Option<bool>>,
    /// For each reference field: the target sheet, field index and case rule.
    pub refs: Vec<Option<RefTarget>>,
    /// Fields of sheets (this one included) whose references point at this sheet.
    pub referrers: Vec<Referrer>,
    /// A fingerprint of each sheet of the workbook (its slug and fields) as this context
    /// was built from them (see [`check_fresh`]).
    pub stamp: Vec<(SheetId, u64)>,
}

#[derive(Debug, Clone)]
pub struct RefTarget {
    /// None when the target sheet or field no longer exists: no value can match.
    pub sheet_id: Option<SheetId>,
    pub sheet_name: String,
    pub field_index: usize,
    pub case_sensitive: bool,
}

/// A reference field of some sheet that points at one of this sheet's fields.
#[derive(Debug, Clone)]
pub struct Referrer {
    pub sheet_id: SheetId,
    pub seq: i64,
    /// The reference field, in the referring sheet.
    pub field_index: usize,
    /// The field it points at, in this sheet.
    pub target_field: usize,
    /// Whether the referring field's kept keys follow the target's case rule, so its
    /// records can be found by the target's keys.
    pub same_rule: bool,
}

impl SheetContext {
    /// The sheets a write to this one may change: itself and the sheets that refer to it.
    pub fn write_set(&self) -> Vec<i64> {
        let mut seqs: Vec<i64> = self.referrers.iter().map(|r| r.seq).collect();
        seqs.push(self.sheet.seq);
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    }
}

/// Whether the sheet still exists (a job running on it checks after a deletion may have
/// cascaded under it).
/// A sheet's stored config (`None`: the sheet is gone).
pub fn config_of(conn: &mut AnyConnection, seq: i64) -> QueryResult<Option<String>> {
    sheets::table
        .filter(sheets::seq.eq(seq))
        .select(sheets::config)
        .first(conn)
        .optional()
}

/// How many fields the sheet has now (0 once it is gone).
pub fn field_count(conn: &mut AnyConnection, seq: i64) -> QueryResult<usize> {
    let config: serde_json::Value =
        serde_json::from_str(&config_of(conn, seq)?.unwrap_or_default()).unwrap_or_default();
    Ok(config["fields"].as_array().map_or(0, Vec::len))
}

pub fn exists(conn: &mut AnyConnection, seq: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(sheets::table.filter(sheets::seq.eq(seq)))).get_result(conn)
}

/// Takes the write locks of some sheets for the rest of the transaction, so that unique
/// checks, reference checks and kept counts see every earlier write and none in between.
/// PostgreSQL: row locks in one order (no deadlocks). SQLite: the write transaction
/// already holds the database's single write lock.
///
/// Their spaces come first (see [`super::space::hold`]), and the spaces' activity time is
/// marked on the way (at most once a second, so writers of one space rarely wait on it).
pub fn lock_for_write(conn: &mut AnyConnection, seqs: &[i64]) -> QueryResult<()> {
    let spaces: Vec<SpaceId> = sheets::table
        .inner_join(workbooks::table)
        .filter(sheets::seq.eq_any(seqs))
        .select(workbooks::space_id)
        .distinct()
        .load(conn)?;
    super::space::hold(conn, &spaces)?;
    super::space::touch_some(conn, &spaces)?;
    if let AnyConnection::Postgres(pg) = conn {
        sheets::table
            .filter(sheets::seq.eq_any(seqs))
            .order(sheets::seq.asc())
            .select(sheets::seq)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}

/// Takes the write locks of the sheets a write to `ctx`'s sheet may change (see
/// [`lock_for_write`]), then makes sure their fields are still the ones `ctx` was built
/// from: a write checked against fields that changed meanwhile (a field added or removed)
/// would store values in the wrong places, so it is refused instead.
/// Refuses a person's or guest's write once the sheet is locked, read under the sheet's
/// write lock in the write's own transaction: a lock taken while the write waited for its
/// turn stops it (probe 49c 1: a grid save landed after the lock had answered).
pub fn refuse_locked_now(conn: &mut AnyConnection, ctx: &SheetContext) -> ModelResult<()> {
    lock_for_write(conn, &ctx.write_set())?;
    get(conn, &ctx.sheet.id)?.check_unlocked()
}

pub fn lock_context(conn: &mut AnyConnection, ctx: &SheetContext) -> ModelResult<()> {
    lock_for_write(conn, &ctx.write_set())?;
    check_fresh(conn, ctx)
}

/// For work done batch by batch (bulk changes, deletes, undo, re-checks): takes the write
/// locks of every sheet of `ctx`'s workbook and returns the sheet's context as it is now, so
/// a field added or removed between two batches changes what the next batch works with
/// instead of stopping it. Every sheet, in one ordered statement: a reference added
/// meanwhile would grow the context's own set after some of it was held, out of order with
/// a field change's locks (a deadlock on PostgreSQL); a sheet created later has a higher
/// `seq`, so locking it after the others keeps the order.
pub fn relock_fresh(conn: &mut AnyConnection, ctx: &SheetContext) -> ModelResult<SheetContext> {
    lock_workbook(conn, &ctx.sheet.workbook_id)?;
    let fresh = load_context(conn, &ctx.environment_id, &ctx.sheet.id)?;
    // A sheet created since the list (a referrer now) comes after the others.
    lock_for_write(conn, &fresh.write_set())?;
    Ok(fresh)
}

/// Takes the write locks of every sheet of a workbook (see [`lock_for_write`]).
pub fn lock_workbook(conn: &mut AnyConnection, workbook: &WorkbookId) -> QueryResult<()> {
    let seqs: Vec<i64> = list_in_workbook(conn, workbook)?.iter().map(|s| s.seq).collect();
    lock_for_write(conn, &seqs)
}

/// Stores a sheet's config JSON as it is (its name and slug unchanged); the caller holds
/// the workbook's lock ([`lock_workbook`]).
pub fn store_config_json(
    conn: &mut AnyConnection,
    id: &SheetId,
    config: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(sheets::table.find(id))
        .set((
            sheets::config.eq(config.to_string()),
            sheets::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Refuses (409) a context when a sheet of its workbook was added, or changed its slug or
/// fields, since the context was loaded (another sheet deleted meanwhile changes nothing a
/// write relies on; the sheet itself deleted is a 404). Field changes lock the sheets they touch, so after [`lock_for_write`] this
/// sees them.
pub fn check_fresh(conn: &mut AnyConnection, ctx: &SheetContext) -> ModelResult<()> {
    let now: Vec<(SheetId, String, String, String)> = sheets::table
        .filter(sheets::workbook_id.eq(&ctx.sheet.workbook_id))
        .select((sheets::id, sheets::name, sheets::slug, sheets::config))
        .load(conn)?;
    // The sheet itself deleted meanwhile: nothing may be written into it (on PostgreSQL no
    // foreign key would stop the records).
    if !now.iter().any(|(id, ..)| *id == ctx.sheet.id) {
        return Err(ModelError::NotFound("sheet"));
    }
    let changed = now.iter().find(|(id, _, slug, config)| {
        !ctx.stamp
            .iter()
            .any(|(seen, stamp)| seen == id && *stamp == stamp_of(slug, config))
    });
    if let Some((_, name, _, _)) = changed {
        return Err(ModelError::Stale(format!(
            "the fields of {name} changed while this change was being made"
        )));
    }
    Ok(())
}

/// A sheet's config as stored now (its fields, for a read that must find them unchanged).
pub fn stored_config(conn: &mut AnyConnection, id: &SheetId) -> QueryResult<String> {
    sheets::table
        .filter(sheets::id.eq(id))
        .select(sheets::config)
        .first(conn)
}

/// The fingerprint of a sheet's slug and fields (its name and metadata left out: renaming
/// a sheet changes nothing a record write depends on).
fn stamp_of(slug: &str, config: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let fields = serde_json::from_str::<serde_json::Value>(config)
        .map(|v| v["fields"].to_string())
        .unwrap_or_default();
    (slug, fields).hash(&mut h);
    h.finish()
}

/// Case rule for a field's kept keys: its unique config; exact match when it is only a
/// reference target; the target's rule when it is a reference.
fn key_rule(
    config: &SheetConfig,
    index: usize,
    referenced: bool,
    reference_rule: Option<bool>,
) -> Option<bool> {
    let field = &config.fields[index];
    match field.unique {
        Some(u) => Some(u.case_sensitive),
        None if referenced => Some(true),
        None => reference_rule,
    }
}

pub fn load_context(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SheetId,
) -> ModelResult<SheetContext> {
    let (found, space_id) = find(conn, environment_id, id)?.ok_or(ModelError::NotFound("sheet"))?;
    let siblings = list_in_workbook(conn, &found.workbook_id)?;
    // The sheet as its workbook's list read it, so its fields and the fingerprints of all
    // the workbook's fields are of one moment: a field change committed between the two
    // reads made a context whose fields its fingerprint did not vouch for (a read or a
    // write then used fields the records did not have).
    let sheet = siblings
        .iter()
        .find(|s| s.id == found.id)
        .cloned()
        .ok_or(ModelError::NotFound("sheet"))?;
    context_from(sheet, environment_id.clone(), space_id, &siblings)
}

/// Builds a sheet's context from its workbook's sheets, already loaded.
pub fn context_from(
    sheet: Sheet,
    environment_id: EnvironmentId,
    space_id: SpaceId,
    siblings: &[Sheet],
) -> ModelResult<SheetContext> {
    let configs: Vec<(&Sheet, SheetConfig)> = siblings
        .iter()
        .map(|s| s.parsed_config().map(|c| (s, c)))
        .collect::<ModelResult<_>>()?;
    let config = sheet.parsed_config()?;
    let is_referenced = |slug: &str, key: &str| {
        configs.iter().any(|(_, c)| {
            c.fields
                .iter()
                .any(|f| f.field_type.reference_target() == Some((slug, key)))
        })
    };
    // The case rule of a target field's kept keys.
    let target_rule =
        |c: &SheetConfig, field_index: usize| key_rule(c, field_index, true, None).unwrap_or(true);
    let refs: Vec<Option<RefTarget>> = config
        .fields
        .iter()
        .map(|f| match f.field_type.reference_target() {
            Some((slug, key)) => {
                let found = configs
                    .iter()
                    .find(|(_, c)| c.slug == slug)
                    .and_then(|(s, c)| Some((s, c, c.field_index(key)?)));
                Some(match found {
                    Some((s, c, field_index)) => RefTarget {
                        sheet_id: Some(s.id.clone()),
                        sheet_name: s.name.clone(),
                        field_index,
                        case_sensitive: target_rule(c, field_index),
                    },
                    None => RefTarget {
                        sheet_id: None,
                        sheet_name: slug.to_string(),
                        field_index: 0,
                        case_sensitive: true,
                    },
                })
            }
            _ => None,
        })
        .collect();
    let keyed: Vec<Option<bool>> = (0..config.fields.len())
        .map(|i| {
            let referenced = is_referenced(&config.slug, &config.fields[i].key);
            key_rule(&config, i, referenced, refs[i].as_ref().map(|r| r.case_sensitive))
        })
        .collect();
    let mut referrers = Vec::new();
    for (s, c) in &configs {
        for (field_index, f) in c.fields.iter().enumerate() {
            let Some((slug, key)) = f.field_type.reference_target() else {
                continue;
            };
            let Some(target_field) = (slug == config.slug).then(|| config.field_index(key)).flatten() else {
                continue;
            };
            let rule = target_rule(&config, target_field);
            let own_rule = key_rule(c, field_index, false, Some(rule));
            referrers.push(Referrer {
                sheet_id: s.id.clone(),
                seq: s.seq,
                field_index,
                target_field,
                same_rule: own_rule == Some(rule),
            });
        }
    }
    Ok(SheetContext {
        stamp: siblings
            .iter()
            .map(|s| (s.id.clone(), stamp_of(&s.slug, &s.config)))
            .collect(),
        sheet,
        environment_id,
        space_id,
        config,
        keyed,
        refs,
        referrers,
    })
}

/// Locks a sheet (`by`: who) or unlocks it (`None`); emits `sheet:updated` when it changed.
pub fn set_lock(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    by: Option<&str>,
    actor: &str,
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        // After the writes under way (PostgreSQL), so its time is when it took hold.
        lock_for_write(conn, &[ctx.sheet.seq])?;
        let target = sheets::table.find(&ctx.sheet.id);
        let n = match by {
            Some(who) => diesel::update(target.filter(sheets::locked_at.is_null()))
                .set((sheets::locked_at.eq(Some(now())), sheets::locked_by.eq(Some(who))))
                .execute(conn)?,
            None => diesel::update(target.filter(sheets::locked_at.is_not_null()))
                .set((
                    sheets::locked_at.eq(None::<NaiveDateTime>),
                    sheets::locked_by.eq(None::<String>),
                ))
                .execute(conn)?,
        };
        if n > 0 {
            let ectx = Context::new(&ctx.environment_id, actor)
                .space(&ctx.space_id)
                .workbook(&ctx.sheet.workbook_id)
                .sheet(&ctx.sheet.id)
                .sheet_slug(&ctx.sheet.slug);
            event::emit(
                conn,
                &ectx,
                "sheet:updated",
                serde_json::json!({"locked": by.is_some()}),
            )?;
        }
        Ok(())
    })
}
