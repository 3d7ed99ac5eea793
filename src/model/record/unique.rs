//! Unique checks against the kept keys: the records just written, and every other record
//! whose status their values changed. A rule is a unique field or a sheet's `unique`
//! constraint over several fields; its message sits on each of its fields.

use super::error_keys;
use super::keys::{self, norm_for, NewKey};
use super::write::{load, write_checks};
use crate::db::AnyConnection;
use crate::model::sheet::{CountDelta, SheetContext};
use crate::model::ModelResult;
use crate::validate::{together_marker, unique_message, unique_together_message, Checked, Message, Source};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One unique rule of a sheet.
pub(super) struct Rule {
    /// Where its keys are kept (`cell_keys.field_index`): the field's index, or the
    /// constraint's [`keys::together_slot`].
    slot: i32,
    kind: Kind,
    /// The fields its message sits on.
    fields: Vec<usize>,
    message: Message,
    /// How its messages end, for a sheet constraint; for a unique field, how the messages
    /// of the constraints it is part of end, which sit on it too but are not its own.
    markers: Vec<String>,
}

enum Kind {
    Field {
        index: usize,
        case_sensitive: bool,
        keep_empty: bool,
    },
    Together {
        fields: Vec<usize>,
        required: Vec<usize>,
    },
}

impl Rule {
    /// The key a record is kept under for this rule, if any.
    fn norm(&self, rec: &Checked) -> Option<String> {
        match &self.kind {
            Kind::Field {
                index,
                case_sensitive,
                keep_empty,
            } => {
                // A record from before a field was added holds no value for it.
                let value = rec.vals.get(*index).unwrap_or(&Value::Null);
                norm_for(value, *case_sensitive, *keep_empty)
            }
            Kind::Together { fields, required } => keys::together_norm(&rec.vals, fields, required),
        }
    }

    fn is_mine(&self, m: &Message) -> bool {
        // By the constraint's marker, not the whole text: a label changed since (a
        // workbook update) changes the text of new messages, not of stored ones (probe
        // 61c D1).
        let marked = self.markers.iter().any(|k| m.message.ends_with(k.as_str()));
        m.source == Source::Unique
            && match self.kind {
                Kind::Field { .. } => !marked,
                Kind::Together { .. } => marked,
            }
    }

    /// Whether a record carries this rule's message.
    pub(super) fn flagged(&self, rec: &Checked) -> bool {
        rec.messages
            .get(&self.fields[0])
            .is_some_and(|ms| ms.iter().any(|m| self.is_mine(m)))
    }

    /// Puts this rule's message on the record's fields, or takes it away.
    fn flag(&self, rec: &mut Checked, on: bool) {
        for &fi in &self.fields {
            let list = rec.messages.entry(fi).or_default();
            list.retain(|m| !self.is_mine(m));
            if on {
                list.push(self.message.clone());
            }
            if list.is_empty() {
                rec.messages.remove(&fi);
            }
        }
    }
}

/// The sheet's unique rules: its unique fields, then its `unique` constraints.
pub(super) fn rules(ctx: &SheetContext) -> Vec<Rule> {
    let config = &ctx.config;
    let together: Vec<(usize, Message, String)> = config
        .together
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.fields.is_empty())
        .map(|(ci, u)| (ci, unique_together_message(config, u), together_marker(u)))
        .collect();
    let mut out: Vec<Rule> = Vec::new();
    for (fi, field) in config.fields.iter().enumerate() {
        let Some(unique) = field.unique else { continue };
        out.push(Rule {
            slot: fi as i32,
            kind: Kind::Field {
                index: fi,
                case_sensitive: unique.case_sensitive,
                keep_empty: field.unique_keeps_empty(),
            },
            fields: vec![fi],
            message: unique_message(field),
            markers: together
                .iter()
                .filter(|(ci, _, _)| config.together[*ci].fields.contains(&fi))
                .map(|(_, _, marker)| marker.clone())
                .collect(),
        });
    }
    for (ci, message, marker) in together {
        let u = &config.together[ci];
        out.push(Rule {
            slot: keys::together_slot(ci),
            kind: Kind::Together {
                fields: u.fields.clone(),
                required: u.required.clone(),
            },
            fields: u.fields.clone(),
            message,
            markers: vec![marker],
        });
    }
    out
}

