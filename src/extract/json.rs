//! JSON records (see `json_lists` for where a JSON file keeps them) and JSON Lines (one
//! object per line), decoded like delimited text (BOM, UTF-16, legacy encodings). Columns
//! are the keys in the order they first appear, found in a first pass; a second pass yields
//! the rows, so neither pass holds the whole file. A nested object's keys are columns of
//! their own, `address.city`, as Flatfile's JSON extractor names them; a list stays one
//! value. Values keep the text they were written with (`1.50` stays `1.50`).

use super::{
    header, ExtractError, Notes, RawRow, Reject, Row, RowIter, Table, TextSource, MAX_COLUMNS,
    MAX_HEADER_BYTES,
};
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};

/// Most members of an object read: ten times the columns a file may have.
const MAX_MEMBERS: usize = 10 * MAX_COLUMNS;

/// An object's members in the order written, values as their JSON text (at most
/// [`MAX_MEMBERS`] of them).
pub(super) struct RawObject(Vec<(String, Box<RawValue>)>);

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
                    // A key written twice keeps both values: `flattened` names the later
                    // `key (2)`, as a CSV's repeated header keeps both columns (probe 58d
                    // F7: the earlier value was dropped unsaid). Past any file's width (the
                    // keys pass then refuses it as too wide) members are not kept, so an
                    // object of millions of keys costs no more memory than one of ten
                    // thousand (probe 56b 1: 50 MB held 1 GB).
                    if members.len() < MAX_MEMBERS {
                        members.push((k, v));
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
        Some(b'"') => super::json_text::string_lenient(text).unwrap_or_else(|| text.to_string()),
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

/// A member of a flattened record: its name (`outer.inner` for a nested object's), which
/// of the record's members of that name it is (0 the first), and its value.
pub(super) type Member = (String, usize, Box<RawValue>);

/// A record's members with a nested object's members in its place, named
/// `outer.inner` (deeper ones `a.b.c`, down to [`FLATTEN_DEPTH`] levels). Two members of one
/// name (`"addr": {"city"}` beside `"addr.city"`, or a key written twice) keep both values
/// (probe 49d 3), told apart by their number: the one reached through more nested objects
/// is the first, then the earlier, so every record of a file settles a clash the same way
/// whatever the order of its members (probe 51a F4). The numbered ones get their column
/// names once every key of the file is known ([`Keys::names`]). An empty object leaves
/// nothing.
pub(super) fn flattened(obj: RawObject) -> Vec<Member> {
    fn into(
        prefix: Option<&str>,
        obj: RawObject,
        depth: usize,
        out: &mut Vec<(String, usize, Box<RawValue>)>,
    ) {
        for (k, v) in obj.0 {
            let key = match prefix {
                Some(p) => format!("{p}.{k}"),
                None => k,
            };
            if depth < FLATTEN_DEPTH && v.get().starts_with('{') {
                if let Ok(inner) = parse_object(v.get()) {
                    into(Some(&key), inner, depth + 1, out);
                    continue;
                }
            }
            out.push((key, depth, v));
        }
    }
    let mut flat = Vec::with_capacity(obj.0.len());
    into(None, obj, 0, &mut flat);
    let mut taken: HashSet<&str> = HashSet::with_capacity(flat.len());
    if flat.iter().all(|(k, _, _)| taken.insert(k)) {
        return flat.into_iter().map(|(k, _, v)| (k, 0, v)).collect();
    }
    // Numbers handed out deepest first, then in order.
    let mut order: Vec<usize> = (0..flat.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(flat[i].1), i));
    let mut which = vec![0; flat.len()];
    let mut count = HashMap::<&str, usize>::new();
    for i in order {
        let n = count.entry(flat[i].0.as_str()).or_insert(0);
        which[i] = *n;
        *n += 1;
    }
    flat.into_iter()
        .zip(which)
        .map(|((k, _, v), n)| (k, n, v))
        .collect()
}

