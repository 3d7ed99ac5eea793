//! A bulk change (find and replace, set or clear a column) is one entry in a sheet's
//! history, whatever the number of cells: each cell's change carries the entry's id, and
//! one click undoes them all. Undo puts back every cell nobody changed since; cells changed
//! after the bulk change keep the newer value and are counted, so no one's save is lost.

use super::write::{update_tagged, RecordUpdate};
use crate::db::schema::{bulk_changes, record_changes, records};
use crate::db::AnyConnection;
use crate::ids::{BulkChangeId, JobId, RecordId, SheetId};
use crate::model::commit::Hooks;
use crate::model::sheet::{self, SheetContext};
use crate::model::{now, ModelError, ModelResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bulk_changes)]
pub struct BulkChange {
    pub id: BulkChangeId,
    pub sheet_id: SheetId,
    pub actor: String,
    /// What it did, in words ("Replaced “N/A” with nothing in Amount").
    pub summary: String,
    /// How many records it changed.
    pub changed: i64,
    pub job_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub undone_at: Option<NaiveDateTime>,
    pub undone_by: Option<String>,
    /// Claimed by an undo that has not put every cell back yet (a stop cut it off, or it
    /// runs now).
    pub undo_pending: bool,
    /// The job of the undo that claimed it (none for an undo answered at once).
    pub undo_job: Option<String>,
}

/// Starts an entry; its cells are tagged with the id as they are written.
pub fn create(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    actor: &str,
    summary: &str,
    job: Option<&JobId>,
) -> QueryResult<BulkChangeId> {
    let id = BulkChangeId::generate();
    crate::db::write(conn, |conn| {
        diesel::insert_into(bulk_changes::table)
            .values((
                bulk_changes::id.eq(&id),
                bulk_changes::sheet_id.eq(sheet),
                bulk_changes::actor.eq(actor),
                bulk_changes::summary.eq(summary),
                bulk_changes::changed.eq(0i64),
                bulk_changes::job_id.eq(job.map(|j| j.as_str())),
                bulk_changes::created_at.eq(now()),
            ))
            .execute(conn)
    })?;
    Ok(id)
}

/// Counts records written under the entry (in the transaction that wrote them).
pub fn add_changed(conn: &mut AnyConnection, id: &BulkChangeId, n: usize) -> QueryResult<()> {
    diesel::update(bulk_changes::table.find(id))
        .set(bulk_changes::changed.eq(bulk_changes::changed + n as i64))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut AnyConnection, sheet: &SheetId, id: &str) -> QueryResult<Option<BulkChange>> {
    bulk_changes::table
        .filter(bulk_changes::id.eq(id))
        .filter(bulk_changes::sheet_id.eq(sheet))
        .select(BulkChange::as_select())
        .first(conn)
        .optional()
}

/// The entries a job wrote (one per attempt), oldest first.
pub fn of_job(conn: &mut AnyConnection, job: &JobId) -> QueryResult<Vec<BulkChange>> {
    bulk_changes::table
        .filter(bulk_changes::job_id.eq(job.as_str()))
        .order((bulk_changes::created_at.asc(), bulk_changes::id.asc()))
        .select(BulkChange::as_select())
        .load(conn)
}

/// A sheet's newest entries, newest first.
pub fn recent(conn: &mut AnyConnection, sheet: &SheetId, limit: i64) -> QueryResult<Vec<BulkChange>> {
    bulk_changes::table
        .filter(bulk_changes::sheet_id.eq(sheet))
        .order((bulk_changes::created_at.desc(), bulk_changes::id.desc()))
        .limit(limit)
        .select(BulkChange::as_select())
        .load(conn)
}

/// What an undo did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Undone {
    /// Cells put back.
    pub restored: usize,
    /// Cells someone changed after the bulk change (or whose record was deleted): kept.
    pub kept: usize,
    pub also_changed: Vec<SheetId>,
}

/// How many cells a bulk change still holds to undo (a removed field's left it).
pub fn cells_left(conn: &mut AnyConnection, id: &str) -> QueryResult<i64> {
    record_changes::table
        .filter(record_changes::bulk_id.eq(id))
        .count()
        .get_result(conn)
}

