//! Finding the header row under title and blank rows, naming columns uniquely, and
//! shaping the rows below it to the header's width.

use super::{
    Column, ExtractError, Notes, RawRow, Reject, Row, RowIter, Table, MAX_CELL_BYTES, MAX_COLUMNS,
    MAX_HEADER_BYTES,
};
use std::collections::{HashMap, HashSet, VecDeque};

/// Rows looked at to find the header.
const SAMPLE_ROWS: usize = 50;

pub(super) fn filled(values: &[String]) -> usize {
    values.iter().filter(|v| !v.trim().is_empty()).count()
}

fn width(values: &[String]) -> usize {
    values
        .iter()
        .rposition(|v| !v.trim().is_empty())
        .map_or(0, |i| i + 1)
}

/// A value that reads as a label: text that is not a number, date, time or e-mail address.
fn label_like(value: &str) -> bool {
    text_not_data(value) && value.trim().chars().count() <= 100
}

/// Text that is not a number, date, time or e-mail address, however long (a form export's
/// header may be its whole question).
fn text_not_data(value: &str) -> bool {
    let v = value.trim();
    let numeric = v
        .trim_start_matches(['-', '+', '$', '€', '£'])
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '%' | ' ' | '-' | '/' | ':' | 'T'));
    !v.is_empty() && !numeric && !v.contains('@')
}

/// A row whose filled cells all read as labels, none twice.
fn labels_only(values: &[String]) -> bool {
    let filled = filled_cells(values);
    let distinct: HashSet<String> = filled.iter().map(|v| v.to_lowercase()).collect();
    all_labels(&filled) && distinct.len() == filled.len()
}

fn filled_cells(values: &[String]) -> Vec<&str> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}

fn all_labels(filled: &[&str]) -> bool {
    !filled.is_empty() && filled.iter().all(|v| label_like(v))
}

/// The index of the header among sample rows. The first row that fills as many cells as
/// most rows do (a title fills one, a blank row none) is data when it does not read as
/// labels and the row just above it does and fills at least half as many cells: a header
/// with blank cells (an index column, a column without a name). None when every row is blank.
pub fn header_index(sample: &[Vec<String>]) -> Option<usize> {
    let mut freq: HashMap<usize, usize> = HashMap::new();
    for row in sample {
        let n = filled(row);
        if n > 0 {
            *freq.entry(n).or_insert(0) += 1;
        }
    }
    let (&typical, &times) = freq.iter().max_by_key(|(n, count)| (**count, **n))?;
    let mut first = sample.iter().position(|row| filled(row) >= typical)?;
    // A small file whose rows each fill a different number of cells has no typical shape:
    // the widest row wins the tie, and a stray wide data row (one value too many) was taken
    // for the header, every real row rejected. Then a row of labels above it is the header.
    if times == 1 && !all_labels(&filled_cells(&sample[first])) {
        // Or the file's first row when most of its cells are labels (`Email,Email,,Name,123`
        // over a row of addresses: probe 57a 16 took the addresses for the header, and their
        // row was in no record and not among the rejects).
        let top = sample[..first].iter().position(|row| filled(row) > 0);
        let mostly_labels = |row: &Vec<String>| {
            let cells = filled_cells(row);
            cells.len() >= 2 && cells.iter().filter(|v| label_like(v)).count() * 2 > cells.len()
        };
        if let Some(labels) = sample[..first]
            .iter()
            .position(|row| filled(row) >= 2 && all_labels(&filled_cells(row)))
            .or(top.filter(|&t| mostly_labels(&sample[t])))
        {
            first = labels;
        }
    }
    let above = sample[..first].iter().rposition(|row| filled(row) > 0);
    let header_like = |row: &Vec<String>| {
        let n = filled(row);
        let enough = n >= typical.div_ceil(2) && (n >= 2 || row.first().is_some_and(|v| v.trim().is_empty()));
        // Above a data row, a repeated label is still a header (`Name,Name,,Phone`): the
        // columns get unique keys. A long one too: a form's question as its column's name.
        let cells = filled_cells(row);
        // Over an index column (pandas' `to_csv`), years name columns too: `,name,2020,2021`
        // (probe 49d 2).
        let index_column = row.first().is_some_and(|v| v.trim().is_empty());
        let names = |v: &&str| text_not_data(v) || (index_column && year_like(v));
        enough && cells.iter().all(names) && cells.iter().any(|v| label_like(v))
    };
    let header_above = above.filter(|a| header_like(&sample[*a]));
    if labels_only(&sample[first]) {
        // A row of text with rows of text below it is data like them when the row above
        // reads as a header with a gap (`Name,,City` over `Ann,Smith,Paris`). Over rows
        // with numbers, dates or addresses it is the header itself (under a group title).
        let text_below = sample[first + 1..]
            .iter()
            .filter(|row| filled(row) > 0)
            .all(|row| all_labels(&filled_cells(row)));
        return Some(match header_above {
            Some(a) if text_below => a,
            _ => first,
        });
    }
    Some(header_above.unwrap_or(first))
}

