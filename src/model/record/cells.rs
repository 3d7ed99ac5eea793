//! The records a selection picks (`filter`, `filterField`, `searchValue`, `ids`, `q`) for
//! passes over a sheet: bulk changes, deletes, Submit, and the distinct values of one field
//! with how many records hold each (`sheets.getCellValues`). Every part of the selection is
//! SQL, so a pass reads only the records it picks, in id order, a batch at a time.

use super::ffql_sql::Condition;
use super::sort_index::Cells;
use super::{search, Filter, RecordQuery, RecordRow};
use crate::db::schema::records;
use crate::db::{backend_of, AnyConnection, Backend, MultiBackend};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Records read per query.
const BATCH: i64 = 10_000;

/// One value of a field (as stored JSON) and its records: how many, how many in error there,
/// and the messages the first of those in error carries in that field (Wharf's and listener
/// code's: a duplicate, an unlinked reference, a hook's rule).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueCount {
    pub value: String,
    pub total: i64,
    pub errors: i64,
    pub messages: Vec<crate::validate::Message>,
}

/// The distinct values of field `field` over the records `q` selects, most held first
/// (ties by value). Paging and sorting are the caller's.
pub fn distinct(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    field: usize,
    q: &RecordQuery,
) -> QueryResult<Vec<ValueCount>> {
    let marker = format!(",{field},");
    // By value: (total, errors, the first error's messages).
    let mut counts: HashMap<String, (i64, i64, Vec<crate::validate::Message>)> = HashMap::new();
    each_selected(conn, sheet_seq, q, |row| {
        let vals: Vec<&RawValue> = serde_json::from_str(&row.vals).unwrap_or_default();
        let value = vals.get(field).map_or("null", |v| v.get()).to_string();
        let in_error = row.error_fields.as_deref().is_some_and(|e| e.contains(&marker));
        let entry = counts.entry(value).or_default();
        entry.0 += 1;
        if in_error {
            entry.1 += 1;
            if entry.2.is_empty() {
                entry.2 = row.sparse().1.remove(&field).unwrap_or_default();
            }
        }
        true
    })?;
    let mut out: Vec<ValueCount> = counts
        .into_iter()
        .map(|(value, (total, errors, messages))| ValueCount {
            value,
            total,
            errors,
            messages,
        })
        .collect();
    out.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.value.cmp(&b.value)));
    Ok(out)
}

/// The value of field `field` in each record `q` selects, in id order, as a count of one
/// (`getCellValues` with `distinct=false`): the records from `skip` on, at most `take`, or
/// every one when `take` is `None`.
pub fn each_value(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    field: usize,
    q: &RecordQuery,
    skip: usize,
    take: Option<usize>,
) -> QueryResult<Vec<ValueCount>> {
    let marker = format!(",{field},");
    let (mut seen, mut out) = (0usize, Vec::new());
    each_selected(conn, sheet_seq, q, |row| {
        seen += 1;
        if seen <= skip {
            return true;
        }
        let vals: Vec<&RawValue> = serde_json::from_str(&row.vals).unwrap_or_default();
        let in_error = row.error_fields.as_deref().is_some_and(|e| e.contains(&marker));
        out.push(ValueCount {
            value: vals.get(field).map_or("null", |v| v.get()).to_string(),
            total: 1,
            errors: i64::from(in_error),
            messages: row.sparse().1.remove(&field).unwrap_or_default(),
        });
        take.is_none_or(|n| out.len() < n)
    })?;
    Ok(out)
}

/// Calls `f` with each record `q` selects (status, errors in a field, search, ids, FFQL),
/// in id order, until it answers `false`. Paging and sorting of `q` are not used.
pub fn each_selected(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    q: &RecordQuery,
    mut f: impl FnMut(&RecordRow) -> bool,
) -> QueryResult<()> {
    let backend = backend_of(conn);
    for ids in id_chunks(q) {
        let mut after = 0;
        loop {
            let rows: Vec<RecordRow> = selection(backend, sheet_seq, q, ids.as_deref(), None)
                .filter(records::id.gt(after))
                .order(records::id.asc())
                .limit(BATCH)
                .select(RecordRow::as_select())
                .load(conn)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in &rows {
                if !f(row) {
                    return Ok(());
                }
            }
            if (rows.len() as i64) < BATCH {
                break;
            }
        }
    }
    Ok(())
}

