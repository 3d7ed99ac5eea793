//! The pass a mapping makes over its source before its first batch: how the destination's
//! date and number fields read values that read two ways (`01/02/2024`, `1,234`), by all
//! the rows to map, so every batch reads them alike.

use super::map::stored_dates;
use super::{plan, JobError};
use crate::db::AnyConnection;
use crate::model::record;
use crate::model::sheet::SheetContext;
use crate::validate::{Evidence, Reading};

/// How the destination's date and number fields read the values that read two ways, by
/// what all the source's records up to `upto` say (an empty list: no such field mapped).
/// Dates and numbers are mapped as they are, so the source's column is what the field gets.
/// A big source is read in parts at once, one per core, each on a connection of its own
/// (the job waits for this before its first batch).
pub(super) fn import_readings(
    conn: &mut AnyConnection,
    pool: &crate::db::Pool,
    sheets: &plan::Sheets,
    upto: i64,
    resolved: &plan::Resolved,
    dest: &SheetContext,
) -> Result<Vec<Reading>, JobError> {
    use crate::blueprint::FieldType;
    let fields = &dest.config.fields;
    // A date field whose order the person chose needs no evidence.
    let read: Vec<(usize, usize)> = (0..fields.len())
        .filter(|&di| match fields[di].field_type {
            FieldType::Date => resolved.date_orders[di].is_none(),
            FieldType::Number { .. } => true,
            _ => false,
        })
        .filter_map(|di| resolved.columns.get(di).copied().flatten().map(|si| (di, si)))
        .collect();
    let chosen = |readings: Vec<Reading>| -> Vec<Reading> {
        readings
            .into_iter()
            .zip(&resolved.date_orders)
            .map(|(r, order)| order.map_or(r, Reading::Dates))
            .collect()
    };
    if read.is_empty() {
        return Ok(match resolved.date_orders.iter().any(Option::is_some) {
            true => chosen(vec![Reading::Alone; fields.len()]),
            false => Vec::new(),
        });
    }
    let parts = id_parts(record::first_id(conn, sheets.source.seq)? - 1, upto);
    let mut evidence = vec![Evidence::default(); fields.len()];
    let (here, elsewhere) = parts.split_first().expect("one part at least");
    let read = &read;
    std::thread::scope(|scope| -> Result<(), JobError> {
        // A part without a free connection is read here, after this thread's own.
        let mut later = Vec::new();
        let mut running = Vec::new();
        for &part in elsewhere {
            match pool.try_get() {
                Some(mut other) => {
                    running.push(scope.spawn(move || evidence_in(&mut other, sheets, part, read)))
                }
                None => later.push(part),
            }
        }
        for part in std::iter::once(*here).chain(later) {
            merge(&mut evidence, evidence_in(conn, sheets, part, read)?);
        }
        for part in running {
            let found = part.join().map_err(|_| {
                JobError::Internal(anyhow::anyhow!("reading the source's dates and numbers panicked"))
            })?;
            merge(&mut evidence, found?);
        }
        Ok(())
    })?;
    let mut readings: Vec<Reading> = fields
        .iter()
        .zip(&evidence)
        .map(|(f, e)| e.reading(&f.field_type))
        .collect();
    crate::validate::with_commas_elsewhere(fields, &mut readings, |i| evidence[i].writes_points());
    Ok(chosen(readings))
}

/// Records per part below which the readings pass is not split (a part of 2,000 reads in
/// a few milliseconds; thread and connection cost less).
const PART_AT_LEAST: i64 = 2_000;

/// The id range `(after, upto]` cut into up to one part per core.
fn id_parts(after: i64, upto: i64) -> Vec<(i64, i64)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4) as i64;
    let count = ((upto - after) / PART_AT_LEAST).clamp(1, cores);
    let step = (upto - after).max(0) / count;
    (0..count)
        .map(|k| {
            let lo = after + k * step;
            (lo, if k == count - 1 { upto } else { lo + step })
        })
        .collect()
}

fn merge(into: &mut [Evidence], part: Vec<Evidence>) {
    for (e, p) in into.iter_mut().zip(&part) {
        e.merge(p);
    }
}

/// What the source's records in `(after, upto]` say of the columns `read` (destination
/// index, source column), by destination index.
fn evidence_in(
    conn: &mut AnyConnection,
    sheets: &plan::Sheets,
    (mut after, upto): (i64, i64),
    read: &[(usize, usize)],
) -> Result<Vec<Evidence>, JobError> {
    let (source_seq, stored) = (sheets.source.seq, stored_dates(sheets));
    let width = read.iter().map(|(di, _)| di + 1).max().unwrap_or(0);
    let mut evidence = vec![Evidence::default(); width];
    let columns: Vec<usize> = read.iter().map(|(_, si)| *si).collect();
    loop {
        let (rows, last) =
            record::column_inputs_after(conn, source_seq, (after, upto), 5_000, &columns, &stored)?;
        let Some(last) = last else { break };
        after = last;
        for inputs in &rows {
            for (k, &(di, _)) in read.iter().enumerate() {
                evidence[di].add(&inputs[k]);
            }
        }
    }
    Ok(evidence)
}

#[cfg(test)]
mod tests {
    use super::id_parts;

    #[test]
    fn parts_cover_every_id_once() {
        for (after, upto) in [
            (0, 1),
            (0, 1_999),
            (9, 100_000),
            (-1, 6_000),
            (5, 3),
            (0, 1_000_003),
        ] {
            let parts = id_parts(after, upto);
            assert!(!parts.is_empty());
            assert_eq!(parts[0].0, after);
            assert_eq!(parts.last().unwrap().1, upto);
            assert!(
                parts.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1),
                "{parts:?}"
            );
        }
    }
}