/// A year as a column's name: four digits, 1900 to 2199.
fn year_like(v: &str) -> bool {
    v.len() == 4 && v.parse::<u32>().is_ok_and(|y| (1900..2200).contains(&y))
}

/// A spreadsheet's letters for the column at `index` (0-based): A, ..., Z, AA, AB, ...
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Unique, non-blank labels (the header as written where it can be) and keys made from them.
/// A header the file has keeps its name: the names made up for a blank or a repeated one
/// take numbers no header of the file uses (the second `Email` took `Email (2)` from the
/// column the file calls so, which a person picking it by name then missed: probe 64a D3).
///
/// Labels are compared, and kept, without the spaces around them: ` Email` and `Email `
/// read exactly as `Email` on the mapping screen (probe 65c N2).
pub fn columns(header: &[String], count: usize) -> Vec<Column> {
    let written = |i: usize| header.get(i).map_or("", |h| h.trim());
    let mut labels_seen: HashSet<String> = HashSet::new();
    let mut keys_seen: HashSet<String> = HashSet::new();
    // Each header's first column keeps it, and the key made from it when that is free.
    let mut own: Vec<Option<Option<String>>> = vec![None; count];
    for (i, own) in own.iter_mut().enumerate() {
        let name = written(i);
        if !name.is_empty() && labels_seen.insert(name.to_lowercase()) {
            *own = Some(key_of(name).filter(|k| keys_seen.insert(k.clone())));
        }
    }
    (0..count)
        .map(|i| {
            let base = match written(i) {
                "" => format!("Column {}", i + 1),
                w => w.to_string(),
            };
            let (label, key) = match own[i].take() {
                Some(key) => (base.clone(), key),
                None => (unique(&base, &mut labels_seen, |b, n| format!("{b} ({n})")), None),
            };
            let key = key.unwrap_or_else(|| {
                let key_base = key_of(&base).unwrap_or_else(|| format!("column_{}", i + 1));
                unique(&key_base, &mut keys_seen, |b, n| format!("{b}_{n}"))
            });
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

/// Lowercase ASCII letters and digits joined by `_`, accents aside (`Âge` -> `age`, not
/// `ge`); None when nothing is left.
pub(crate) fn key_of(label: &str) -> Option<String> {
    let mut key = String::new();
    for c in crate::names::without_accents(label) {
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
/// Leading columns blank in the header and in every sampled row are left out.
pub fn tabulate(
    name: String,
    mut rows: Box<dyn Iterator<Item = Result<RawRow, Reject>> + Send>,
    notes: &Notes,
) -> Result<Table, ExtractError> {
    let mut sample: Vec<RawRow> = Vec::new();
    let mut early_rejects: Vec<Reject> = Vec::new();
    let mut any = false;
    // Rows that could not be read count too, so a file of them is not gathered whole here.
    while sample.len() < SAMPLE_ROWS && early_rejects.len() < SAMPLE_ROWS * 20 {
        match rows.next() {
            // Blank rows (`,,` as Excel saves them) are no rows of the table: sampled, a
            // title over 50 of them hid the header below (probe 49d 5).
            Some(Ok(row)) if filled(&row.values) == 0 => any = true,
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
    let first_reject = early_rejects.first();
    if let (true, Some(first)) = (sample.is_empty(), first_reject) {
        return Err(ExtractError::NoRowRead {
            line: first.line,
            why: first.message.clone(),
        });
    }
    // The sheet's first row refused, as wide as a header (a title above the header holds a
    // cell or two: probe 72a D5): it is the header, and no row below stands in for it.
    let header_like = |r: &Reject| {
        let first_read = sample.first().map_or(0, |s| filled(&s.values));
        // Its values hold the one that put it out of reach.
        let own = r.values.len().saturating_sub(1);
        own >= 2 && own * 2 >= first_read
    };
    if let Some(first) =
        first_reject.filter(|r| sample.first().is_some_and(|s| r.line < s.line) && header_like(r))
    {
        return Err(ExtractError::HeaderUnread {
            line: first.line,
            why: first.message.clone(),
        });
    }
    let values: Vec<Vec<String>> = sample.iter().map(|r| r.values.clone()).collect();
    let Some(at) = header_index(&values) else {
        return Err(ExtractError::NoHeader);
    };
    let first_filled = values.iter().position(|v| filled(v) > 0);
    let header_row = sample.remove(at);
    // What is left out above the header goes to the rejected rows: a title most often,
    // but when the guess was wrong (one column of values holding commas), the real header
    // and first rows, which must not vanish.
    let above: Vec<Reject> = sample
        .drain(..at)
        .filter(|r| filled(&r.values) > 0)
        .map(|r| Reject {
            line: r.line,
            message: format!(
                "left out: above row {}, which was taken as the header",
                header_row.line
            ),
            values: r.values,
        })
        .collect();
    if first_filled != Some(at) {
        notes.add(format!(
            "row {} was taken as the header of {name}; the rows above it were left out (they are with the rejected rows)",
            header_row.line
        ));
    }
    if let Some(long) = header_row.values.iter().find(|v| v.len() > MAX_HEADER_BYTES) {
        // A value over many lines is a quote left open (probe 63c D5: only the size was said).
        let lines = long.bytes().filter(|b| *b == b'\n').count();
        return Err(ExtractError::HeaderTooLong(long.len(), lines > 1));
    }
    let below: Vec<RawRow> = sample;
    let lead = std::iter::once(&header_row)
        .chain(&below)
        .filter_map(|r| r.values.iter().position(|v| !v.trim().is_empty()))
        .min()
        .unwrap_or(0);
    let header_values = &header_row.values[lead.min(header_row.values.len())..];
    // As wide as the header, or as most rows below it when they reach further (values
    // under blank header cells); a stray longer row is a reject, not a new column.
    let mut widths: HashMap<usize, usize> = HashMap::new();
    for r in &below {
        *widths.entry(width(&r.values).saturating_sub(lead)).or_insert(0) += 1;
    }
    let typical = widths
        .iter()
        .max_by_key(|(w, n)| (**n, std::cmp::Reverse(**w)))
        .map_or(0, |(w, _)| *w);
    let count = width(header_values).max(typical);
    if count > MAX_COLUMNS {
        return Err(ExtractError::TooWide(count));
    }
    let columns = columns(header_values, count);
    let mut pending: VecDeque<Result<RawRow, Reject>> = above
        .into_iter()
        .chain(early_rejects)
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
                return Some(drop_lead(raw, lead).and_then(|raw| shape(raw, count)));
            }
        }
    });
    Ok(Table {
        name,
        columns,
        header_line: Some(header_row.line),
        rows: Box::new(shaped) as RowIter,
        done: Default::default(),
    })
}

/// The row without the table's blank leading columns; a value there is a reject.
fn drop_lead(mut raw: RawRow, lead: usize) -> Result<RawRow, Reject> {
    let cut = lead.min(raw.values.len());
    if raw.values[..cut].iter().any(|v| !v.trim().is_empty()) {
        return Err(Reject {
            line: raw.line,
            message: "this row has values left of the table's first column".into(),
            values: raw.values,
        });
    }
    raw.values.drain(..cut);
    Ok(raw)
}

/// Pads a short row; a row with values beyond the header, or a value over the size limit,
/// is a reject.
pub fn shape(raw: RawRow, count: usize) -> Result<Row, Reject> {
    let RawRow { line, mut values } = raw;
    if let Some(big) = values.iter().find(|v| v.len() > MAX_CELL_BYTES) {
        let size = big.len();
        return Err(Reject {
            line,
            message: format!(
                "a value on this row is {size} bytes; a cell holds at most {MAX_CELL_BYTES} bytes (1 MiB)"
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