/// The ids of the records `q` selects that also meet `extra`, in id order; at most `limit`.
/// One narrow read: a bulk change or a delete of a million records reads no record whole
/// to find them.
pub fn selected_ids(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    q: &RecordQuery,
    extra: Option<&Condition>,
    limit: Option<i64>,
) -> QueryResult<Vec<i64>> {
    let backend = backend_of(conn);
    let mut out = Vec::new();
    for ids in id_chunks(q) {
        let mut stmt = selection(backend, sheet_seq, q, ids.as_deref(), extra)
            .select(records::id)
            .order(records::id.asc());
        if let Some(limit) = limit {
            stmt = stmt.limit(limit - out.len() as i64);
        }
        out.extend(stmt.load::<i64>(conn)?);
        if limit.is_some_and(|l| out.len() as i64 >= l) {
            break;
        }
    }
    Ok(out)
}

/// The ids of the records `q` selects in the order of its sort (`sortField`, then id, as a
/// sorted page orders them), or in id order without one. With a sort the ids it names are
/// read in one statement, as a sorted page reads them (a query string holds a few thousand).
pub fn sorted_ids(
    conn: &mut AnyConnection,
    cells: Cells,
    sheet_seq: i64,
    q: &RecordQuery,
) -> QueryResult<Vec<i64>> {
    let Some((field, descending)) = q.sort else {
        return selected_ids(conn, sheet_seq, q, None, None);
    };
    selection(cells.backend, sheet_seq, q, distinct_ids(q).as_deref(), None)
        .select(records::id)
        .order(sql::<Text>(&cells.order_by(field, descending)))
        .load(conn)
}

