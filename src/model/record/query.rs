//! Reading pages of records. Counts come from the sheet row (kept current on write), never
//! from count(*); the far half of a sheet is read backwards so the last page is as cheap as
//! the first; sorting by a field uses the sheet's sort index once it is built (see
//! `sort_index`).

use super::ffql_sql::{self, Condition};
use super::sort_index::Cells;
use super::{search, search_index, RecordRow};
use crate::db::schema::records;
use crate::db::{backend_of, AnyConnection};
use crate::model::sheet::{Counts, SheetContext};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    Valid,
    Error,
}

#[derive(Debug, Clone, Default)]
pub struct RecordQuery {
    pub filter: Filter,
    /// Only records with an error in this field (index into the sheet's fields); with
    /// `field_valid`, only those without one.
    pub filter_field: Option<usize>,
    /// `filterField` beside `filter=valid`: the records whose field is valid, whatever
    /// their other fields hold.
    pub field_valid: bool,
    pub search_value: Option<String>,
    pub search_field: Option<usize>,
    /// Field index and descending?
    pub sort: Option<(usize, bool)>,
    pub ids: Option<Vec<i64>>,
    /// Records left out of what the rest selects (Flatfile's `ids` beside a filter).
    pub except: Option<Vec<i64>>,
    /// An FFQL query (`q`), resolved against the sheet's fields.
    pub ffql: Option<crate::ffql::Node>,
    pub page_size: i64,
    pub page_number: i64,
    /// One record past the page too, telling whether another follows (the grid's pages):
    /// pages still start every `page_size` records.
    pub peek: bool,
    /// Keyset paging in insertion order (unsorted views): records after or before an id,
    /// or the last page.
    pub cursor: Cursor,
}

