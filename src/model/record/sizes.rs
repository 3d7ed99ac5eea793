//! How many bytes records hold, read from the database without reading them, so a reader
//! of many records (a download) takes as many at once as fit a budget. Sizing a batch by
//! the one before let 16 small records be followed by 150 of 2 MiB in one read, 1.28 GB
//! (probe 65f D1).

use crate::db::schema::records;
use crate::db::AnyConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use std::collections::HashMap;

/// Every stored text of a record, by its length in bytes (`octet_length` reads it from
/// the row's header on SQLite, and from the TOAST pointer on PostgreSQL).
const SIZE: &str = "CAST(COALESCE(octet_length(vals), 0) + COALESCE(octet_length(raw), 0) \
     + COALESCE(octet_length(messages), 0) + COALESCE(octet_length(metadata), 0) \
     + COALESCE(octet_length(custom), 0) + COALESCE(octet_length(config), 0) AS BIGINT)";

/// The records after `after_id` in id order, at most `limit`, as many as hold `budget`
/// bytes (one at least).
pub fn fitting_after(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    after_id: i64,
    limit: i64,
    budget: usize,
) -> QueryResult<Vec<i64>> {
    let sizes: Vec<(i64, i64)> = crate::db::in_key_order(conn, |conn| {
        records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.gt(after_id))
            .order(records::id.asc())
            .limit(limit)
            .select((records::id, sql::<BigInt>(SIZE)))
            .load(conn)
    })?;
    let ids: Vec<i64> = sizes.iter().map(|s| s.0).collect();
    let size: HashMap<i64, i64> = sizes.into_iter().collect();
    Ok(ids[..fitting(&ids, &size, budget)].to_vec())
}

/// How many of `ids`, from the first, hold `budget` bytes (one at least; a record gone
/// holds none).
pub fn fitting_of(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    ids: &[i64],
    budget: usize,
) -> QueryResult<usize> {
    let mut size = HashMap::new();
    for chunk in ids.chunks(2000) {
        let sizes: Vec<(i64, i64)> = records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.eq_any(chunk))
            .select((records::id, sql::<BigInt>(SIZE)))
            .load(conn)?;
        size.extend(sizes);
    }
    Ok(fitting(ids, &size, budget))
}

fn fitting(ids: &[i64], size: &HashMap<i64, i64>, budget: usize) -> usize {
    let mut total = 0usize;
    let fit = ids
        .iter()
        .take_while(|id| {
            total += size.get(id).copied().unwrap_or(0).max(0) as usize;
            total <= budget
        })
        .count();
    fit.max(1).min(ids.len())
}

#[cfg(test)]
mod tests {
    use super::fitting;
    use std::collections::HashMap;

    #[test]
    fn as_many_as_hold_the_budget_and_one_at_least() {
        let size = HashMap::from([(1, 10), (2, 10), (3, 100), (4, 1)]);
        assert_eq!(fitting(&[1, 2, 3, 4], &size, 25), 2);
        assert_eq!(
            fitting(&[3, 4], &size, 25),
            1,
            "one bigger than the budget comes alone"
        );
        assert_eq!(fitting(&[9, 1], &size, 5), 1, "a record gone holds nothing");
        assert_eq!(fitting(&[], &size, 5), 0);
    }
}