/// How many records `q` selects.
pub fn count_selected(conn: &mut AnyConnection, sheet_seq: i64, q: &RecordQuery) -> QueryResult<i64> {
    let backend = backend_of(conn);
    let mut total = 0;
    for ids in id_chunks(q) {
        total += selection(backend, sheet_seq, q, ids.as_deref(), None)
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(total)
}

/// The counts (total, valid, in error, by field) of the records `q` selects.
pub fn selection_counts(
    conn: &mut AnyConnection,
    ctx: &crate::model::sheet::SheetContext,
    q: &RecordQuery,
) -> QueryResult<crate::model::sheet::Counts> {
    let backend = backend_of(conn);
    // One narrow column read (the selection is a boxed query, which cannot be grouped).
    let mut groups: HashMap<Option<String>, i64> = HashMap::new();
    for ids in id_chunks(q) {
        let errors: Vec<Option<String>> = selection(backend, ctx.sheet.seq, q, ids.as_deref(), None)
            .select(records::error_fields)
            .load(conn)?;
        for e in errors {
            *groups.entry(e).or_insert(0) += 1;
        }
    }
    Ok(super::query::fold_counts(ctx, groups.into_iter().collect()))
}

/// For each field, how many of the records `q` selects hold nothing there (`null` or
/// empty text; a record stored before a field was added holds nothing in it).
pub fn empties_by_field(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    fields: usize,
    q: &RecordQuery,
) -> QueryResult<Vec<i64>> {
    let mut empty = vec![0i64; fields];
    each_selected(conn, sheet_seq, q, |row| {
        let vals: Vec<&RawValue> = serde_json::from_str(&row.vals).unwrap_or_default();
        for (i, count) in empty.iter_mut().enumerate() {
            if vals.get(i).is_none_or(|v| matches!(v.get(), "null" | "\"\"")) {
                *count += 1;
            }
        }
        true
    })?;
    Ok(empty)
}

/// Ids named in one statement at most (bound parameters have a limit).
const IDS_PER_READ: usize = 1_000;

/// The selection's ids in sorted parts of [`IDS_PER_READ`], or one pass over the sheet
/// when it names none.
fn id_chunks(q: &RecordQuery) -> Vec<Option<Vec<i64>>> {
    let Some(ids) = distinct_ids(q) else {
        return vec![None];
    };
    ids.chunks(IDS_PER_READ).map(|c| Some(c.to_vec())).collect()
}

/// The ids the selection names, sorted, each once.
fn distinct_ids(q: &RecordQuery) -> Option<Vec<i64>> {
    let mut ids = q.ids.clone()?;
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

/// The sheet's records (`seq` written literally, an integer from the database, so the
/// planner can use the sheet's partial indexes) with the status `q` asks for: valid, in
/// error, in error in one field; without those `q` leaves out.
pub(super) fn of_sheet_with_status(
    backend: Backend,
    seq: i64,
    q: &RecordQuery,
) -> records::BoxedQuery<'static, MultiBackend> {
    let mut stmt = records::table
        .filter(sql::<Bool>(&format!("sheet_seq = {seq}")))
        .into_boxed();
    if let Some(except) = &q.except {
        // One bound list, however long (SQLite binds at most 32,766 values).
        let list = serde_json::to_string(except).unwrap_or_default();
        let not_in = match backend {
            Backend::Sqlite => "id NOT IN (SELECT value FROM json_each(",
            Backend::Postgres => "id NOT IN (SELECT value::bigint FROM jsonb_array_elements_text(CAST(",
        };
        let close = match backend {
            Backend::Sqlite => "))",
            Backend::Postgres => " AS jsonb)))",
        };
        stmt = stmt.filter(sql::<Bool>(not_in).bind::<Text, _>(list).sql(close));
    }
    let stmt = match q.filter {
        Filter::All => stmt,
        Filter::Valid => stmt.filter(records::valid.eq(true)),
        // Literal, not a bound parameter, so the partial index of invalid records serves it.
        Filter::Error => stmt.filter(sql::<Bool>("NOT valid")),
    };
    match q.filter_field {
        // Valid in the field: valid, or in error elsewhere only.
        Some(field) if q.field_valid => stmt.filter(
            sql::<Bool>("(valid OR error_fields IS NULL OR error_fields NOT LIKE ")
                .bind::<Text, _>(format!("%,{field},%"))
                .sql(")"),
        ),
        // A record with an error in a field is invalid: the partial index of invalid
        // records narrows before the field is looked at.
        Some(field) => stmt
            .filter(sql::<Bool>("NOT valid"))
            .filter(records::error_fields.like(format!("%,{field},%"))),
        None => stmt,
    }
}

/// Every part of `q`'s selection as SQL on the sheet's records: status, errors in a field,
/// `ids` (one part of `q.ids`), search and FFQL, and `extra`. FFQL ranges are read in id
/// order rather than from a field's sort index, as a pass walks the sheet in id order.
fn selection(
    backend: Backend,
    seq: i64,
    q: &RecordQuery,
    ids: Option<&[i64]>,
    extra: Option<&Condition>,
) -> records::BoxedQuery<'static, MultiBackend> {
    let mut stmt = of_sheet_with_status(backend, seq, q);
    if let Some(ids) = ids {
        stmt = stmt.filter(records::id.eq_any(ids.to_vec()));
    }
    if let Some(node) = &q.ffql {
        stmt = stmt.filter(Condition::scanning(Cells::from_values(backend), node));
    }
    if let Some(term) = q.search_value.as_deref().filter(|t| !t.is_empty()) {
        let term = search::Term::new(term);
        if let Some(pattern) = term.prefilter {
            stmt = stmt.filter(
                sql::<Bool>(search::prefilter_condition(backend))
                    .bind::<Text, _>(pattern)
                    .sql(" ESCAPE '\\'"),
            );
        }
        let (before, after) = search::exact_condition(backend, q.search_field);
        stmt = stmt.filter(sql::<Bool>(&before).bind::<Text, _>(term.folded).sql(after));
    }
    if let Some(extra) = extra {
        stmt = stmt.filter(extra.clone());
    }
    stmt
}
