//! A record hook's answer to a commit, written as far as it still speaks for the records:
//! the hook read them as the commit left them, and what others wrote since (a person's
//! correction, a bulk change's batches, an integration's write with hooks off) must not be
//! undone silently by the values the hook sends back unchanged.

use super::write::RecordUpdate;
use crate::db::schema::{commits, record_changes};
use crate::db::AnyConnection;
use crate::ids::CommitId;
use crate::model::commit;
use crate::model::sheet::SheetContext;
use crate::model::ModelResult;
use crate::validate::{cast_cell, display};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// `updates` without what others changed since the commit. Read under the sheet's lock,
/// so no write slips in between.
pub fn fresh_part(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    commit: &CommitId,
    updates: Vec<RecordUpdate>,
) -> ModelResult<Vec<RecordUpdate>> {
    let answered: Option<(NaiveDateTime, String)> = commits::table
        .find(commit)
        .select((commits::created_at, commits::record_ids))
        .first(conn)
        .optional()?;
    let Some((since, its_ids)) = answered else {
        return Ok(updates);
    };
    let updates = without_later_commits(conn, ctx, since, &its_ids, updates)?;
    without_cells_changed_since(conn, ctx, since, updates)
}

/// A hook's answer to a commit, without the records a later commit wrote (a person's
/// correction saved while the hook ran): the hook read them as that commit left them, and
/// would silently undo the correction; the later commit's own answer speaks for them.
/// Later hook answers make no commit, so they do not hold back one another. Read under the
/// sheet's lock, so no write slips in between.
fn without_later_commits(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    since: NaiveDateTime,
    its_ids: &str,
    mut updates: Vec<RecordUpdate>,
) -> ModelResult<Vec<RecordUpdate>> {
    let later: Vec<String> = commits::table
        .filter(commits::sheet_id.eq(&ctx.sheet.id))
        .filter(commits::created_at.gt(since))
        .select(commits::record_ids)
        .load(conn)?;
    if !later.is_empty() {
        // Only the commit's own records: an answer naming others is applied as given.
        let its: HashSet<i64> = commit::expand_ranges(its_ids).into_iter().collect();
        let written: HashSet<i64> = later
            .iter()
            .flat_map(|ids| commit::expand_ranges(ids))
            .filter(|id| its.contains(id))
            .collect();
        updates.retain(|u| !written.contains(&u.id.0));
    }
    Ok(updates)
}

/// A cell changed since the commit (by anyone: writes without a commit too) keeps its
/// value where the hook sends it back as the commit left it, messages and all; a value
/// the hook itself changed is written (a three-way merge per cell, the commit its base).
fn without_cells_changed_since(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    since: NaiveDateTime,
    mut updates: Vec<RecordUpdate>,
) -> ModelResult<Vec<RecordUpdate>> {
    let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
    // The value each cell held at the commit: the "before" of its first change since.
    let mut base: HashMap<(i64, String), String> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let changes: Vec<(i64, String, String)> = record_changes::table
            .filter(record_changes::sheet_id.eq(&ctx.sheet.id))
            .filter(record_changes::record_id.eq_any(chunk))
            .filter(record_changes::created_at.gt(since))
            .order(record_changes::id.asc())
            .select((
                record_changes::record_id,
                record_changes::field,
                record_changes::old_value,
            ))
            .load(conn)?;
        for (record, field, old) in changes {
            base.entry((record, field)).or_insert(old);
        }
    }
    if base.is_empty() {
        return Ok(updates);
    }
    for u in &mut updates {
        let id = u.id.0;
        let unchanged_by_hook: Vec<String> = u
            .values
            .iter()
            .filter(|(field, sent)| {
                base.get(&(id, field.to_string())).is_some_and(|old| {
                    let old = serde_json::from_str(old).unwrap_or(serde_json::Value::Null);
                    same_cell(ctx, field, &old, sent)
                })
            })
            .map(|(field, _)| field.clone())
            .collect();
        for field in unchanged_by_hook {
            u.values.remove(&field);
            u.messages.remove(&field);
        }
    }
    Ok(updates)
}

/// A value as the field reads it (what the grid shows of it).
pub fn as_read(ctx: &SheetContext, key: &str, value: &serde_json::Value) -> serde_json::Value {
    match ctx.config.field_index(key) {
        Some(i) => cast_cell(&ctx.config.fields[i], value).value,
        None => value.clone(),
    }
}

/// Whether two values are one cell's value: compared as the field reads them (the
/// history keeps what was typed, `1,5` or ` padded `; a hook sends back 1.5 or `padded`).
pub fn same_cell(ctx: &SheetContext, key: &str, a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match ctx.config.field_index(key) {
        Some(i) => {
            let field = &ctx.config.fields[i];
            let (a, b) = (cast_cell(field, a).value, cast_cell(field, b).value);
            a == b || display(&a) == display(&b)
        }
        None => display(a) == display(b),
    }
}