impl RecordQuery {
    /// Whether what the caller asked decides what the read costs (a query, a search or a
    /// sort may scan the sheet); a plain page, a filter or ids read along indexes.
    pub fn is_costly(&self) -> bool {
        self.ffql.is_some() || self.search_value.is_some() || self.sort.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cursor {
    #[default]
    None,
    After(i64),
    Before(i64),
    Last,
}

pub fn query(conn: &mut AnyConnection, ctx: &SheetContext, q: &RecordQuery) -> QueryResult<Vec<RecordRow>> {
    let backend = backend_of(conn);
    let cells = Cells::of(backend, &ctx.sheet);
    // A page past the end of what i64 can count is simply past the end.
    let Some(offset) = (q.page_number.max(1) - 1).checked_mul(q.page_size) else {
        return Ok(Vec::new());
    };
    // With no search, the number of matching rows is known from the kept counts.
    let known_total = match (&q.search_value, q.filter_field, &q.ids, &q.ffql) {
        (None, None, None, None) if q.except.is_none() => Some(match q.filter {
            Filter::All => ctx.sheet.total_count,
            Filter::Valid => ctx.sheet.total_count - ctx.sheet.error_count,
            Filter::Error => ctx.sheet.error_count,
        }),
        _ => None,
    };
    let keyset = q.sort.is_none() && q.cursor != Cursor::None;
    let size = q.page_size + i64::from(q.peek);
    let (reverse, offset, limit) = match known_total {
        _ if keyset => (matches!(q.cursor, Cursor::Before(_) | Cursor::Last), 0, size),
        Some(total) if offset >= total => return Ok(vec![]),
        Some(total) if offset > total / 2 => {
            let limit = size.min(total - offset);
            (true, total - offset - limit, limit)
        }
        _ => (false, offset, size),
    };
    let term = q
        .search_value
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(search::Term::new);
    let seq = ctx.sheet.seq;
    let indexed = match term
        .as_ref()
        .and_then(|t| search::index_condition(backend, seq, t))
    {
        Some(c) if search_index::exists(conn, seq)? && search::index_pays(conn, seq, &c.1)? => Some(c),
        _ => None,
    };
    // SQLite's planner serves a range of a field (`age gt 30`) from the field's sort index
    // and then sorts what it finds by id: seconds when the range holds half the sheet. A
    // page in id order is first looked for among the next records without that index; so
    // is a page of an `IN`, which an index serves only when the first records do not.
    let in_list =
        backend == crate::db::Backend::Sqlite && q.ffql.as_ref().is_some_and(ffql_sql::in_list_leads);
    let scan_ranges = backend == crate::db::Backend::Sqlite
        && q.ffql.as_ref().is_some_and(|n| ffql_sql::has_range(n) || in_list)
        && term.is_none()
        && q.sort.is_none()
        && !reverse
        && offset < SCAN_FIRST / 2;
    // PostgreSQL's planner takes the trigram index even for a term on every other record
    // (seconds for a first page); a first page is first looked for among the sheet's first
    // records in order, and the index serves only when they do not fill it.
    let scan_first = scan_ranges
        || (backend == crate::db::Backend::Postgres
            && indexed.is_some()
            && q.sort.is_none()
            && !keyset
            && offset == 0
            && !reverse);
    // A deep page of the sheet in order starts at the id found by walking the narrow
    // (sheet, id) index alone, rather than by skipping whole records (PostgreSQL: 133 ->
    // 48 ms for page 5,000 of 10,000).
    let seek = !keyset
        && q.sort.is_none()
        && term.is_none()
        && q.filter_field.is_none()
        && q.ids.is_none()
        && q.except.is_none()
        && q.ffql.is_none()
        && matches!(q.filter, Filter::All | Filter::Error)
        && offset >= SEEK_FROM;
    let start = seek.then(|| {
        let (cmp, dir) = if reverse { ("<=", "DESC") } else { (">=", "ASC") };
        let errors = if q.filter == Filter::Error {
            " AND NOT valid"
        } else {
            ""
        };
        // Past the end the subquery is NULL and the comparison keeps nothing.
        format!(
            "id {cmp} (SELECT id FROM records WHERE sheet_seq = {seq}{errors} \
             ORDER BY id {dir} LIMIT 1 OFFSET {offset})"
        )
    });
    let offset = if seek { 0 } else { offset };
    for bounded in [true, false] {
        if bounded && !scan_first {
            continue;
        }
        let mut stmt = super::cells::of_sheet_with_status(backend, seq, q);
        if keyset {
            stmt = match q.cursor {
                Cursor::After(id) => stmt.filter(records::id.gt(id)),
                Cursor::Before(id) => stmt.filter(records::id.lt(id)),
                Cursor::None | Cursor::Last => stmt,
            };
        }
        if let Some(ids) = &q.ids {
            stmt = match backend {
                // One bound list: SQLite binds at most 32,766 values, and a commit's records
                // (a record hook's read) may be 50,000.
                crate::db::Backend::Sqlite if ids.len() > 1_000 => stmt.filter(
                    sql::<Bool>("id IN (SELECT value FROM json_each(")
                        .bind::<diesel::sql_types::Text, _>(serde_json::to_string(ids).unwrap_or_default())
                        .sql("))"),
                ),
                _ => stmt.filter(records::id.eq_any(ids.clone())),
            };
        }
        if let Some(node) = &q.ffql {
            stmt = stmt.filter(match bounded {
                true => Condition::scanning(cells, node),
                false => Condition::for_page(cells, node),
            });
        }
        if bounded && scan_ranges {
            let after = match q.cursor {
                Cursor::After(id) if keyset => id,
                _ => 0,
            };
            stmt = stmt.filter(
                sql::<Bool>(&format!(
                    "id <= COALESCE((SELECT id FROM records WHERE sheet_seq = {seq} AND id > "
                ))
                .bind::<diesel::sql_types::BigInt, _>(after)
                .sql(&format!(
                    " ORDER BY id LIMIT 1 OFFSET {SCAN_FIRST}), {})",
                    i64::MAX
                )),
            );
        }
        if let Some(start) = &start {
            stmt = stmt.filter(sql::<Bool>(start));
        }
        if let Some(term) = &term {
            if bounded {
                stmt = stmt.filter(sql::<Bool>(&format!(
                    "id <= COALESCE((SELECT id FROM records WHERE sheet_seq = {seq} \
                     ORDER BY id OFFSET {SCAN_FIRST} LIMIT 1), {})",
                    i64::MAX
                )));
            }
            match (&indexed, bounded) {
                (Some((before, bind, after)), false) => {
                    stmt = stmt.filter(
                        sql::<Bool>(before)
                            .bind::<Text, _>(bind.clone())
                            .sql(after.as_str()),
                    );
                }
                _ => {
                    if let Some(pattern) = &term.prefilter {
                        stmt = stmt.filter(
                            sql::<Bool>(search::prefilter_condition(backend))
                                .bind::<Text, _>(pattern.clone())
                                .sql(" ESCAPE '\\'"),
                        );
                    }
                }
            }
            let (before, after) = search::exact_condition(backend, q.search_field);
            stmt = stmt.filter(
                sql::<Bool>(&before)
                    .bind::<Text, _>(term.folded.clone())
                    .sql(after),
            );
        }
        let descending = q.sort.is_some_and(|(_, d)| d) != reverse;
        stmt = match q.sort {
            Some((i, _)) => stmt.order(sql::<Text>(&cells.order_by(i, descending))),
            // Found by an `IN` on a field's index (see `ffql_sql::in_list_leads`), then sorted.
            None if in_list && !bounded => stmt.order(sql::<diesel::sql_types::BigInt>(if descending {
                "+id DESC"
            } else {
                "+id ASC"
            })),
            None if descending => stmt.order(records::id.desc()),
            None => stmt.order(records::id.asc()),
        };
        // Read row by row, so a page of huge cells stops at its byte budget instead of
        // being held whole (SQLite streams; PostgreSQL's client holds the result once).
        let mut rows = Vec::new();
        let mut bytes = 0;
        let found = stmt
            .select(RecordRow::as_select())
            .limit(limit)
            .offset(offset)
            .load_iter::<RecordRow, diesel::connection::DefaultLoadingMode>(conn)?;
        for row in found {
            let row = row?;
            bytes += row.stored_bytes();
            if bytes > PAGE_BYTES {
                return Err(diesel::result::Error::QueryBuilderError(Box::new(PageTooBig {
                    records: rows.len(),
                })));
            }
            rows.push(row);
        }
        if bounded && (rows.len() as i64) < limit {
            // Not a full page among the first records: the index finds the rest.
            continue;
        }
        if reverse {
            rows.reverse();
        }
        return Ok(rows);
    }
    // The loop's last pass (unbounded) always returns.
    unreachable!("the unbounded pass always returns")
}

/// The most stored text (values, inputs, messages) one page of records may hold: 64 MiB,
/// 64 records of cells as big as a cell may be, thousands of usual ones.
pub const PAGE_BYTES: usize = 64 * 1024 * 1024;

/// A page would hold more than [`PAGE_BYTES`]: the reader asks for fewer records at once.
#[derive(Debug)]
pub struct PageTooBig {
    /// Records that fit before the budget ran out.
    pub records: usize,
}

impl std::fmt::Display for PageTooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this page would hold more than {} MiB of values (its first {} records fit); ask for fewer records at once (`pageSize`)",
            PAGE_BYTES / (1024 * 1024),
            self.records
        )
    }
}