/// Nesting levels brought up as columns (`a.b.c...`); an object deeper than that stays one
/// value, its JSON. Without a bound, a 12 KB file of 3,000 nested objects overflowed the
/// reader's stack and took the process down.
const FLATTEN_DEPTH: usize = 16;

/// A column of a JSON table: a member's name and its number among a record's members of
/// that name (see [`flattened`]).
pub(super) type Column = (String, usize);

#[derive(Default)]
pub(super) struct Keys {
    pub list: Vec<Column>,
    /// For each name, which of its numbers are columns already (looked up by `&str`: a
    /// file's every member passes here).
    seen: HashMap<String, Vec<bool>>,
    /// Columns no record has given anything but `null` so far, by name.
    only_null: HashMap<String, HashSet<usize>>,
    /// The first spelling of each name, by its lowercase.
    first_spelling: HashMap<String, String>,
    /// Spellings of names met in more than one case (`Email`, `email`).
    variants: HashSet<String>,
    /// Names (lowercase) some record holds in two spellings: those stay columns apart.
    clashing: HashSet<String>,
}

/// The columns a table's records fill, and the spellings of a name read into the column of
/// its first spelling (`email` into `Email`).
pub(super) struct RowKeys {
    pub list: Vec<Column>,
    merged: HashMap<String, String>,
}

