//! The distinct values of one field with how many records hold each (`sheets.getCellValues`),
//! over the records a query selects. The records are read once, in id order, a batch at a
//! time; the selection's other parts (status, errors in a field, search, ids) are checked
//! on each record as it passes, so any selection costs one pass.

use super::{after_matching, Filter, RecordQuery, RecordRow};
use crate::db::sqlite_functions::{cells_contain, fold};
use crate::db::AnyConnection;
use diesel::QueryResult;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Records read per query.
const BATCH: i64 = 10_000;

/// One value of a field (as stored JSON) and its records: how many, how many in error there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: String,
    pub total: i64,
    pub errors: i64,
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
    let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
    each_selected(conn, sheet_seq, q, |row| {
        let vals: Vec<&RawValue> = serde_json::from_str(&row.vals).unwrap_or_default();
        let value = vals.get(field).map_or("null", |v| v.get()).to_string();
        let in_error = row.error_fields.as_deref().is_some_and(|e| e.contains(&marker));
        let entry = counts.entry(value).or_default();
        entry.0 += 1;
        entry.1 += i64::from(in_error);
        true
    })?;
    let mut out: Vec<ValueCount> = counts
        .into_iter()
        .map(|(value, (total, errors))| ValueCount { value, total, errors })
        .collect();
    out.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.value.cmp(&b.value)));
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
    let folded = q.search_value.as_deref().map(fold);
    let only: Option<std::collections::HashSet<i64>> =
        q.ids.as_ref().map(|ids| ids.iter().copied().collect());
    let field_marker = q.filter_field.map(|f| format!(",{f},"));
    let mut after = 0;
    loop {
        let rows = after_matching(conn, sheet_seq, after, BATCH, q.ffql.as_ref())?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            let selected = match q.filter {
                Filter::All => true,
                Filter::Valid => row.valid,
                Filter::Error => !row.valid,
            } && field_marker
                .as_deref()
                .is_none_or(|m| row.error_fields.as_deref().is_some_and(|e| e.contains(m)))
                && only.as_ref().is_none_or(|ids| ids.contains(&row.id))
                && folded
                    .as_deref()
                    .is_none_or(|term| cells_contain(&row.vals, q.search_field, term));
            if selected && !f(row) {
                return Ok(());
            }
        }
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    Ok(())
}