impl std::error::Error for PageTooBig {}

/// From how many records in a page starts from the narrow index (see `seek`).
const SEEK_FROM: i64 = 10_000;

/// Records a page is first looked for among, in id order: a first page of search results
/// (PostgreSQL), a page of a query with a range (SQLite).
const SCAN_FIRST: i64 = 20_000;

/// The counts of the records an FFQL query selects (for `includeCounts` with `q`): one
/// pass, grouped by the fields in error, so the errors by field come with the totals.
pub fn counts(conn: &mut AnyConnection, ctx: &SheetContext, node: &crate::ffql::Node) -> QueryResult<Counts> {
    let backend = backend_of(conn);
    let groups: Vec<(Option<String>, i64)> = records::table
        .filter(sql::<Bool>(&format!("sheet_seq = {}", ctx.sheet.seq)))
        .filter(Condition::for_page(Cells::of(backend, &ctx.sheet), node))
        .group_by(records::error_fields)
        .select((records::error_fields, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(fold_counts(ctx, groups))
}

/// Counts from record totals grouped by their fields in error.
pub(super) fn fold_counts(ctx: &SheetContext, groups: Vec<(Option<String>, i64)>) -> Counts {
    let mut counts = Counts::default();
    for (errors, n) in groups {
        counts.total += n;
        let Some(errors) = errors else {
            counts.valid += n;
            continue;
        };
        counts.error += n;
        for i in errors.split(',').filter_map(|i| i.parse::<usize>().ok()) {
            if let Some(f) = ctx.config.fields.get(i) {
                *counts.errors_by_field.entry(f.key.clone()).or_insert(0) += n;
            }
        }
    }
    counts
}

/// Whether a record is (still) in the sheet.
pub fn exists(conn: &mut AnyConnection, sheet_seq: i64, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.eq(id)),
    ))
    .get_result(conn)
}