impl RowKeys {
    /// What the file's message says of the names read as one.
    pub fn merged_note(&self) -> Option<String> {
        let mut by_first: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (spelling, first) in &self.merged {
            by_first.entry(first).or_default().push(spelling);
        }
        let groups: Vec<String> = by_first
            .into_iter()
            .map(|(first, mut others)| {
                others.sort_unstable();
                format!(
                    "{} into \"{first}\"",
                    others
                        .iter()
                        .map(|o| format!("\"{o}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        (!groups.is_empty()).then(|| {
            format!(
                "keys that differ only in case and never meet in one record were read as one column: {}",
                groups.join("; ")
            )
        })
    }
}

impl Keys {
    pub fn add(&mut self, members: &[Member]) -> Result<(), ExtractError> {
        for (k, n, v) in members {
            if k.len() > MAX_HEADER_BYTES {
                return Err(ExtractError::KeyTooLong(k.len()));
            }
            let null = v.get() == "null";
            let slots = match self.seen.get_mut(k.as_str()) {
                Some(slots) => slots,
                None => {
                    // A new spelling: a name met before in another case is a variant.
                    match self.first_spelling.entry(k.to_lowercase()) {
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(k.clone());
                        }
                        std::collections::hash_map::Entry::Occupied(e) => {
                            self.variants.insert(e.get().clone());
                            self.variants.insert(k.clone());
                        }
                    }
                    self.seen.entry(k.clone()).or_default()
                }
            };
            if slots.len() <= *n {
                slots.resize(n + 1, false);
            }
            if !slots[*n] {
                slots[*n] = true;
                if null {
                    self.only_null.entry(k.clone()).or_default().insert(*n);
                }
                self.list.push((k.clone(), *n));
            } else if !null && !self.only_null.is_empty() {
                if let Some(numbers) = self.only_null.get_mut(k.as_str()) {
                    numbers.remove(n);
                }
            }
        }
        // Two spellings of a name in one record are two values: their columns stay apart.
        if !self.variants.is_empty() {
            let mut held: HashMap<(String, usize), &str> = HashMap::new();
            for (k, n, _) in members.iter().filter(|(k, _, _)| self.variants.contains(k)) {
                let lower = k.to_lowercase();
                if held
                    .insert((lower.clone(), *n), k)
                    .is_some_and(|other| other != k)
                {
                    self.clashing.insert(lower);
                }
            }
        }
        // Counted whole, so the message says how many columns the file has.
        match self.list.len() {
            n if n > MAX_COLUMNS => Err(ExtractError::TooWide(n)),
            _ => Ok(()),
        }
    }

    /// The columns: every key, but for one only ever `null` where other records hold an
    /// object whose members are columns of their own (`"address": null` beside
    /// `"address": {"city": ...}`: a column empty in every row, probe 60b D7).
    /// A name's spellings that never meet in one record (`Email` in one, `email` in the
    /// next, as records from several sources come) are one column, the first spelling's
    /// (probe 69d D2: each was a column of its own, and a field took only one of them).
    pub fn columns(&self) -> RowKeys {
        let nested = |k: &str| {
            let prefix = format!("{k}.");
            self.list.iter().any(|(other, _)| other.starts_with(&prefix))
        };
        let merged: HashMap<String, String> = self
            .variants
            .iter()
            .filter_map(|v| {
                let lower = v.to_lowercase();
                let first = self.first_spelling.get(&lower)?;
                (first != v && !self.clashing.contains(&lower)).then(|| (v.clone(), first.clone()))
            })
            .collect();
        let mut taken: HashSet<Column> = HashSet::new();
        let list = self
            .list
            .iter()
            .filter(|(k, n)| !(self.only_null.get(k).is_some_and(|ns| ns.contains(n)) && nested(k)))
            .map(|(k, n)| (merged.get(k).unwrap_or(k).clone(), *n))
            .filter(|c| taken.insert(c.clone()))
            .collect();
        RowKeys { list, merged }
    }

    /// The columns' names: a member's own name for the first of a record's members of that
    /// name, then `name (2)`, `name (3)`, ..., passing over every name the file's records
    /// use, in any case (probe 66b D1: the second `a` of one record was named `a (2)`, and the file's own
    /// `a (2)` of a later record went into the same column).
    pub fn names(&self, columns: &[Column]) -> Vec<String> {
        // Compared as a CSV header's are, but for case (probe 66g D2: the file's `A (2)`).
        let own: HashSet<String> = self.list.iter().map(|(k, _)| k.to_lowercase()).collect();
        let mut given: HashSet<String> = HashSet::new();
        let mut next = HashMap::<&str, usize>::new();
        let mut names = vec![String::new(); columns.len()];
        // Numbered in the order of their numbers, so `a (2)` is the second `a` of a record.
        let mut order: Vec<usize> = (0..columns.len()).collect();
        order.sort_by_key(|&i| columns[i].1);
        for i in order {
            let (key, n) = (&columns[i].0, columns[i].1);
            names[i] = match n {
                0 => key.clone(),
                _ => {
                    let at = next.entry(key.as_str()).or_insert(2);
                    loop {
                        let name = format!("{key} ({at})");
                        *at += 1;
                        if !own.contains(&name.to_lowercase()) && !given.contains(&name.to_lowercase()) {
                            break name;
                        }
                    }
                }
            };
            given.insert(names[i].to_lowercase());
        }
        names
    }
}

pub(super) fn table(name: String, keys: Vec<String>, rows: RowIter) -> Result<Table, ExtractError> {
    if keys.is_empty() {
        return Err(ExtractError::NoFields);
    }
    let mut columns = header::columns(&keys, keys.len());
    // JSON keys are names already: kept as labels exactly, but for one that reads as an
    // earlier one but for case or spaces (`email`, `Email`), which keeps the numbered
    // label a CSV header would get (probe 64d D2).
    let mut seen = std::collections::HashSet::new();
    for (c, k) in columns.iter_mut().zip(&keys) {
        if seen.insert(k.trim().to_lowercase()) && !k.trim().is_empty() {
            c.label = k.clone();
        }
    }
    Ok(Table {
        name,
        columns,
        header_line: None,
        rows,
        done: Default::default(),
    })
}

/// A record's values in the order of `keys`; "line" numbers are item numbers, from 1.
/// A JSON object, its members' names read as its strings are: half a surrogate pair
/// escaped alone is U+FFFD (probe 69e D4: such a name made its record "not an object").
pub(super) fn parse_object(text: &str) -> serde_json::Result<RawObject> {
    serde_json::from_str::<RawObject>(text).or_else(|e| {
        match super::json_text::without_lone_surrogates(text) {
            Some(fixed) => serde_json::from_str::<RawObject>(&fixed),
            None => Err(e),
        }
    })
}

pub(super) fn row_of(line: u64, item: &RawValue, keys: &RowKeys) -> Result<Row, Reject> {
    match parse_object(item.get()) {
        Ok(obj) => {
            let members = flattened(obj);
            let by_key: HashMap<(&str, usize), &RawValue> = members
                .iter()
                .map(|(k, n, v)| ((keys.merged.get(k).map_or(k.as_str(), String::as_str), *n), &**v))
                .collect();
            let values = keys
                .list
                .iter()
                .map(|(k, n)| {
                    by_key
                        .get(&(k.as_str(), *n))
                        .map(|v| value_text(v))
                        .unwrap_or_default()
                })
                .collect();
            // The same limits as every other reader (a value over 1 MB is a reject).
            header::shape(RawRow { line, values }, keys.list.len())
        }
        Err(_) => Err(Reject {
            line,
            message: "this item is not an object with fields".into(),
            values: vec![value_text(item).chars().take(1000).collect()],
        }),
    }
}

/// JSON Lines: one object per line; blank lines are skipped, unreadable ones are rejects.
pub fn lines_table(source: &TextSource, name: String, notes: &Notes) -> Result<Table, ExtractError> {
    let (mut keys, mut count) = (Keys::default(), 0usize);
    for line in bounded_lines(std::io::BufReader::new(source.open(false)?)) {
        let Ok(line) = line.map_err(|e| ExtractError::Io(e.to_string()))? else {
            continue;
        };
        if let Ok(obj) = parse_object(&super::json_text::line(&line)) {
            keys.add(&flattened(obj))?;
            count += 1;
        }
    }
    if count == 0 && keys.list.is_empty() {
        return Err(ExtractError::NoFields);
    }
    let row_keys = keys.columns();
    let columns = keys.names(&row_keys.list);
    if let Some(note) = row_keys.merged_note() {
        notes.add(note);
    }
    let lines = bounded_lines(std::io::BufReader::new(source.open(true)?));
    let rows = lines.enumerate().filter_map(move |(i, line)| {
        let n = i as u64 + 1;
        let line = match line {
            Ok(Ok(l)) => l,
            Ok(Err(bytes)) => {
                return Some(Err(Reject {
                    line: n,
                    message: format!(
                        "this line is {} bytes; a line holds at most {} MiB (a value at most 1 MiB)",
                        super::thousands(bytes),
                        MAX_LINE_BYTES >> 20
                    ),
                    values: vec![],
                }))
            }
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
        Some(
            match serde_json::from_str::<Box<RawValue>>(&super::json_text::line(&line)) {
                Ok(v) => row_of(n, &v, &row_keys),
                Err(e) => Err(Reject {
                    line: n,
                    message: format!("this line is not JSON: {e}"),
                    values: vec![line.chars().take(1000).collect()],
                }),
            },
        )
    });
    table(name, columns, Box::new(rows))
}

/// Longest JSON line read: a longer one would be held whole, three times over while it is
/// parsed (probe 58d F1).
const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// The reader's lines, without their line breaks; one past [`MAX_LINE_BYTES`] is passed over
/// to its end without being held, as `Err(its length)`.
fn bounded_lines<R: std::io::BufRead>(
    mut reader: R,
) -> impl Iterator<Item = std::io::Result<Result<String, u64>>> {
    std::iter::from_fn(move || {
        let (mut line, mut len) = (Vec::new(), 0u64);
        loop {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) => return Some(Err(e)),
            };
            if buf.is_empty() {
                return (len > 0).then(|| finish_line(line, len));
            }
            let (take, ends) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            len += take as u64;
            match len <= MAX_LINE_BYTES {
                true => line.extend_from_slice(&buf[..take]),
                false => line = Vec::new(),
            }
            reader.consume(take);
            if ends {
                return Some(finish_line(line, len));
            }
        }
    })
}

fn finish_line(mut line: Vec<u8>, len: u64) -> std::io::Result<Result<String, u64>> {
    if len > MAX_LINE_BYTES {
        return Ok(Err(len));
    }
    while line.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line)
        .map(Ok)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