/// A field removed from the sheet leaves every bulk change of it: undoing one must not
/// write the removed field's old values into a later field given the same key.
pub fn forget_field(conn: &mut AnyConnection, sheet: &SheetId, field: &str) -> QueryResult<usize> {
    let of_sheet = bulk_changes::table
        .filter(bulk_changes::sheet_id.eq(sheet))
        .select(bulk_changes::id.nullable());
    diesel::update(
        record_changes::table
            .filter(record_changes::bulk_id.eq_any(of_sheet))
            .filter(record_changes::field.eq(field)),
    )
    .set(record_changes::bulk_id.eq(None::<String>))
    .execute(conn)
}

/// Cells undone in the first transaction: an API-sized bulk change (10,000 records) is
/// one; the next are sized by time (`db::batch_size`), so saves wait about half a second.
const UNDO_BATCH: i64 = 10_000;

/// Undoes the entry `id` as `actor`. Claimed first, so two clicks undo it once; then a
/// batch at a time, each its own transaction, so people's saves wait for one batch at most.
pub fn undo(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    id: &BulkChangeId,
    actor: &str,
) -> ModelResult<Undone> {
    undo_checked(conn, ctx, id, actor, None, &mut |_, _, _| Ok(()))
}

/// How long an undo answered at once may run: another undo of the same change waits
/// that long before it finishes one a stop may have cut off.
const UNDO_AT_ONCE_FOR: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Whether the job `id` is not over (running, or to be run again after a stop).
pub(crate) fn still_running(conn: &mut AnyConnection, id: &str) -> QueryResult<bool> {
    use crate::db::schema::jobs;
    let status: Option<String> = jobs::table
        .filter(jobs::id.eq(id))
        .select(jobs::status)
        .first(conn)
        .optional()?;
    Ok(status.is_some_and(|s| !crate::model::job::status::FINAL.contains(&s.as_str())))
}

/// [`undo`], asking `go_on` before each batch (in its transaction, with the sheet as it is
/// then and what was put back so far): an error stops the undo there, and the entry may be
/// undone again later (a lock taken on a guest's undo job).
pub fn undo_checked(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    id: &BulkChangeId,
    actor: &str,
    job: Option<&JobId>,
    go_on: &mut dyn FnMut(&mut AnyConnection, &SheetContext, usize) -> ModelResult<()>,
) -> ModelResult<Undone> {
    let claimed = crate::db::write(conn, |conn| {
        diesel::update(
            bulk_changes::table
                .filter(bulk_changes::id.eq(id))
                .filter(bulk_changes::sheet_id.eq(&ctx.sheet.id))
                .filter(bulk_changes::undone_at.is_null()),
        )
        .set((
            bulk_changes::undone_at.eq(Some(now())),
            bulk_changes::undone_by.eq(Some(actor)),
            bulk_changes::undo_pending.eq(true),
            bulk_changes::undo_job.eq(job.map(JobId::as_str)),
        ))
        .execute(conn)
    })?;
    if claimed == 0 {
        // Undone already, or claimed by an undo of this actor's that a stop cut off before
        // it had put every cell back (the claim commits first): this one finishes it, as
        // cells already put back count as changed since. An undo that ended is final.
        return match find(conn, &ctx.sheet.id, id.as_str())? {
            Some(b)
                if b.undo_pending
                    && (b.undone_by.as_deref() == Some(actor)
                        || crate::ids::ApiKeyId::parse(actor).is_some()) =>
            {
                // Not while the undo job that claimed it still runs (or will resume): two
                // would both put every value back and both say so (probe 48c 3).
                if let Some(other) = b
                    .undo_job
                    .as_deref()
                    .filter(|j| Some(*j) != job.map(JobId::as_str))
                {
                    if still_running(conn, other)? {
                        return Err(ModelError::Conflict(format!(
                            "this change is being undone by the job {other}; follow that one"
                        )));
                    }
                }
                // Nor beside an undo answered at once that may still run (a click in the
                // grid: probe 49a F6); one a stop cut off is finished after a minute.
                let recent = b.undone_at.is_some_and(|at| at > now() - UNDO_AT_ONCE_FOR);
                if b.undo_job.is_none() && recent {
                    return Err(ModelError::Conflict(
                        "this change is being undone right now; look again in a moment".into(),
                    ));
                }
                let how = Revert::Undo {
                    held: super::config::held(actor),
                };
                let done = revert_checked(conn, ctx, id, actor, how, go_on)?;
                mark_undo_ended(conn, id)?;
                match done.restored {
                    0 => Err(ModelError::Conflict("this change was already undone".into())),
                    _ => Ok(done),
                }
            }
            Some(_) => Err(ModelError::Conflict("this change was already undone".into())),
            None => Err(ModelError::NotFound("bulk change")),
        };
    }
    let how = Revert::Undo {
        held: super::config::held(actor),
    };
    let done = revert_checked(conn, ctx, id, actor, how, go_on);
    if done.is_ok() {
        mark_undo_ended(conn, id)?;
    }
    if done.is_err() {
        // Not undone after all: the entry may be undone again (cells already put back
        // count as changed since, so they are not put back twice).
        crate::db::write(conn, |conn| {
            diesel::update(bulk_changes::table.filter(bulk_changes::id.eq(id)))
                .set((
                    bulk_changes::undone_at.eq(None::<chrono::NaiveDateTime>),
                    bulk_changes::undone_by.eq(None::<String>),
                    bulk_changes::undo_pending.eq(false),
                ))
                .execute(conn)
        })?;
    }
    done
}