/// How many of these records of the sheet have errors (an action's `hasAllValid` on a
/// selection).
pub fn count_invalid(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<i64> {
    let mut n = 0;
    for chunk in ids.chunks(1000) {
        n += records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.eq_any(chunk))
            .filter(records::valid.eq(false))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(n)
}

/// How many records of the sheet in these inclusive id ranges are in error (an import's
/// written records, say).
pub fn count_invalid_in_ranges(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    ranges: &[(i64, i64)],
) -> QueryResult<i64> {
    let mut n = 0;
    for (lo, hi) in ranges {
        n += records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.between(lo, hi))
            .filter(records::valid.eq(false))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(n)
}

/// How many of these ids are records of the sheet (a selection naming others selects
/// only its own).
pub fn count_present(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<i64> {
    let mut n = 0;
    for chunk in ids.chunks(1000) {
        n += records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(n)
}

/// The lowest record id of a sheet (0 when it has none).
pub fn first_id(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<i64> {
    let first: Option<i64> = records::table
        .filter(records::sheet_seq.eq(sheet_seq))
        .select(diesel::dsl::min(records::id))
        .first(conn)?;
    Ok(first.unwrap_or(0))
}

/// The highest record id of a sheet (0 when it has none).
pub fn last_id(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<i64> {
    let last: Option<i64> = records::table
        .filter(records::sheet_seq.eq(sheet_seq))
        .select(diesel::dsl::max(records::id))
        .first(conn)?;
    Ok(last.unwrap_or(0))
}

/// Up to `limit` records after `after_id` up to `upto`, in id order: id, values, kept inputs.
fn stored_after(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    (after_id, upto): (i64, i64),
    limit: i64,
) -> QueryResult<Vec<(i64, String, Option<String>)>> {
    crate::db::in_key_order(conn, |conn| {
        records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.gt(after_id))
            .filter(records::id.le(upto))
            .order(records::id.asc())
            .limit(limit)
            .select((records::id, records::vals, records::raw))
            .load(conn)
    })
}

/// Up to `limit` records after `after_id` up to `upto`, each as its inputs in field order
/// (what was given, where it was kept beside the value), but for the fields `stored`,
/// whose stored values are taken as they are.
pub fn inputs_after(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    (after_id, upto): (i64, i64),
    limit: i64,
    stored: &[usize],
) -> QueryResult<Vec<(i64, Vec<serde_json::Value>)>> {
    let rows = stored_after(conn, sheet_seq, (after_id, upto), limit)?;
    Ok(rows
        .into_iter()
        .map(|(id, vals, raw)| {
            let mut vals: Vec<serde_json::Value> = serde_json::from_str(&vals).unwrap_or_default();
            for (i, input) in super::decode_sparse::<serde_json::Value>(raw.as_deref()) {
                if stored.contains(&i) {
                    continue;
                }
                if vals.len() <= i {
                    vals.resize(i + 1, serde_json::Value::Null);
                }
                vals[i] = input;
            }
            (id, vals)
        })
        .collect())
}

/// [`inputs_after`] of the columns `columns` only, each row's in that order, for a pass
/// over a whole sheet: a record's other cells are skipped over, not read into values
/// (a million records' inputs cost 1.7 s read whole). Also the last id read.
pub fn column_inputs_after(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    (after_id, upto): (i64, i64),
    limit: i64,
    columns: &[usize],
    stored: &[usize],
) -> QueryResult<(Vec<Vec<serde_json::Value>>, Option<i64>)> {
    use serde_json::value::RawValue;
    let rows = stored_after(conn, sheet_seq, (after_id, upto), limit)?;
    let last = rows.last().map(|(id, _, _)| *id);
    let read = rows
        .iter()
        .map(|(_, vals, raw)| {
            let vals: Vec<&RawValue> = serde_json::from_str(vals).unwrap_or_default();
            let raw = super::decode_sparse::<serde_json::Value>(raw.as_deref());
            columns
                .iter()
                .map(|i| match raw.get(i).filter(|_| !stored.contains(i)) {
                    Some(input) => input.clone(),
                    None => vals
                        .get(*i)
                        .and_then(|v| serde_json::from_str(v.get()).ok())
                        .unwrap_or(serde_json::Value::Null),
                })
                .collect()
        })
        .collect();
    Ok((read, last))
}

/// The next `limit` records after `after_id`, in insertion order (for exports).
pub fn after(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<RecordRow>> {
    crate::db::in_key_order(conn, |conn| {
        records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.gt(after_id))
            .order(records::id.asc())
            .limit(limit)
            .select(RecordRow::as_select())
            .load(conn)
    })
}
