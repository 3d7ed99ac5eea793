//! Inserting records: checked and encoded first (the work that needs no database, which a
//! caller may do ahead), then written in one transaction with their unique keys, counts,
//! commit and event.

use super::keys;
use super::references::{self, Touched};
use super::search_index;
use super::sort_keys::{self, InsertRow, Key};
use super::unique;
use super::write::{commit_for, finish, load, write_checks, Written};
use super::{encode, error_keys, Encoded, RecordRow};
use crate::blueprint::FieldType;
use crate::db::schema::records;
use crate::db::AnyConnection;
use crate::model::commit::Hooks;
use crate::model::sheet::{self, CountDelta, SheetContext};
use crate::model::{ModelError, ModelResult};
use crate::validate::{check_values_read, Checked, Reading};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

/// Inserts records given as values in field order; returns them as stored.
pub fn insert(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    inputs: Vec<Vec<Value>>,
    actor: &str,
    hooks: &Hooks,
) -> ModelResult<Written<Vec<RecordRow>>> {
    insert_prepared(conn, ctx, prepare(ctx, inputs), actor, hooks)
}

/// Records checked and encoded ahead of their write transaction: the work that needs no
/// database, which a caller may do for its next batch while the last one is written.
pub struct Prepared {
    checked: Vec<Checked>,
    encoded: Vec<Encoded>,
    readings: Vec<Reading>,
}

impl Prepared {
    /// How many of the records carry a warning (a date read month first, a number read
    /// one way of two), and how many cells of each field do.
    pub fn warnings(&self) -> (i64, std::collections::BTreeMap<usize, i64>) {
        use crate::validate::MessageType;
        let mut by_field = std::collections::BTreeMap::new();
        let mut records = 0;
        for checked in &self.checked {
            let mut warned = false;
            for (&i, messages) in &checked.messages {
                if messages.iter().any(|m| m.kind == MessageType::Warn) {
                    *by_field.entry(i).or_insert(0) += 1;
                    warned = true;
                }
            }
            records += warned as i64;
        }
        (records, by_field)
    }

    /// Keeps, as a cell's `raw`, what was uploaded where a mapping translated it before the
    /// check (an enum's `GOLD` sent as `gold`): the upload was otherwise lost, or the plan's
    /// own value kept in its place (probe 64a D1). `uploaded`: per record, (field, upload).
    pub fn keep_uploaded(&mut self, uploaded: Vec<Vec<(usize, Value)>>) {
        let records = self.checked.iter_mut().zip(self.encoded.iter_mut());
        for ((checked, encoded), cells) in records.zip(uploaded) {
            if cells.is_empty() {
                continue;
            }
            for (i, upload) in cells {
                match checked.vals.get(i) == Some(&upload) {
                    true => checked.raw.remove(&i),
                    false => checked.raw.insert(i, upload),
                };
            }
            *encoded = super::encode(checked);
        }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.checked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checked.is_empty()
    }

    /// The records as checked.
    pub fn checked(&self) -> &[Checked] {
        &self.checked
    }

    /// How each field's values that read two ways were read (see `validate::Reading`).
    pub fn readings(&self) -> &[Reading] {
        &self.readings
    }
}

/// Checks and encodes records given as values in field order, for [`insert_prepared`].
pub fn prepare(ctx: &SheetContext, inputs: Vec<Vec<Value>>) -> Prepared {
    let readings = readings(ctx, &inputs);
    let (checked, encoded) = check_all(ctx, inputs, &readings).into_iter().unzip();
    Prepared {
        checked,
        encoded,
        readings,
    }
}

/// [`prepare`], reading the values that read two ways as `readings` says (an import's,
/// gathered over all its rows first: see `validate::Evidence`) rather than by the batch.
pub fn prepare_read(ctx: &SheetContext, inputs: Vec<Vec<Value>>, readings: &[Reading]) -> Prepared {
    let (checked, encoded) = check_all(ctx, inputs, readings).into_iter().unzip();
    Prepared {
        checked,
        encoded,
        readings: readings.to_vec(),
    }
}

/// [`insert`] of records [`prepare`]d for the same sheet.
pub fn insert_prepared(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    prepared: Prepared,
    actor: &str,
    hooks: &Hooks,
) -> ModelResult<Written<Vec<RecordRow>>> {
    let inserted = insert_batches(conn, ctx, std::iter::once(Some(prepared)), actor, hooks)?;
    Ok(inserted.expect("a batch given whole is never unreadable").written)
}