/// The keys a record is kept under for the sheet's unique and referenced fields, then its
/// `unique` constraints.
fn key_list(ctx: &SheetContext, rec: &Checked) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = ctx
        .keyed
        .iter()
        .enumerate()
        .map(|(fi, rule)| {
            let field = &ctx.config.fields[fi];
            // A record from before a field was added holds no value for it.
            let value = rec.vals.get(fi).unwrap_or(&Value::Null);
            let norms = keys::norms_of_cell(field, value, (*rule)?, field.unique_keeps_empty());
            // A reference-list's keys as one, to see whether they changed.
            (!norms.is_empty()).then(|| norms.join("\u{1f}"))
        })
        .collect();
    out.extend(
        ctx.config
            .together
            .iter()
            .map(|u| keys::together_norm(&rec.vals, &u.fields, &u.required)),
    );
    out
}

/// The kept keys of some records, for their unique and referenced fields and the sheet's
/// `unique` constraints.
pub(super) fn keys_of(ctx: &SheetContext, ids: &[i64], checked: &[Checked]) -> Vec<NewKey> {
    let mut out = Vec::new();
    for (field_index, rule) in ctx.keyed.iter().enumerate() {
        let Some(case_sensitive) = *rule else {
            continue;
        };
        let field = &ctx.config.fields[field_index];
        let keep_empty = field.unique_keeps_empty();
        for (id, rec) in ids.iter().zip(checked) {
            for norm in keys::norms_of_cell(field, &rec.vals[field_index], case_sensitive, keep_empty) {
                out.push(NewKey {
                    sheet_id: ctx.sheet.id.clone(),
                    field_index: field_index as i32,
                    norm,
                    record_id: *id,
                });
            }
        }
    }
    for (ci, u) in ctx.config.together.iter().enumerate() {
        for (id, rec) in ids.iter().zip(checked) {
            if let Some(norm) = keys::together_norm(&rec.vals, &u.fields, &u.required) {
                out.push(NewKey {
                    sheet_id: ctx.sheet.id.clone(),
                    field_index: keys::together_slot(ci),
                    norm,
                    record_id: *id,
                });
            }
        }
    }
    out
}

/// The records of an update (`olds` as they were, `checked` as they will be) whose kept keys
/// change, or whose key in some field or constraint is a value another record's change
/// takes or leaves: their indexes, in order. Every other record's keys and the holders of
/// its values stay as they are, so it keeps the unique messages it had (put back on it
/// here, since `checked` was checked without the other records).
pub(super) fn rekeyed(ctx: &SheetContext, olds: &[Checked], checked: &mut [Checked]) -> Vec<usize> {
    let before: Vec<Vec<Option<String>>> = olds.iter().map(|r| key_list(ctx, r)).collect();
    let after: Vec<Vec<Option<String>>> = checked.iter().map(|r| key_list(ctx, r)).collect();
    let mut moved: HashMap<usize, HashSet<&str>> = HashMap::new();
    for (b, a) in before.iter().zip(&after) {
        for (at, (old, new)) in b.iter().zip(a).enumerate() {
            if old != new {
                let set = moved.entry(at).or_default();
                set.extend(old.as_deref());
                set.extend(new.as_deref());
            }
        }
    }
    let rules = rules(ctx);
    let mut out = Vec::new();
    for (k, rec) in checked.iter_mut().enumerate() {
        let shares = after[k].iter().enumerate().any(|(at, norm)| {
            norm.as_deref()
                .is_some_and(|n| moved.get(&at).is_some_and(|set| set.contains(n)))
        });
        if before[k] != after[k] || shares {
            out.push(k);
            continue;
        }
        for rule in &rules {
            rule.flag(rec, rule.flagged(&olds[k]));
        }
    }
    out
}

