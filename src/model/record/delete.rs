//! Deleting records: the counts, the unique keys of the values they leave, and the
//! references to them, in one transaction per call.

use super::keys;
use super::references::{self, Touched};
use super::search_index;
use super::unique;
use super::write::{finish, Written, INSERT_CHUNK};
use crate::db::schema::records;
use crate::db::AnyConnection;
use crate::ids::RecordId;
use crate::model::sheet::{self, CountDelta, SheetContext};
use crate::model::{ModelError, ModelResult};
use crate::validate::Checked;
use diesel::prelude::*;
use std::collections::HashMap;

/// What a delete reads of a record: enough for the counts and the unique values it
/// leaves, not its values (a fifth of a big delete went to reading and decoding them).
#[derive(Queryable)]
struct Gone {
    id: i64,
    valid: bool,
    error_fields: Option<String>,
    messages: Option<String>,
    version: i64,
    config: Option<String>,
}

fn load_gone(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<Vec<Gone>> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(INSERT_CHUNK) {
        rows.extend(
            records::table
                .filter(records::sheet_seq.eq(sheet_seq))
                .filter(records::id.eq_any(chunk))
                .select((
                    records::id,
                    records::valid,
                    records::error_fields,
                    records::messages,
                    records::version,
                    records::config,
                ))
                .load::<Gone>(conn)?,
        );
    }
    Ok(rows)
}

/// Deletes records by id; returns how many there were. One that does not exist: 404,
/// and a person or guest naming one listener code made read-only: 403; nothing deleted.
pub fn delete(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[RecordId],
    actor: &str,
) -> ModelResult<Written<usize>> {
    delete_rows(conn, ctx, ids, actor, Which::AllMustExist).map(|(w, _)| w)
}

/// [`delete_present`] for a person's or guest's selection (a `delete-records` job): records
/// listener code made read-only stay.
pub fn delete_present_unlocked(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[RecordId],
    actor: &str,
) -> ModelResult<Written<usize>> {
    delete_rows(conn, ctx, ids, actor, Which::PresentUnlocked).map(|(w, _)| w)
}

/// Deletes those of the records that still exist (a job deleting a selection that people
/// may be deleting from too).
pub fn delete_present(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[RecordId],
    actor: &str,
) -> ModelResult<Written<usize>> {
    delete_rows(conn, ctx, ids, actor, Which::Present).map(|(w, _)| w)
}

/// Deletes those of the records that are still at the given version (id, version): a
/// record changed since it was read (and sent somewhere as it was) stays. Returns what was
/// deleted and how many records were left for a change.
pub fn delete_unchanged(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    versions: &HashMap<i64, i64>,
    actor: &str,
) -> ModelResult<(Written<usize>, usize)> {
    let ids: Vec<RecordId> = versions.keys().map(|id| RecordId(*id)).collect();
    delete_rows(conn, ctx, &ids, actor, Which::Unchanged(versions))
}

/// Which of the records named a delete takes.
enum Which<'a> {
    /// All, and one missing refuses the whole delete.
    AllMustExist,
    /// Those that exist.
    Present,
    /// Those that exist and (for a person or guest) are not read-only.
    PresentUnlocked,
    /// Those that exist at these versions.
    Unchanged(&'a HashMap<i64, i64>),
}

fn delete_rows(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[RecordId],
    actor: &str,
    which: Which,
) -> ModelResult<(Written<usize>, usize)> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        sheet::lock_context(conn, ctx)?;
        let mut ids: Vec<i64> = ids.iter().map(|r| r.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut rows = load_gone(conn, ctx.sheet.seq, &ids)?;
        let present = rows.len();
        if let Which::Unchanged(versions) = which {
            rows.retain(|r| versions.get(&r.id) == Some(&r.version));
        }
        if super::config::held(actor) {
            let locked = |r: &Gone| super::config::locks_record(r.config.as_deref());
            match which {
                Which::AllMustExist => {
                    if let Some(r) = rows.iter().find(|r| locked(r)) {
                        return Err(ModelError::Forbidden(format!(
                            "record {} is read-only (the sheet's listener locked it): it cannot be deleted",
                            RecordId(r.id)
                        )));
                    }
                }
                Which::PresentUnlocked => rows.retain(|r| !locked(r)),
                _ => {}
            }
        }
        let changed = present - rows.len();
        if rows.len() != ids.len() {
            if matches!(which, Which::AllMustExist) {
                let found: std::collections::HashSet<i64> = rows.iter().map(|r| r.id).collect();
                let missing = ids.iter().find(|id| !found.contains(id)).copied().unwrap_or(0);
                return Err(ModelError::NotFoundNamed(format!(
                    "record {} not found",
                    RecordId(missing)
                )));
            }
            ids = rows.iter().map(|r| r.id).collect();
            ids.sort_unstable();
        }
        if ids.is_empty() {
            let none = Written {
                rows: 0,
                also_changed: Vec::new(),
                commit: None,
            };
            return Ok((none, changed));
        }
        let mut delta = CountDelta::default();
        let has_unique = ctx.config.has_unique();
        let mut olds = HashMap::new();
        for row in rows.iter() {
            let errors = row.error_fields.as_deref().unwrap_or_default().split(',');
            let keys = errors
                .filter_map(|i| i.parse::<usize>().ok())
                .filter_map(|i| ctx.config.fields.get(i).map(|f| f.key.clone()));
            delta.add(-1, row.valid, keys);
            if has_unique {
                let messages = super::decode_sparse(row.messages.as_deref());
                olds.insert(
                    row.id,
                    Checked {
                        messages,
                        ..Default::default()
                    },
                );
            }
        }
        let held = keys::of_records(conn, &ctx.sheet.id, &ids)?;
        // Only a value the deleted records shared can leave another record its last holder.
        let shared = unique::shared(ctx, &held, |id, rule| {
            olds.get(&id).is_some_and(|c| rule.flagged(c))
        });
        let mut old_norms = Touched::new();
        // A sheet constraint's keys (below zero) are no field's a reference matches on.
        for (_, field, norm) in held.into_iter().filter(|(_, field, _)| *field >= 0) {
            old_norms.entry(field as usize).or_default().insert(norm);
        }
        keys::delete_of_records(conn, &ctx.sheet.id, &ids)?;
        for chunk in ids.chunks(INSERT_CHUNK) {
            diesel::delete(
                records::table
                    .filter(records::sheet_seq.eq(ctx.sheet.seq))
                    .filter(records::id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        search_index::unindex_deleted(conn, ctx.sheet.seq, &ids)?;
        unique::settle(conn, ctx, &[], &mut [], &shared, &mut delta)?;
        finish(conn, ctx, actor, "records:deleted", rows.len(), &delta)?;
        let also_changed = references::recheck_referrers(conn, ctx, Some(&old_norms), actor)?;
        let written = Written {
            rows: rows.len(),
            also_changed,
            commit: None,
        };
        Ok((written, changed))
    })
}
