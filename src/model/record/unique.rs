//! Unique checks against the kept keys: the records just written, and every other record
//! whose status their values changed.

use super::error_keys;
use super::keys::{self, norm_for, NewKey};
use super::write::{load, write_checks};
use crate::db::AnyConnection;
use crate::model::sheet::{CountDelta, SheetContext};
use crate::model::ModelResult;
use crate::validate::{unique_message, Checked, Source};
use std::collections::{HashMap, HashSet};

/// The kept keys of some records, for their unique and referenced fields.
pub(super) fn keys_of(ctx: &SheetContext, ids: &[i64], checked: &[Checked]) -> Vec<NewKey> {
    let mut out = Vec::new();
    for (field_index, rule) in ctx.keyed.iter().enumerate() {
        let Some(case_sensitive) = *rule else {
            continue;
        };
        let keep_empty = ctx.config.fields[field_index].unique_keeps_empty();
        for (id, rec) in ids.iter().zip(checked) {
            if let Some(norm) = norm_for(&rec.vals[field_index], case_sensitive, keep_empty) {
                out.push(NewKey {
                    sheet_id: ctx.sheet.id.clone(),
                    field_index: field_index as i32,
                    norm,
                    record_id: *id,
                });
            }
        }
    }
    out
}

/// The records of an update (`olds` as they were, `checked` as they will be) whose kept keys
/// change, or whose key in some field is a value another record's change takes or leaves:
/// their indexes, in order. Every other record's keys and the holders of its values stay as
/// they are, so it keeps the unique messages it had (put back on it here, since `checked`
/// was checked without the other records).
pub(super) fn rekeyed(ctx: &SheetContext, olds: &[Checked], checked: &mut [Checked]) -> Vec<usize> {
    let keys = |rec: &Checked| -> Vec<Option<String>> {
        ctx.keyed
            .iter()
            .enumerate()
            .map(|(fi, rule)| {
                let keep_empty = ctx.config.fields[fi].unique_keeps_empty();
                // A record from before a field was added holds no value for it.
                let value = rec.vals.get(fi).unwrap_or(&serde_json::Value::Null);
                rule.and_then(|case_sensitive| norm_for(value, case_sensitive, keep_empty))
            })
            .collect()
    };
    let before: Vec<Vec<Option<String>>> = olds.iter().map(keys).collect();
    let after: Vec<Vec<Option<String>>> = checked.iter().map(keys).collect();
    let mut moved: HashMap<usize, HashSet<&str>> = HashMap::new();
    for (b, a) in before.iter().zip(&after) {
        for (fi, (old, new)) in b.iter().zip(a).enumerate() {
            if old != new {
                let set = moved.entry(fi).or_default();
                set.extend(old.as_deref());
                set.extend(new.as_deref());
            }
        }
    }
    let mut out = Vec::new();
    for (k, rec) in checked.iter_mut().enumerate() {
        let shares = after[k].iter().enumerate().any(|(fi, norm)| {
            norm.as_deref()
                .is_some_and(|n| moved.get(&fi).is_some_and(|set| set.contains(n)))
        });
        if before[k] != after[k] || shares {
            out.push(k);
            continue;
        }
        for (fi, field) in ctx.config.fields.iter().enumerate() {
            if field.unique.is_some() {
                let had = has_unique_message(&olds[k], fi);
                rec.set_constraint(fi, Source::Unique, had.then(|| unique_message(field)));
            }
        }
    }
    out
}

/// Of the keys some records held (`(record, field, norm)`), those of unique fields that
/// another record may hold too: a record whose field had no unique message held its value
/// alone, so its leaving that value changes no other record. `flagged` says whether a
/// record had a unique message in a field.
pub(super) fn shared(
    ctx: &SheetContext,
    held: &[(i64, i32, String)],
    flagged: impl Fn(i64, usize) -> bool,
) -> HashMap<usize, HashSet<String>> {
    let mut out: HashMap<usize, HashSet<String>> = HashMap::new();
    for (record, field, norm) in held {
        let fi = *field as usize;
        if ctx.config.fields.get(fi).is_some_and(|f| f.unique.is_some()) && flagged(*record, fi) {
            out.entry(fi).or_default().insert(norm.clone());
        }
    }
    out
}

