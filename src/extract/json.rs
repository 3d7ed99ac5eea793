//! JSON (an array of objects) and JSON Lines (one object per line), decoded like delimited
//! text (BOM, UTF-16, legacy encodings). Columns are the keys in the order they first
//! appear, found in a first pass; a second pass yields the rows, so neither pass holds the
//! whole file. Values keep the text they were written with (`1.50` stays `1.50`).

use super::{
    header, ExtractError, Notes, RawRow, Reject, Row, RowIter, Table, TextSource, MAX_COLUMNS,
    MAX_HEADER_BYTES,
};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::io::BufRead;

/// An object's members in the order written, values as their JSON text.
struct RawObject(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut members: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    // A repeated key: the later value wins, as in any JSON reader.
                    match members.iter_mut().find(|(seen, _)| *seen == k) {
                        Some(slot) => slot.1 = v,
                        None => members.push((k, v)),
                    }
                }
                Ok(RawObject(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// A value as text: strings unescaped, numbers and booleans as written, null empty,
/// objects and arrays as their JSON without the whitespace between tokens.
pub fn value_text(raw: &RawValue) -> String {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string()),
        Some(b'n') => String::new(),
        Some(b'{' | b'[') => compact(text),
        _ => text.to_string(),
    }
}

/// JSON text without whitespace outside strings.
fn compact(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::with_capacity(text.len()), false, false);
    for c in text.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c.is_whitespace() {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

/// Calls `each` with every item of a top-level JSON array, one at a time.
struct EachItem<F>(F);

impl<'de, F: FnMut(Box<RawValue>) -> bool> Visitor<'de> for EachItem<F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Box<RawValue>>()? {
            if !(self.0)(v) {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<'de, F: FnMut(Box<RawValue>) -> bool> DeserializeSeed<'de> for EachItem<F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// Reads the array item by item; `each` returns false to stop early.
fn for_each_item(
    source: &TextSource,
    counted: bool,
    each: impl FnMut(Box<RawValue>) -> bool,
) -> Result<(), ExtractError> {
    let mut de = serde_json::Deserializer::from_reader(source.open(counted)?);
    let mut stopped = false;
    let mut each = each;
    EachItem(|v| {
        let go = each(v);
        stopped |= !go;
        go
    })
    .deserialize(&mut de)
    .and_then(|_| if stopped { Ok(()) } else { de.end() })
    .map_err(|e| match e.classify() {
        // Well-formed JSON of another shape (an object, a list of numbers): not damaged.
        serde_json::error::Category::Data => ExtractError::JsonShape(e.to_string()),
        _ => ExtractError::Corrupt(format!("the JSON could not be read: {e}")),
    })
}

#[derive(Default)]
struct Keys {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl Keys {
    fn add(&mut self, obj: &RawObject) -> Result<(), ExtractError> {
        for (k, _) in &obj.0 {
            if k.len() > MAX_HEADER_BYTES {
                return Err(ExtractError::KeyTooLong(k.len()));
            }
            if self.seen.insert(k.clone()) {
                self.list.push(k.clone());
            }
        }
        // Counted whole, so the message says how many columns the file has.
        match self.list.len() {
            n if n > MAX_COLUMNS => Err(ExtractError::TooWide(n)),
            _ => Ok(()),
        }
    }
}

fn table(name: String, keys: Vec<String>, rows: RowIter) -> Result<Table, ExtractError> {
    if keys.is_empty() {
        return Err(ExtractError::NoFields);
    }
    let mut columns = header::columns(&keys, keys.len());
    // JSON keys are names already: keep them as labels exactly.
    for (c, k) in columns.iter_mut().zip(&keys) {
        c.label = k.clone();
    }
    Ok(Table {
        name,
        columns,
        header_line: None,
        rows,
        done: Default::default(),
    })
}

fn row_of(line: u64, item: &RawValue, keys: &[String]) -> Result<Row, Reject> {
    match serde_json::from_str::<RawObject>(item.get()) {
        Ok(obj) => {
            let values = keys
                .iter()
                .map(|k| {
                    obj.0
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| value_text(v))
                        .unwrap_or_default()
                })
                .collect();
            // The same limits as every other reader (a value over 1 MB is a reject).
            header::shape(RawRow { line, values }, keys.len())
        }
        Err(_) => Err(Reject {
            line,
            message: "this item is not an object with fields".into(),
            values: vec![value_text(item).chars().take(1000).collect()],
        }),
    }
}

/// A JSON array of objects; "line" numbers are item numbers, from 1.
pub fn array_table(source: &TextSource, name: String, _notes: &Notes) -> Result<Table, ExtractError> {
    let (mut keys, mut count, mut failed) = (Keys::default(), 0usize, None);
    let read = for_each_item(source, false, |v| {
        count += 1;
        if let Ok(obj) = serde_json::from_str::<RawObject>(v.get()) {
            if let Err(e) = keys.add(&obj) {
                failed = Some(e);
                return false;
            }
        }
        true
    });
    // Stopping early leaves the array unfinished: the reason to stop is the error to show.
    if let Some(e) = failed {
        return Err(e);
    }
    read?;
    if count == 0 {
        return Err(ExtractError::Empty);
    }
    // Second pass on a thread, handing rows over a bounded channel.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Row, Reject>>(1024);
    let (source2, row_keys) = (source.clone(), keys.list.clone());
    let rows_table = table(name, keys.list, Box::new(rx.into_iter()))?;
    std::thread::spawn(move || {
        let mut n = 0u64;
        let _ = for_each_item(&source2, true, |v| {
            n += 1;
            tx.send(row_of(n, &v, &row_keys)).is_ok()
        });
    });
    Ok(rows_table)
}

/// JSON Lines: one object per line; blank lines are skipped, unreadable ones are rejects.
pub fn lines_table(source: &TextSource, name: String, _notes: &Notes) -> Result<Table, ExtractError> {
    let (mut keys, mut count) = (Keys::default(), 0usize);
    for line in std::io::BufReader::new(source.open(false)?).lines() {
        let line = line.map_err(|e| ExtractError::Io(e.to_string()))?;
        if let Ok(obj) = serde_json::from_str::<RawObject>(&line) {
            keys.add(&obj)?;
            count += 1;
        }
    }
    if count == 0 && keys.list.is_empty() {
        return Err(ExtractError::NoFields);
    }
    let row_keys = keys.list.clone();
    let lines = std::io::BufReader::new(source.open(true)?).lines();
    let rows = lines.enumerate().filter_map(move |(i, line)| {
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
        Some(match serde_json::from_str::<Box<RawValue>>(&line) {
            Ok(v) => row_of(n, &v, &row_keys),
            Err(e) => Err(Reject {
                line: n,
                message: format!("this line is not JSON: {e}"),
                values: vec![line.chars().take(1000).collect()],
            }),
        })
    });
    table(name, keys.list, Box::new(rows))
}