/// Of the keys some records held (`(record, slot, norm)`), those of unique rules that
/// another record may hold too: a record without a rule's message held its value alone,
/// so its leaving that value changes no other record. `flagged` says whether a record had
/// a rule's message.
pub(super) fn shared(
    ctx: &SheetContext,
    held: &[(i64, i32, String)],
    flagged: impl Fn(i64, &Rule) -> bool,
) -> HashMap<i32, HashSet<String>> {
    let rules = rules(ctx);
    let mut out: HashMap<i32, HashSet<String>> = HashMap::new();
    for (record, slot, norm) in held {
        if rules.iter().any(|r| r.slot == *slot && flagged(*record, r)) {
            out.entry(*slot).or_default().insert(norm.clone());
        }
    }
    out
}

/// Brings the unique messages of these records (and of the lone other holders of their
/// values) in line with the kept keys, whatever they said before, and the sheet's counts
/// with them: a re-check after the sheet's fields changed.
pub(super) fn resettle(conn: &mut AnyConnection, ctx: &SheetContext, ids: &[i64]) -> ModelResult<()> {
    if !ctx.config.has_unique() {
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
    let settled = settle(conn, ctx, &ids, &mut checked, &HashMap::new(), &mut delta)?;
    for &k in &settled {
        let (valid, errors) = before[k].clone();
        delta.add(-1, valid, errors);
        delta.add(1, checked[k].valid(), error_keys(&ctx.config, &checked[k]));
    }
    let writes: Vec<(i64, &Checked)> = settled.iter().map(|&k| (ids[k], &checked[k])).collect();
    write_checks(conn, ctx.sheet.seq, &writes, true)?;
    if !delta.is_zero() {
        crate::model::sheet::add_counts(conn, &ctx.sheet.id, &delta)?;
    }
    Ok(())
}

/// Brings unique messages in line with the kept keys, for the records just written (`ids`,
/// `checked`, fixed in memory) and for every other record whose status their values changed.
/// `old_norms` are keys the written or deleted records held before, by slot. Returns the
/// indexes of `checked` whose messages changed.
pub(super) fn settle(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[i64],
    checked: &mut [Checked],
    old_norms: &HashMap<i32, HashSet<String>>,
    delta: &mut CountDelta,
) -> ModelResult<Vec<usize>> {
    let mut changed = Vec::new();
    let written: HashSet<i64> = ids.iter().copied().collect();
    for rule in rules(ctx) {
        let mut norms: HashSet<String> = checked.iter().filter_map(|r| rule.norm(r)).collect();
        norms.extend(old_norms.get(&rule.slot).cloned().unwrap_or_default());
        if norms.is_empty() {
            continue;
        }
        let holders = keys::holders(
            conn,
            &ctx.sheet.id,
            rule.slot,
            &norms.into_iter().collect::<Vec<_>>(),
        )?;
        for (k, rec) in checked.iter_mut().enumerate() {
            let dup = rule
                .norm(rec)
                .and_then(|n| holders.get(&n))
                .is_some_and(|h| h.len() > 1);
            let before = rec.clone();
            rule.flag(rec, dup);
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
        let mut flagged = Vec::new();
        for row in load(conn, ctx.sheet.seq, &ids_to_check)? {
            let mut rec = row.checked(&ctx.config);
            let want = should[&row.id];
            if rule.flagged(&rec) != want {
                delta.add(-1, rec.valid(), error_keys(&ctx.config, &rec));
                rule.flag(&mut rec, want);
                delta.add(1, rec.valid(), error_keys(&ctx.config, &rec));
                flagged.push((row.id, rec));
            }
        }
        let writes: Vec<(i64, &Checked)> = flagged.iter().map(|(id, rec)| (*id, rec)).collect();
        write_checks(conn, ctx.sheet.seq, &writes, true)?;
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}