/// Whether a record's messages say its value in field `fi` is not unique.
pub(super) fn has_unique_message(rec: &Checked, fi: usize) -> bool {
    rec.messages
        .get(&fi)
        .is_some_and(|ms| ms.iter().any(|m| m.source == Source::Unique))
}

/// Brings the unique messages of these records (and of the lone other holders of their
/// values) in line with the kept keys, whatever they said before, and the sheet's counts
/// with them: a re-check after the sheet's fields changed.
pub(super) fn resettle(conn: &mut AnyConnection, ctx: &SheetContext, ids: &[i64]) -> ModelResult<()> {
    if ctx.config.fields.iter().all(|f| f.unique.is_none()) {
        return Ok(());
    }
    let rows = load(conn, ctx.sheet.seq, ids)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut checked: Vec<Checked> = rows.iter().map(|r| r.checked(&ctx.config)).collect();
    let mut delta = CountDelta::default();
    let before: Vec<(bool, Vec<String>)> = checked
        .iter()
        .map(|c| (c.valid(), error_keys(&ctx.config, c)))
        .collect();
    for k in settle(conn, ctx, &ids, &mut checked, &HashMap::new(), &mut delta)? {
        let (valid, errors) = before[k].clone();
        delta.add(-1, valid, errors);
        delta.add(1, checked[k].valid(), error_keys(&ctx.config, &checked[k]));
        write_checks(conn, ctx.sheet.seq, ids[k], &checked[k], true)?;
    }
    if !delta.is_zero() {
        crate::model::sheet::add_counts(conn, &ctx.sheet.id, &delta)?;
    }
    Ok(())
}

/// Brings unique messages in line with the kept keys, for the records just written (`ids`,
/// `checked`, fixed in memory) and for every other record whose status their values changed.
/// `old_norms` are keys the written or deleted records held before. Returns the indexes of
/// `checked` whose messages changed.
pub(super) fn settle(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[i64],
    checked: &mut [Checked],
    old_norms: &HashMap<usize, HashSet<String>>,
    delta: &mut CountDelta,
) -> ModelResult<Vec<usize>> {
    let mut changed = Vec::new();
    let written: HashSet<i64> = ids.iter().copied().collect();
    for (fi, field) in ctx.config.fields.iter().enumerate() {
        let Some(unique) = field.unique else { continue };
        let keep_empty = field.unique_keeps_empty();
        let norm_of = |rec: &Checked| norm_for(&rec.vals[fi], unique.case_sensitive, keep_empty);
        let mut norms: HashSet<String> = checked.iter().filter_map(norm_of).collect();
        norms.extend(old_norms.get(&fi).cloned().unwrap_or_default());
        if norms.is_empty() {
            continue;
        }
        let holders = keys::holders(conn, &ctx.sheet.id, fi, &norms.into_iter().collect::<Vec<_>>())?;
        for (k, rec) in checked.iter_mut().enumerate() {
            let dup = norm_of(rec)
                .and_then(|n| holders.get(&n))
                .is_some_and(|h| h.len() > 1);
            let before = rec.clone();
            rec.set_constraint(fi, Source::Unique, dup.then(|| unique_message(field)));
            if *rec != before {
                changed.push(k);
            }
        }
        // Another record's status changes only when it is the one holder outside this write.
        let mut others: Vec<(i64, bool)> = Vec::new();
        for ids in holders.values() {
            let outside: Vec<i64> = ids.iter().copied().filter(|id| !written.contains(id)).collect();
            if outside.len() == 1 {
                others.push((outside[0], ids.len() > 1));
            }
        }
        let should: HashMap<i64, bool> = others.iter().copied().collect();
        let ids_to_check: Vec<i64> = should.keys().copied().collect();
        for row in load(conn, ctx.sheet.seq, &ids_to_check)? {
            let mut rec = row.checked(&ctx.config);
            let has = rec
                .messages
                .get(&fi)
                .is_some_and(|ms| ms.iter().any(|m| m.source == Source::Unique));
            let want = should[&row.id];
            if has != want {
                delta.add(-1, rec.valid(), error_keys(&ctx.config, &rec));
                rec.set_constraint(fi, Source::Unique, want.then(|| unique_message(field)));
                delta.add(1, rec.valid(), error_keys(&ctx.config, &rec));
                write_checks(conn, ctx.sheet.seq, row.id, &rec, true)?;
            }
        }
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}
