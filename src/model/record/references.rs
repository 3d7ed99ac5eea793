//! Reference checks: a reference cell is valid when the target sheet holds its value in
//! the target field. Checked when a record is written, and again for the records that
//! point at a value when that value appears in or leaves the target sheet (a target
//! record inserted, changed or deleted, or the target sheet deleted).

use super::error_keys;
use super::keys::{self, norm_for};
use super::write::{load, write_checks};
use crate::db::AnyConnection;
use crate::model::event::{self, Context};
use crate::model::sheet::{self, CountDelta, SheetContext};
use crate::model::ModelResult;
use crate::validate::{reference_gone_message, reference_message, Checked, Message, MessageType, Source};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Messages that depend on other records, not on how the cell cast.
const OTHER_RECORDS: [Source; 2] = [Source::Unlinked, Source::Unique];

/// Marks references whose target key does not exist (only on cells that cast cleanly).
pub(super) fn check(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    checked: &mut [Checked],
) -> QueryResult<()> {
    for i in 0..ctx.refs.len() {
        check_field(conn, ctx, i, checked)?;
    }
    Ok(())
}

fn check_field(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    i: usize,
    checked: &mut [Checked],
) -> QueryResult<()> {
    let Some(target) = &ctx.refs[i] else {
        return Ok(());
    };
    let field = &ctx.config.fields[i];
    // The keys a cell points at: one, or one per record a reference-list names.
    let norms = |rec: &Checked| -> Vec<String> {
        let clean = !rec.messages.get(&i).is_some_and(|ms| {
            ms.iter()
                .any(|m| m.kind == MessageType::Error && !OTHER_RECORDS.contains(&m.source))
        });
        match clean {
            true => keys::norms_of_cell(field, &rec.vals[i], target.case_sensitive, false),
            false => Vec::new(),
        }
    };
    let Some(target_sheet) = &target.sheet_id else {
        for rec in checked.iter_mut() {
            let message = (!norms(rec).is_empty())
                .then(|| reference_gone_message(field, &rec.vals[i], &target.sheet_name));
            rec.set_constraint(
                i,
                Source::Unlinked,
                message.map(|m| Message::error(Source::Unlinked, m)),
            );
        }
        return Ok(());
    };
    let wanted: Vec<String> = checked
        .iter()
        .flat_map(norms)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let found = if wanted.is_empty() {
        HashMap::new()
    } else {
        keys::holders(conn, target_sheet, target.field_index as i32, &wanted)?
    };
    for rec in checked.iter_mut() {
        let pointed = norms(rec);
        let missing: Vec<Value> = match &rec.vals[i] {
            _ if pointed.is_empty() => Vec::new(),
            // The items of a reference-list that match nothing, as written.
            Value::Array(items) => items
                .iter()
                .filter(|item| {
                    norm_for(item, target.case_sensitive, false).is_some_and(|n| !found.contains_key(&n))
                })
                .cloned()
                .collect(),
            one => match found.contains_key(&pointed[0]) {
                true => Vec::new(),
                false => vec![one.clone()],
            },
        };
        let message = match missing.as_slice() {
            [] => None,
            [one] => Some(reference_message(field, one, &target.sheet_name)),
            many => Some(reference_message(
                field,
                &Value::Array(many.to_vec()),
                &target.sheet_name,
            )),
        };
        rec.set_constraint(
            i,
            Source::Unlinked,
            message.map(|m| Message::error(Source::Unlinked, m)),
        );
    }
    Ok(())
}

/// Which values of the sheet's target fields a write may have added or removed, by field.
pub(super) type Touched = HashMap<usize, HashSet<String>>;

/// Re-checks the records of referring sheets that point at `touched` values (`None`: at
/// any value, after the target sheet is gone). Their counts change with them and each
/// changed sheet gets a `records:updated` event. Returns the sheets that changed.
pub fn recheck_referrers(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    touched: Option<&Touched>,
    actor: &str,
) -> ModelResult<Vec<crate::ids::SheetId>> {
    let mut changed_sheets = Vec::new();
    for r in &ctx.referrers {
        let norms: Option<Vec<String>> = match touched {
            Some(t) => match t.get(&r.target_field) {
                Some(n) if !n.is_empty() => Some(n.iter().cloned().collect()),
                _ => continue,
            },
            None => None,
        };
        // Keys kept under another case rule cannot be looked up by the target's keys.
        let norms = norms.filter(|_| r.same_rule);
        let mut ids = match &norms {
            Some(n) => keys::holders(conn, &r.sheet_id, r.field_index as i32, n)?
                .into_values()
                .flatten()
                .collect::<Vec<_>>(),
            None => keys::records_of_field(conn, &r.sheet_id, r.field_index)?,
        };
        // Each record once: a reference-list naming two values the write touched holds
        // both keys, and was re-checked (and counted) twice (probe 61d D1).
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let rctx = sheet::load_context(conn, &ctx.environment_id, &r.sheet_id)?;
        if recheck_records(conn, &rctx, r.field_index, &ids, actor)? > 0 {
            changed_sheets.push(r.sheet_id.clone());
        }
    }
    Ok(changed_sheets)
}

/// Re-checks one reference field of some records; writes those whose status changed.
fn recheck_records(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    field_index: usize,
    ids: &[i64],
    actor: &str,
) -> ModelResult<usize> {
    let rows = load(conn, ctx.sheet.seq, ids)?;
    let mut checked: Vec<Checked> = rows.iter().map(|r| r.checked(&ctx.config)).collect();
    let before = checked.clone();
    check_field(conn, ctx, field_index, &mut checked)?;
    let mut delta = CountDelta::default();
    let mut writes = Vec::new();
    for ((row, old), new) in rows.iter().zip(&before).zip(&checked) {
        if old == new {
            continue;
        }
        delta.add(-1, old.valid(), error_keys(&ctx.config, old));
        delta.add(1, new.valid(), error_keys(&ctx.config, new));
        writes.push((row.id, new));
    }
    write_checks(conn, ctx.sheet.seq, &writes, true)?;
    let changed = writes.len();
    if changed > 0 {
        sheet::add_counts(conn, &ctx.sheet.id, &delta)?;
        let ectx = Context::new(&ctx.environment_id, actor)
            .space(&ctx.space_id)
            .workbook(&ctx.sheet.workbook_id)
            .sheet(&ctx.sheet.id)
            .sheet_slug(&ctx.sheet.slug);
        event::emit(conn, &ectx, "records:updated", json!({"count": changed}))?;
    }
    Ok(changed)
}

/// The norms of the target fields of `ctx` (fields other sheets point at) in some records.
pub(super) fn target_norms(ctx: &SheetContext, checked: &[Checked], into: &mut Touched) {
    for r in &ctx.referrers {
        let Some(rule) = ctx.keyed[r.target_field] else {
            continue;
        };
        let set = into.entry(r.target_field).or_default();
        set.extend(
            checked
                .iter()
                .filter_map(|c| norm_for(&c.vals[r.target_field], rule, false)),
        );
    }
}