/// Records inserted, and whether they are stored exactly as they were prepared (no
/// unique key or reference changed any on the way).
pub struct Inserted {
    pub written: Written<Vec<RecordRow>>,
    pub as_prepared: bool,
}

/// [`insert`] of records arriving in batches, in order: each is written as soon as it
/// comes, so the next can be read and checked on other threads meanwhile, and all are one
/// write (one commit, one event), all or nothing. A `None` batch is one that could not be
/// read: what was written is rolled back and the answer is `None`. Not for sheets with
/// references, whose checks read the records already there (a later batch would see the
/// earlier ones, where one whole batch sees none of itself).
pub fn insert_batches(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    batches: impl IntoIterator<Item = Option<Prepared>>,
    actor: &str,
    hooks: &Hooks,
) -> ModelResult<Option<Inserted>> {
    let (mut checked, mut encoded) = (Vec::new(), Vec::new());
    let mut ids = Vec::new();
    let written = crate::db::write_tx::<_, Abandon, _>(conn, |conn| {
        sheet::lock_context(conn, ctx)?;
        for batch in batches {
            let Prepared {
                checked: mut batch_checked,
                encoded: mut batch_encoded,
                ..
            } = batch.ok_or(Abandon::Unreadable)?;
            // References are checked against the records as they are now, in the transaction.
            if ctx.refs.iter().any(Option::is_some) {
                references::check(conn, ctx, &mut batch_checked)?;
                batch_encoded = batch_checked.iter().map(encode).collect();
            }
            ids.extend(insert_rows(conn, ctx, &batch_checked, &batch_encoded)?);
            checked.append(&mut batch_checked);
            encoded.append(&mut batch_encoded);
        }
        Ok(finish_insert(
            conn,
            ctx,
            &ids,
            &mut checked,
            &mut encoded,
            actor,
            hooks,
        )?)
    });
    drop_elsewhere(checked);
    match written {
        Ok(inserted) => Ok(Some(inserted)),
        Err(Abandon::Unreadable) => Ok(None),
        Err(Abandon::Model(e)) => Err(e),
    }
}

/// Why a write of batches stopped.
enum Abandon {
    Unreadable,
    Model(ModelError),
}

impl<E: Into<ModelError>> From<E> for Abandon {
    fn from(e: E) -> Self {
        Abandon::Model(e.into())
    }
}

/// What follows the rows of an insert in its transaction: unique keys, counts, the commit,
/// references to the new records; the rows as stored.
fn finish_insert(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[i64],
    checked: &mut [Checked],
    encoded: &mut Vec<Encoded>,
    actor: &str,
    hooks: &Hooks,
) -> ModelResult<Inserted> {
    if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
        search_index::index_inserted(conn, ctx.sheet.seq, *first, *last)?;
    }
    keys::insert(conn, &unique::keys_of(ctx, ids, checked))?;
    let mut delta = CountDelta::default();
    let changed = unique::settle(conn, ctx, ids, checked, &HashMap::new(), &mut delta)?;
    let as_prepared = changed.is_empty();
    let writes: Vec<(i64, &Checked)> = changed.iter().map(|&k| (ids[k], &checked[k])).collect();
    write_checks(conn, ctx.sheet.seq, &writes, false)?;
    for k in changed {
        encoded[k] = encode(&checked[k]);
    }
    for rec in checked.iter() {
        delta.add(1, rec.valid(), error_keys(&ctx.config, rec));
    }
    finish(conn, ctx, actor, "records:created", ids.len(), &delta)?;
    let commit = commit_for(conn, ctx, actor, hooks, ids)?;
    let mut touched = Touched::new();
    references::target_norms(ctx, checked, &mut touched);
    let also_changed = references::recheck_referrers(conn, ctx, Some(&touched), actor)?;
    if also_changed.contains(&ctx.sheet.id) {
        // The sheet refers to itself and some new records settled others' references.
        let written = Written {
            rows: load(conn, ctx.sheet.seq, ids)?,
            also_changed,
            commit,
        };
        return Ok(Inserted {
            written,
            as_prepared: false,
        });
    }
    // The rows as stored, built here rather than read back.
    let rows = ids
        .iter()
        .zip(std::mem::take(encoded))
        .map(|(id, e)| RecordRow {
            id: *id,
            sheet_seq: ctx.sheet.seq,
            vals: e.vals,
            raw: e.raw,
            messages: e.messages,
            valid: e.valid,
            error_fields: e.error_fields,
            metadata: None,
            version: 1,
            custom: None,
            config: None,
        })
        .collect();
    let written = Written {
        rows,
        also_changed,
        commit,
    };
    Ok(Inserted { written, as_prepared })
}

