//! Delimited text: which delimiter, and a streaming reader of its rows.

use super::{RawRow, Reject};
use std::io::Read;

/// Delimiters tried, in order of preference when two fit equally well.
pub const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Records looked at to choose a delimiter.
const SAMPLE_RECORDS: usize = 50;

/// The delimiter that splits the sample's records most consistently into more than one
/// column; a comma when none does (one column).
pub fn sniff_delimiter(sample: &str) -> u8 {
    let mut best = (b',', 0usize, 0usize); // (delimiter, rows agreeing, columns)
    for d in CANDIDATES {
        let counts = counts_per_record(sample, d as char);
        let mut freq: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for c in counts.iter().filter(|c| **c > 0) {
            *freq.entry(*c).or_insert(0) += 1;
        }
        // The most common count wins; a tie goes to more columns.
        let Some((&count, &agree)) = freq.iter().max_by_key(|(c, n)| (**n, **c)) else {
            continue;
        };
        if (agree, count) > (best.1, best.2) {
            best = (d, agree, count);
        }
    }
    best.0
}

/// How many times `d` occurs outside quotes in each of the first records. A record ends at
/// a line break outside quotes; the last, possibly cut-off record is left out.
fn counts_per_record(sample: &str, d: char) -> Vec<usize> {
    let mut counts = Vec::new();
    let (mut in_quotes, mut count, mut seen) = (false, 0usize, false);
    for c in sample.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => {
                if seen {
                    counts.push(count);
                }
                count = 0;
                seen = false;
                if counts.len() >= SAMPLE_RECORDS {
                    break;
                }
                continue;
            }
            c if c == d && !in_quotes => count += 1,
            _ => {}
        }
        seen = true;
    }
    if counts.is_empty() && seen {
        counts.push(count);
    }
    counts
}

/// Rows of delimited UTF-8 text, each with the line it starts on. Quoted fields may hold
/// delimiters and line breaks; `\n`, `\r\n` and `\r` all end a row.
pub fn rows<R: Read + Send + 'static>(
    text: R,
    delimiter: u8,
    _notes: super::Notes,
) -> impl Iterator<Item = Result<RawRow, Reject>> + Send {
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut records = reader.into_byte_records();
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match records.next()? {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let values = record
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect();
                Some(Ok(RawRow { line, values }))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                // A read error ends the file; anything else is one bad row.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    failed = true;
                }
                Some(Err(Reject {
                    line,
                    message: format!("this row could not be read: {e}"),
                    values: Vec::new(),
                }))
            }
        }
    })
}
