//! An extraction's rows read into batches for the writer: bounded in rows and in bytes,
//! rejected rows handed on as they come, their long values shortened.

use super::BATCH;
use crate::extract::{self, Reject};
use serde_json::Value;

/// Rejects handed over at once: a file of rejects streams to storage instead of piling up
/// until the next batch of good rows.
const REJECTS_AT_ONCE: usize = 256;

/// Most text of a batch of rows: a few batches are in hand at once (read, checked,
/// written), so rows of long values make smaller batches rather than gigabytes in memory.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Reads a table's rows into batches of [`BATCH`] records, fewer when they hold more than
/// [`BATCH_BYTES`] of text (with the rejects met on the way, at most [`REJECTS_AT_ONCE`] of
/// them), and hands them over; stops when the writer hangs up.
pub(super) fn read_batches(
    (rows, table, notes): (extract::RowIter, &str, &extract::Notes),
    tx: std::sync::mpsc::SyncSender<(Vec<Vec<Value>>, Vec<Reject>)>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let (mut rejects, mut bytes) = (Vec::new(), 0usize);
    let mut last = None;
    for item in rows {
        match item {
            Ok(row) => {
                last = total_row(&row);
                bytes += row.values.iter().map(String::len).sum::<usize>();
                batch.push(row.values.into_iter().map(Value::String).collect());
            }
            Err(mut rej) => {
                // A rejected row is shown, not stored: its values are kept up to the first
                // few thousand characters each (probe 53b: rows of megabytes, held 256 at a
                // time, took a server past 2 GB).
                for v in &mut rej.values {
                    shorten(v);
                }
                bytes += rej.values.iter().map(String::len).sum::<usize>();
                rejects.push(rej);
            }
        }
        if (batch.len() >= BATCH || bytes >= BATCH_BYTES || rejects.len() >= REJECTS_AT_ONCE)
            && tx
                .send((
                    std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                    std::mem::take(&mut rejects),
                ))
                .is_err()
        {
            return;
        }
        if batch.is_empty() && rejects.is_empty() {
            bytes = 0;
        }
    }
    if let Some((line, word)) = last {
        notes.add(format!(
            "the last row of {table} (line {line}) starts with “{word}” and was kept as a record; if it adds up the rows above, delete it"
        ));
    }
    let _ = tx.send((batch, rejects));
}

/// Words a summary row under a table starts with, in the languages spreadsheets come in.
const TOTAL_WORDS: [&str; 10] = [
    "total",
    "totals",
    "grand total",
    "sum",
    "subtotal",
    "gesamt",
    "summe",
    "totaal",
    "totale",
    "somme",
];

/// A row that looks like a total under the table (its first value a word for one, and a
/// number beside it): its line and that word, as written.
fn total_row(row: &extract::Row) -> Option<(u64, String)> {
    // Run on every row read: the cheap test first, the numbers only for a total's word.
    let first = row.values.iter().map(|v| v.trim()).find(|v| !v.is_empty())?;
    let word = first.trim_end_matches(':');
    if !TOTAL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        return None;
    }
    let numbers = row
        .values
        .iter()
        .any(|v| crate::validate::parse_number(v.trim()).is_some());
    numbers.then(|| (row.line, first.to_string()))
}

/// Most characters of each value a rejected row keeps.
const REJECT_VALUE_CHARS: usize = 4096;

/// Cuts a rejected row's value to [`REJECT_VALUE_CHARS`] characters, saying so.
fn shorten(value: &mut String) {
    if let Some((at, _)) = value.char_indices().nth(REJECT_VALUE_CHARS) {
        let whole = value.len();
        value.truncate(at);
        value.push_str(&format!("… ({whole} bytes in all)"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_long_values_make_smaller_batches() {
        let rows = (0..100u64).map(|line| {
            Ok(extract::Row {
                line,
                values: vec!["v".repeat(1024 * 1024)],
            })
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let reader = std::thread::spawn(move || {
            read_batches((Box::new(rows), "t", &crate::extract::Notes::default()), tx)
        });
        let sizes: Vec<usize> = rx.iter().map(|(rows, _)| rows.len()).collect();
        reader.join().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        assert!(sizes.iter().all(|n| *n <= 16), "{sizes:?}");
    }

    #[test]
    fn rejected_rows_keep_the_start_of_long_values() {
        let rejects = (0..300u64).map(|line| {
            Err(Reject {
                line,
                message: "too wide".into(),
                values: vec!["w".repeat(1024 * 1024), "short".into()],
            })
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let reader = std::thread::spawn(move || {
            read_batches((Box::new(rejects), "t", &crate::extract::Notes::default()), tx)
        });
        let handed: Vec<Vec<Reject>> = rx.iter().map(|(_, rejects)| rejects).collect();
        reader.join().unwrap();
        let all: Vec<&Reject> = handed.iter().flatten().collect();
        assert_eq!(all.len(), 300);
        assert!(all[0].values[0].starts_with(&"w".repeat(4096)));
        assert!(
            all[0].values[0].ends_with("(1048576 bytes in all)"),
            "{}",
            &all[0].values[0][4090..]
        );
        assert_eq!(all[0].values[1], "short");
    }

    #[test]
    fn rejects_are_handed_over_as_they_come_not_held_for_good_rows() {
        let rejects = (0..1000u64).map(|line| {
            Err(Reject {
                line,
                message: "bad".into(),
                values: vec!["x".repeat(100)],
            })
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let reader = std::thread::spawn(move || {
            read_batches((Box::new(rejects), "t", &crate::extract::Notes::default()), tx)
        });
        let handed: Vec<usize> = rx.iter().map(|(_, rejects)| rejects.len()).collect();
        reader.join().unwrap();
        assert_eq!(handed.iter().sum::<usize>(), 1000);
        assert!(handed.iter().all(|n| *n <= REJECTS_AT_ONCE), "{handed:?}");
    }
}