/// Frees a big batch on a thread of its own: freeing thousands of checked records took a
/// tenth of the writing thread's time in a load, which the other stages of the load wait on.
pub fn drop_elsewhere<T: Send + 'static>(batch: Vec<T>) {
    if batch.len() >= 1000 {
        std::thread::spawn(move || drop(batch));
    }
}

/// How each field's values in a batch read those that read two ways: the order of day and
/// month its dates show, decimal commas its numbers show (empty: no date or number field).
fn readings(ctx: &SheetContext, inputs: &[Vec<Value>]) -> Vec<Reading> {
    let fields = &ctx.config.fields;
    let told =
        |f: &crate::blueprint::Field| matches!(f.field_type, FieldType::Date | FieldType::Number { .. });
    if !fields.iter().any(told) {
        return Vec::new();
    }
    let column = |i: usize| inputs.iter().filter_map(move |r| r.get(i));
    let mut readings: Vec<Reading> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| match f.field_type {
            FieldType::Date => Reading::Dates(crate::validate::date_order_of(column(i))),
            FieldType::Number { .. } if crate::validate::decimal_commas_in(column(i)) => {
                Reading::DecimalCommas
            }
            _ => Reading::Alone,
        })
        .collect();
    crate::validate::with_commas_elsewhere(fields, &mut readings, |i| {
        column(i).any(|v| {
            v.as_str()
                .is_some_and(|s| crate::validate::decimal_point(s.trim()))
        })
    });
    readings
}

/// Checking and encoding are pure CPU work: large batches are split across the cores.
/// The dates and numbers of a field that read two ways read as the batch's own values of
/// that field show (see `validate::Reading`).
fn check_all(
    ctx: &SheetContext,
    mut inputs: Vec<Vec<Value>>,
    readings: &[Reading],
) -> Vec<(Checked, Encoded)> {
    let one = |values: Vec<Value>| {
        let checked = check_values_read(&ctx.config, values, readings);
        let encoded = encode(&checked);
        (checked, encoded)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if inputs.len() < 2000 || threads < 2 {
        return inputs.into_iter().map(one).collect();
    }
    let per = inputs.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    while inputs.len() > per {
        let rest = inputs.split_off(per);
        parts.push(std::mem::replace(&mut inputs, rest));
    }
    parts.push(inputs);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(|| part.into_iter().map(one).collect::<Vec<_>>()))
            .collect();
        // A panic in validation is a bug; surface it rather than lose records.
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("validation thread panicked"))
            .collect()
    })
}

fn insert_rows(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    checked: &[Checked],
    encoded: &[Encoded],
) -> QueryResult<Vec<i64>> {
    let kept = sort_keys::kept(conn, ctx.sheet.seq)?;
    match conn {
        AnyConnection::Sqlite(c) => sqlite_insert_rows(c, ctx.sheet.seq, kept.then_some(checked), encoded),
        AnyConnection::Postgres(c) => copy_rows(c, ctx.sheet.seq, encoded),
    }
}

/// SQLite: cached prepared statements of [`ROWS_PER_STATEMENT`] rows each, then one per
/// row for the rest (re-parsing a statement with thousands of parameters for every chunk
/// was slower), without `RETURNING`, which more than doubled each row's cost (measured: 4.6
/// against 2.1 us a row). Inside the write transaction the ids are consecutive, and the
/// first and last row's ids prove it.
fn sqlite_insert_rows(
    c: &mut diesel::SqliteConnection,
    sheet_seq: i64,
    keyed: Option<&[Checked]>,
    encoded: &[Encoded],
) -> QueryResult<Vec<i64>> {
    // With the sort keys when the sheet keeps them (`sort_keys::kept`).
    let first = match keyed {
        Some(checked) => {
            insert_in_statements::<true>(c, sheet_seq, encoded, |k| sort_keys::keys(&checked[k].vals))?
        }
        None => {
            insert_in_statements::<false>(c, sheet_seq, encoded, |_| [const { Key::Null }; sort_keys::KEYED])?
        }
    };
    let Some(first) = first else { return Ok(Vec::new()) };
    let last = last_id(c)?;
    let n = encoded.len() as i64;
    // Ids only grow (AUTOINCREMENT); n of them spanning exactly n values are consecutive.
    if last - first + 1 != n {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("record ids {first}..{last} are not the {n} consecutive ids expected").into(),
        ));
    }
    Ok((first..=last).collect())
}

