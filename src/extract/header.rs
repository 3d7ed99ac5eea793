//! Finding the header row under title and blank rows, naming columns uniquely, and
//! shaping the rows below it to the header's width.

use super::{
    Column, ExtractError, RawRow, Reject, Row, RowIter, Table, MAX_CELL_BYTES, MAX_COLUMNS, MAX_HEADER_BYTES,
};
use std::collections::{HashMap, HashSet, VecDeque};

/// Rows looked at to find the header.
const SAMPLE_ROWS: usize = 50;

fn filled(values: &[String]) -> usize {
    values.iter().filter(|v| !v.trim().is_empty()).count()
}

fn width(values: &[String]) -> usize {
    values
        .iter()
        .rposition(|v| !v.trim().is_empty())
        .map_or(0, |i| i + 1)
}

/// The index of the header among sample rows: the first row that fills as many cells as
/// most rows do (a title fills one, a blank row none). None when every row is blank.
pub fn header_index(sample: &[Vec<String>]) -> Option<usize> {
    let mut freq: HashMap<usize, usize> = HashMap::new();
    for row in sample {
        let n = filled(row);
        if n > 0 {
            *freq.entry(n).or_insert(0) += 1;
        }
    }
    let (&typical, _) = freq.iter().max_by_key(|(n, count)| (**count, **n))?;
    sample.iter().position(|row| filled(row) >= typical)
}

/// Unique, non-blank labels (the header as written where it can be) and keys made from them.
pub fn columns(header: &[String], count: usize) -> Vec<Column> {
    let mut labels_seen: HashSet<String> = HashSet::new();
    let mut keys_seen: HashSet<String> = HashSet::new();
    (0..count)
        .map(|i| {
            let written = header.get(i).map(String::as_str).unwrap_or("");
            let base = if written.trim().is_empty() {
                format!("Column {}", i + 1)
            } else {
                written.to_string()
            };
            let label = unique(&base, &mut labels_seen, |b, n| format!("{b} ({n})"));
            let key_base = key_of(&base).unwrap_or_else(|| format!("column_{}", i + 1));
            let key = unique(&key_base, &mut keys_seen, |b, n| format!("{b}_{n}"));
            Column { key, label }
        })
        .collect()
}

fn unique(base: &str, seen: &mut HashSet<String>, suffix: impl Fn(&str, usize) -> String) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while !seen.insert(name.to_lowercase()) {
        name = suffix(base, n);
        n += 1;
    }
    name
}

/// Lowercase ASCII letters and digits joined by `_`; None when nothing is left.
fn key_of(label: &str) -> Option<String> {
    let mut key = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_').to_string();
    (!key.is_empty()).then_some(key)
}

/// Finds the header among the first rows and returns the table of the rows below it.
pub fn tabulate(
    name: String,
    mut rows: Box<dyn Iterator<Item = Result<RawRow, Reject>> + Send>,
) -> Result<Table, ExtractError> {
    let mut sample: Vec<RawRow> = Vec::new();
    let mut early_rejects: Vec<Reject> = Vec::new();
    let mut any = false;
    while sample.len() < SAMPLE_ROWS {
        match rows.next() {
            Some(Ok(row)) => {
                any = true;
                sample.push(row);
            }
            Some(Err(reject)) => {
                any = true;
                early_rejects.push(reject);
            }
            None => break,
        }
    }
    if !any {
        return Err(ExtractError::Empty);
    }
    let values: Vec<Vec<String>> = sample.iter().map(|r| r.values.clone()).collect();
    let Some(at) = header_index(&values) else {
        return Err(ExtractError::NoHeader);
    };
    let header_row = sample.remove(at);
    if let Some(long) = header_row.values.iter().find(|v| v.len() > MAX_HEADER_BYTES) {
        return Err(ExtractError::HeaderTooLong(long.len()));
    }
    let below: Vec<RawRow> = sample.split_off(at);
    // As wide as the header, or as most rows below it when they reach further (values
    // under blank header cells); a stray longer row is a reject, not a new column.
    let mut widths: HashMap<usize, usize> = HashMap::new();
    for r in &below {
        *widths.entry(width(&r.values)).or_insert(0) += 1;
    }
    let typical = widths
        .iter()
        .max_by_key(|(w, n)| (**n, std::cmp::Reverse(**w)))
        .map_or(0, |(w, _)| *w);
    let count = width(&header_row.values).max(typical);
    if count > MAX_COLUMNS {
        return Err(ExtractError::TooWide(count));
    }
    let columns = columns(&header_row.values, count);
    let mut pending: VecDeque<Result<RawRow, Reject>> = early_rejects
        .into_iter()
        .map(Err)
        .chain(below.into_iter().map(Ok))
        .collect();
    let shaped = std::iter::from_fn(move || loop {
        let next = match pending.pop_front() {
            Some(item) => item,
            None => rows.next()?,
        };
        match next {
            Err(reject) => return Some(Err(reject)),
            Ok(raw) => {
                if filled(&raw.values) == 0 {
                    continue;
                }
                return Some(shape(raw, count));
            }
        }
    });
    Ok(Table {
        name,
        columns,
        header_line: Some(header_row.line),
        rows: Box::new(shaped) as RowIter,
    })
}

/// Pads a short row; a row with values beyond the header, or a value over the size limit,
/// is a reject.
fn shape(raw: RawRow, count: usize) -> Result<Row, Reject> {
    let RawRow { line, mut values } = raw;
    if let Some(big) = values.iter().find(|v| v.len() > MAX_CELL_BYTES) {
        let size = big.len();
        return Err(Reject {
            line,
            message: format!(
                "a value on this row is {} MB; values are limited to {} MB",
                size / (1024 * 1024),
                MAX_CELL_BYTES / (1024 * 1024)
            ),
            values: values
                .into_iter()
                .map(|v| v.chars().take(1000).collect())
                .collect(),
        });
    }
    let used = width(&values);
    if used > count {
        return Err(Reject {
            line,
            message: format!("this row has {used} values but the header has {count} columns"),
            values,
        });
    }
    values.resize(count, String::new());
    Ok(Row { line, values })
}