/// The undo of `id` has put every cell back: a later undo of it is refused.
fn mark_undo_ended(conn: &mut AnyConnection, id: &BulkChangeId) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(bulk_changes::table.filter(bulk_changes::id.eq(id)))
            .set(bulk_changes::undo_pending.eq(false))
            .execute(conn)
    })?;
    Ok(())
}

/// A stopped bulk job's entry: its cells nobody changed since put back, even when another
/// take-back of it ran or runs (what that one put back counts as changed since, so nothing
/// is put back twice), then marked undone (if it was not). Marked last, so a take-back cut
/// off by a stop is found again (`jobs::take_back::sweep`).
pub fn take_back(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    id: &BulkChangeId,
    actor: &str,
) -> ModelResult<Undone> {
    let undone = revert_checked(conn, ctx, id, actor, Revert::TakeBack, &mut |_, _, _| Ok(()))?;
    crate::db::write(conn, |conn| {
        diesel::update(
            bulk_changes::table
                .filter(bulk_changes::id.eq(id))
                .filter(bulk_changes::undone_at.is_null()),
        )
        .set((
            bulk_changes::undone_at.eq(Some(now())),
            bulk_changes::undone_by.eq(Some(actor)),
        ))
        .execute(conn)
    })?;
    Ok(undone)
}

/// How a bulk change's cells are put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revert {
    /// Undone by someone: a cell changed since keeps that change; `held`, cells listener
    /// code made read-only since are kept too (a person's or guest's undo).
    Undo { held: bool },
    /// A stopped job taking back what it wrote, as if it had never run.
    TakeBack,
}

/// Puts back the cells of `id` that nobody changed since, a batch to a transaction.
fn revert_checked(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    id: &BulkChangeId,
    actor: &str,
    how: Revert,
    go_on: &mut dyn FnMut(&mut AnyConnection, &SheetContext, usize) -> ModelResult<()>,
) -> ModelResult<Undone> {
    let mut done = Undone::default();
    let mut after = 0i64;
    // Cells a transaction, sized by time as a job's batches are: saves wait for one.
    let mut size = UNDO_BATCH;
    loop {
        let started = std::time::Instant::now();
        let more = crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
            // The sheet as it is now: a field changed since the bulk change does not stop
            // its undo (a removed field's cells are kept as they are).
            let ctx = &sheet::relock_fresh(conn, ctx)?;
            // Read under the lock: another take-back may have rebased these cells' history
            // a moment ago (two canceled jobs, one over the other).
            let batch: Vec<Cell> = record_changes::table
                .filter(record_changes::bulk_id.eq(id.as_str()))
                .filter(record_changes::id.gt(after))
                .order(record_changes::id.asc())
                .limit(size)
                .select((
                    record_changes::id,
                    record_changes::record_id,
                    record_changes::field,
                    record_changes::old_value,
                    record_changes::new_value,
                    record_changes::old_raw,
                    record_changes::old_messages,
                ))
                .load(conn)?;
            let Some(last) = batch.last() else {
                return Ok(false);
            };
            after = last.0;
            go_on(conn, ctx, done.restored)?;
            let (updates, kept, back) = restorable(conn, ctx, &batch, how)?;
            done.kept += kept;
            done.restored += back;
            if !updates.is_empty() {
                let cells: usize = updates.iter().map(|u| u.values.len()).sum();
                let before = super::history::newest_of_sheet(conn, &ctx.sheet.id)?;
                let written = update_tagged(conn, ctx, &updates, actor, &Hooks::Run, None)?;
                let undone: HashMap<(i64, &str), i64> =
                    batch.iter().map(|c| ((c.1, c.2.as_str()), c.0)).collect();
                super::history::mark_bulk_undo(conn, &ctx.sheet.id, &undone, before)?;
                done.restored += cells;
                done.also_changed.extend(written.also_changed);
            }
            Ok(batch.len() as i64 == size)
        })?;
        size =
            crate::db::batch_size::next(size as usize, started.elapsed(), crate::db::batch_size::MOST) as i64;
        if !more {
            break;
        }
    }
    Ok(done)
}