/// Rows in one of SQLite's insert statements: 6 values a row, 22 with sort keys, so at most
/// 704 parameters.
const ROWS_PER_STATEMENT: usize = 32;

/// Inserts the rows, `ROWS_PER_STATEMENT` at a time and then one by one; the first row's id.
fn insert_in_statements<'a, const KEYS: bool>(
    c: &mut diesel::SqliteConnection,
    sheet_seq: i64,
    encoded: &'a [Encoded],
    keys: impl Fn(usize) -> [Key<'a>; sort_keys::KEYED],
) -> QueryResult<Option<i64>> {
    let mut first = None;
    let mut note_first = |c: &mut diesel::SqliteConnection, rows: usize| -> QueryResult<()> {
        if first.is_none() {
            first = Some(last_id(c)? - rows as i64 + 1);
        }
        Ok(())
    };
    let whole = encoded.len() / ROWS_PER_STATEMENT * ROWS_PER_STATEMENT;
    for start in (0..whole).step_by(ROWS_PER_STATEMENT) {
        let rows: [InsertRow<KEYS>; ROWS_PER_STATEMENT] =
            std::array::from_fn(|k| row_of::<KEYS>(sheet_seq, &encoded[start + k], keys(start + k)));
        sort_keys::InsertRows(&rows).execute(c)?;
        note_first(c, ROWS_PER_STATEMENT)?;
    }
    for (k, e) in encoded.iter().enumerate().skip(whole) {
        row_of::<KEYS>(sheet_seq, e, keys(k)).execute(c)?;
        note_first(c, 1)?;
    }
    Ok(first)
}

fn last_id(c: &mut diesel::SqliteConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "last_insert_rowid()",
    ))
    .get_result::<i64>(c)
}

fn row_of<'a, const KEYS: bool>(
    sheet_seq: i64,
    e: &'a Encoded,
    keys: [Key<'a>; sort_keys::KEYED],
) -> InsertRow<'a, KEYS> {
    InsertRow {
        sheet_seq,
        vals: &e.vals,
        raw: e.raw.as_deref(),
        messages: e.messages.as_deref(),
        valid: e.valid,
        error_fields: e.error_fields.as_deref(),
        keys,
    }
}

#[derive(Insertable)]
#[diesel(table_name = records, treat_none_as_default_value = false)]
struct CopiedRecord<'a> {
    id: i64,
    sheet_seq: i64,
    vals: &'a str,
    raw: Option<&'a str>,
    messages: Option<&'a str>,
    valid: bool,
    error_fields: Option<&'a str>,
}

#[derive(QueryableByName)]
struct NextId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// PostgreSQL: ids drawn from the records sequence in one query, then the rows in one
/// binary `COPY`, the database's own bulk loader.
fn copy_rows(c: &mut diesel::PgConnection, sheet_seq: i64, encoded: &[Encoded]) -> QueryResult<Vec<i64>> {
    let ids: Vec<i64> =
        diesel::sql_query("SELECT nextval('records_id_seq') AS id FROM generate_series(1, $1)")
            .bind::<diesel::sql_types::BigInt, _>(encoded.len() as i64)
            .load::<NextId>(c)?
            .into_iter()
            .map(|r| r.id)
            .collect();
    let rows: Vec<CopiedRecord> = ids
        .iter()
        .zip(encoded)
        .map(|(id, e)| CopiedRecord {
            id: *id,
            sheet_seq,
            vals: &e.vals,
            raw: e.raw.as_deref(),
            messages: e.messages.as_deref(),
            valid: e.valid,
            error_fields: e.error_fields.as_deref(),
        })
        .collect();
    diesel::copy_from(records::table)
        .from_insertable(&rows)
        .execute(c)?;
    Ok(ids)
}
