//! JSON (an array of objects) and JSON Lines (one object per line). Columns are the keys in
//! the order they first appear, found in a first pass; a second pass yields the rows, so
//! neither pass holds the whole file.

use super::{ExtractError, Reject, Row, RowIter, Table, MAX_COLUMNS};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// A value as text: strings as they are, numbers and booleans as written, null empty,
/// objects and arrays as JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Calls `each` for every item of a top-level JSON array, one at a time.
struct EachItem<F>(F);

impl<'de, F: FnMut(Value)> Visitor<'de> for EachItem<F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.0)(v);
        }
        Ok(())
    }
}

impl<'de, F: FnMut(Value)> DeserializeSeed<'de> for EachItem<F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

fn for_each_item(path: &Path, each: impl FnMut(Value)) -> Result<(), ExtractError> {
    let file = File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(file));
    EachItem(each)
        .deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(|e| ExtractError::Corrupt(format!("the JSON could not be read: {e}")))
}

fn add_keys(keys: &mut Vec<String>, seen: &mut std::collections::HashSet<String>, obj: &Map<String, Value>) {
    for k in obj.keys() {
        if seen.insert(k.clone()) {
            keys.push(k.clone());
        }
    }
}

fn table(name: String, keys: Vec<String>, rows: RowIter) -> Result<Table, ExtractError> {
    if keys.len() > MAX_COLUMNS {
        return Err(ExtractError::TooWide(keys.len()));
    }
    let mut columns = super::header::columns(&keys, keys.len());
    // JSON keys are names already: keep them as labels exactly.
    for (c, k) in columns.iter_mut().zip(&keys) {
        c.label = k.clone();
    }
    Ok(Table {
        name,
        columns,
        header_line: None,
        rows,
    })
}

fn row_of(line: u64, item: Value, keys: &[String]) -> Result<Row, Reject> {
    match item {
        Value::Object(obj) => Ok(Row {
            line,
            values: keys
                .iter()
                .map(|k| obj.get(k).map(value_text).unwrap_or_default())
                .collect(),
        }),
        other => Err(Reject {
            line,
            message: "this item is not an object".into(),
            values: vec![value_text(&other)],
        }),
    }
}

/// A JSON array of objects; "line" numbers are item numbers, from 1.
pub fn array_table(path: &Path, name: String) -> Result<Table, ExtractError> {
    let (mut keys, mut seen, mut count) = (Vec::new(), Default::default(), 0usize);
    for_each_item(path, |v| {
        count += 1;
        if let Value::Object(obj) = &v {
            add_keys(&mut keys, &mut seen, obj);
        }
    })?;
    if count == 0 {
        return Err(ExtractError::Empty);
    }
    // Second pass on a thread, handing rows over a bounded channel.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Row, Reject>>(1024);
    let (path, row_keys) = (PathBuf::from(path), keys.clone());
    std::thread::spawn(move || {
        let mut n = 0u64;
        let mut open = true;
        let _ = for_each_item(&path, |v| {
            n += 1;
            if open && tx.send(row_of(n, v, &row_keys)).is_err() {
                open = false;
            }
        });
    });
    table(name, keys, Box::new(rx.into_iter()))
}

/// JSON Lines: one object per line; blank lines are skipped, unreadable ones are rejects.
pub fn lines_table(path: &Path, name: String) -> Result<Table, ExtractError> {
    let open = || -> Result<_, ExtractError> {
        let file = File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
        Ok(BufReader::new(file).lines())
    };
    let (mut keys, mut seen, mut count) = (Vec::new(), Default::default(), 0usize);
    for line in open()? {
        let line = line.map_err(|e| ExtractError::Io(e.to_string()))?;
        if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&line) {
            add_keys(&mut keys, &mut seen, &obj);
            count += 1;
        }
    }
    if count == 0 {
        return Err(ExtractError::Empty);
    }
    let row_keys = keys.clone();
    let rows = open()?.enumerate().filter_map(move |(i, line)| {
        let n = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return Some(Err(Reject {
                    line: n,
                    message: format!("this line could not be read: {e}"),
                    values: vec![],
                }))
            }
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(match serde_json::from_str::<Value>(&line) {
            Ok(v) => row_of(n, v, &row_keys),
            Err(e) => Err(Reject {
                line: n,
                message: format!("this line is not JSON: {e}"),
                values: vec![line],
            }),
        })
    });
    table(name, keys, Box::new(rows))
}