/// The bulk changes among `ids` that were undone (or taken back).
pub fn undone_among<'a>(
    conn: &mut AnyConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> QueryResult<HashSet<String>> {
    let ids: Vec<&str> = ids.into_iter().collect::<HashSet<_>>().into_iter().collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(bulk_changes::table
        .filter(bulk_changes::id.eq_any(ids))
        .filter(bulk_changes::undone_at.is_not_null())
        .select(bulk_changes::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// A change of a cell after a bulk change: its id, the value before, the value after, and
/// whether it was an undone bulk change's.
type LaterChange = (i64, String, String, bool);

/// A cell a bulk change wrote: its change's id, the record, the field, the value before,
/// the value written, the text the value before was uploaded as (see `old_raw`) and what
/// listener code had said of it (`old_messages`).
type Cell = (i64, i64, String, String, String, Option<String>, Option<String>);

/// The updates that put back a batch's cells, how many cells are kept as they are, and
/// how many already show what was there before (put back by an earlier try of this undo).
/// Runs under the sheet's write lock, so what it reads is what it writes over.
fn restorable(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    batch: &[Cell],
    how: Revert,
) -> ModelResult<(Vec<RecordUpdate>, usize, usize)> {
    let held = how == Revert::Undo { held: true };
    let ids: Vec<i64> = batch
        .iter()
        .map(|c| c.1)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let first = batch.first().map_or(0, |c| c.0);
    let present: HashMap<i64, Option<String>> = records::table
        .filter(records::sheet_seq.eq(ctx.sheet.seq))
        .filter(records::id.eq_any(&ids))
        .select((records::id, records::config))
        .load::<(i64, Option<String>)>(conn)?
        .into_iter()
        .collect();
    let locked = |rid: &i64, field: &str| {
        held && present
            .get(rid)
            .is_some_and(|c| super::config::locks(c.as_deref(), field))
    };
    // The newest change of each cell since the bulk change began, the value it wrote, and
    // whether it was another bulk change's.
    let mut newest: HashMap<(i64, String), (i64, String, bool)> = HashMap::new();
    let later: Vec<(i64, i64, String, String, String, Option<String>)> = record_changes::table
        .filter(record_changes::sheet_id.eq(&ctx.sheet.id))
        .filter(record_changes::record_id.eq_any(&ids))
        .filter(record_changes::id.gt(first))
        .select((
            record_changes::id,
            record_changes::record_id,
            record_changes::field,
            record_changes::old_value,
            record_changes::new_value,
            record_changes::bulk_id,
        ))
        .load(conn)?;
    // Bulk changes undone (or taken back) among the later changes: their writes are gone
    // from a cell's story, whose next change's history starts before them.
    let undone = undone_among(conn, later.iter().filter_map(|c| c.5.as_deref()))?;
    // Every later change of each cell (id, value before, value after, whether an undone
    // bulk change's): an undo or take-back follows the cell's history after the job.
    let mut changes_after: HashMap<(i64, String), Vec<LaterChange>> = HashMap::new();
    for (cid, rid, field, before, new, bulk) in later {
        let gone = bulk.as_ref().is_some_and(|b| undone.contains(b));
        changes_after
            .entry((rid, field.clone()))
            .or_default()
            .push((cid, before, new.clone(), gone));
        let e = newest.entry((rid, field)).or_insert((cid, String::new(), false));
        if cid >= e.0 {
            *e = (cid, new, bulk.is_some());
        }
    }
    let shows = |text: &str| crate::validate::display(&serde_json::from_str(text).unwrap_or_default());
    let mut by_record: BTreeMap<i64, RecordUpdate> = BTreeMap::new();
    let (mut kept, mut back) = (0, 0);
    // Later changes whose history should start from the value before a job taken back.
    let mut rebased: Vec<(i64, &str, Option<&str>, Option<&str>)> = Vec::new();
    for (cid, rid, field, old, wrote, old_raw, old_messages) in batch {
        // Changed since if another bulk change wrote the cell last (whatever it wrote: its
        // own undo puts back what was there before it), or if the cell no longer shows what
        // this change wrote. An undo of a later change, or a canceled one's take-back, puts
        // that back and blocks nothing.
        let overtaken = newest
            .get(&(*rid, field.clone()))
            .is_some_and(|(n, now, by_bulk)| n > cid && (*by_bulk || shows(now) != shows(wrote)));
        if overtaken {
            // Undone or taken back, a cell changed since keeps that change, and each later
            // change made while the cell held the job's value (it wrote it, or an undo put
            // it back) starts from the value before the job, as if the job had never run:
            // its undo cannot bring back a value taken back everywhere else (probe 65a D2).
            if let Some(changes) = changes_after.get_mut(&(*rid, field.clone())) {
                changes.sort_unstable_by_key(|c| c.0);
                let job_value = shows(wrote);
                let mut holds_job_value = true;
                for (n, before, after, gone) in changes.iter().filter(|c| c.0 > *cid) {
                    // One that put back the value before the job (this job's take-back run
                    // before, by a cancel, say) stays as it went: rebased, it would read as
                    // a change of nothing, `0 → 0` (probe 67c D1).
                    let puts_back = shows(after) == shows(old);
                    if holds_job_value && shows(before) == job_value && !puts_back {
                        rebased.push((*n, old.as_str(), old_raw.as_deref(), old_messages.as_deref()));
                    }
                    // An undone bulk change's write is no value the cell held for the
                    // change after it (probe 65d D7: undone newest first).
                    if !gone {
                        holds_job_value = shows(after) == job_value;
                    }
                }
            }
        }
        // A person saved the cell as the value the job wrote, their own value too (see
        // `history::confirm`): kept.
        let confirmed = changes_after.get(&(*rid, field.clone())).is_some_and(|changes| {
            changes.iter().any(|(n, before, after, _)| {
                n > cid && shows(before) == shows(after) && shows(after) == shows(wrote)
            })
        });
        if overtaken
            || confirmed
            || !present.contains_key(rid)
            || ctx.config.field_index(field).is_none()
            || locked(rid, field)
        {
            // Showing what was there before: put back already (an earlier try of this
            // undo, cut off), not kept.
            let shows_before = newest
                .get(&(*rid, field.clone()))
                .is_some_and(|(n, now, _)| n > cid && shows(now) == shows(old));
            match overtaken && shows_before {
                true => back += 1,
                false => kept += 1,
            }
            continue;
        }
        let old = serde_json::from_str(old).unwrap_or(serde_json::Value::Null);
        let update = by_record.entry(*rid).or_insert_with(|| RecordUpdate {
            id: RecordId(*rid),
            values: BTreeMap::new(),
            messages: BTreeMap::new(),
            metadata: None,
            config: None,
            uploaded: BTreeMap::new(),
            confirms: false,
        });
        update.values.insert(field.clone(), old);
        if let Some(raw) = old_raw.as_deref().and_then(|t| serde_json::from_str(t).ok()) {
            update.uploaded.insert(field.clone(), raw);
        }
        // What listener code said of the old value, said again (probe 69e D2).
        if let Some(said) = old_messages.as_deref().and_then(|t| serde_json::from_str(t).ok()) {
            update.messages.insert(field.clone(), said);
        }
    }
    for (next, old, old_raw, old_messages) in rebased {
        diesel::update(record_changes::table.filter(record_changes::id.eq(next)))
            .set((
                record_changes::old_value.eq(old),
                record_changes::old_raw.eq(old_raw),
                record_changes::old_messages.eq(old_messages),
            ))
            .execute(conn)?;
    }
    Ok((by_record.into_values().collect(), kept, back))
}
