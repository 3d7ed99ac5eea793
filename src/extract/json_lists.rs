//! A JSON file's lists of records: the top-level array (one sheet, named after the file),
//! or, as Flatfile's JSON extractor reads them, the arrays a top-level object holds
//! (`{"contacts": [...], "companies": [...]}`), one sheet each, named by its key. A first
//! pass finds each list's columns; a second, on one thread, sends every list's rows in file
//! order, each list into its own bounded channel, which the extraction drains in the same
//! order. Neither pass holds the whole file.

use super::json::{flattened, row_of, table, Keys};
use super::{thousands, ExtractError, Notes, Reject, Row, Table, TextSource};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;
use serde_json::value::RawValue;
use std::collections::HashSet;

/// Most lists read from one file: each becomes a sheet.
pub const MAX_LISTS: usize = 100;

/// Items of the top-level array read without meeting an object before the file is called
/// no list of records (probe 71c D3: a gigabyte of numbers was read whole first).
const ITEMS_BEFORE_A_RECORD: usize = 10_000;

/// Longest sheet name taken from a key, in characters.
const MAX_NAME_CHARS: usize = 100;

/// What a walk of the file meets, in order.
enum Step {
    /// A list starts: the top-level array (`None`) or the one under this key.
    List(Option<String>),
    Item(Box<RawValue>),
    /// The list that started last has ended.
    End,
    /// A key of the top-level object holding no list (a number, an object, text).
    Passed(String),
}

/// Walks the file's lists. `each` answers whether to go on: for `List`, whether to read
/// that list's items (its `End` comes only then); for `Item`, false stops the walk. Returns
/// whether it was stopped, after which the rest of the file is not read.
fn walk(
    source: &TextSource,
    counted: bool,
    each: &mut dyn FnMut(Step) -> bool,
) -> Result<bool, ExtractError> {
    let mut de =
        serde_json::Deserializer::from_reader(super::json_text::JsonText::new(source.open(counted)?));
    let mut walker = Walker {
        each,
        stopped: false,
        lists: 0,
    };
    let read = (&mut de).deserialize_any(Top(&mut walker));
    if walker.stopped {
        return Ok(true);
    }
    read.and_then(|_| de.end()).map_err(|e| match e.classify() {
        serde_json::error::Category::Io if e.to_string().contains(super::json_text::TOO_LONG) => {
            ExtractError::JsonTextTooLong
        }
        // Well-formed JSON of another shape (a number, a list of numbers): not damaged.
        serde_json::error::Category::Data => ExtractError::JsonShape(e.to_string()),
        _ => ExtractError::Corrupt(format!("the JSON could not be read: {e}")),
    })?;
    Ok(false)
}

struct Walker<'a> {
    each: &'a mut dyn FnMut(Step) -> bool,
    stopped: bool,
    /// Lists met so far.
    lists: usize,
}

impl Walker<'_> {
    fn list<'de, A: SeqAccess<'de>>(&mut self, mut seq: A, name: Option<String>) -> Result<(), A::Error> {
        self.lists += 1;
        if !(self.each)(Step::List(name)) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        while let Some(item) = seq.next_element::<Box<RawValue>>()? {
            if !(self.each)(Step::Item(item)) {
                self.stopped = true;
                return Ok(());
            }
        }
        (self.each)(Step::End);
        Ok(())
    }
}

/// The file's top-level value.
struct Top<'w, 'a>(&'w mut Walker<'a>);

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of records, or an object holding lists of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.list(seq, None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(Member {
                walker: &mut *self.0,
                key,
                depth: 0,
            })?;
            if self.0.stopped {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// How deep under the top-level object lists are looked for (`{"data": {"contacts": [...]}}`,
/// an API export's shape: probe 78c D5 refused it as holding no list).
const MOST_NESTED: usize = 3;

/// A value under a key of the top-level object (`depth` 0) or of an object under it: a
/// list is read, named by its path (`data.contacts`), anything else passed over.
struct Member<'w, 'a> {
    walker: &'w mut Walker<'a>,
    key: String,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Member<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Member<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.walker.list(seq, Some(self.key))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= MOST_NESTED {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            self.passed();
            return Ok(());
        }
        let before = self.walker.lists;
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(Member {
                walker: &mut *self.walker,
                key: format!("{}.{key}", self.key),
                depth: self.depth + 1,
            })?;
            if self.walker.stopped {
                return Ok(());
            }
        }
        // An object holding no list is one key passed over, not each of its own.
        if self.walker.lists == before {
            self.passed();
        }
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.passed();
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.passed();
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.passed();
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.passed();
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.passed();
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.passed();
        Ok(())
    }
}

impl Member<'_, '_> {
    /// Said of a key of the top-level object only: one holding an object of no list is
    /// said once, not each key inside it.
    fn passed(self) {
        if self.depth == 0 {
            (self.walker.each)(Step::Passed(self.key));
        }
    }
}

/// A key as a sheet name: one line without control or reordering characters, not too long.
fn sheet_name(key: &str) -> String {
    let cleaned: String = key
        .chars()
        .map(|c| {
            match c.is_control() || crate::names::is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}') {
                true => ' ',
                false => c,
            }
        })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    words.join(" ").chars().take(MAX_NAME_CHARS).collect()
}

/// One list found by the first pass.
struct Found {
    name: Option<String>,
    keys: Keys,
    items: usize,
}

/// The file's tables, one per list of records; `file_name` names a top-level array's.
pub fn tables(source: &TextSource, file_name: String, notes: &Notes) -> Result<Vec<Table>, ExtractError> {
    let mut found: Vec<Found> = Vec::new();
    // For each list the walk meets, in order: the index in `found` of the one read.
    let mut read_as: Vec<Option<usize>> = Vec::new();
    let (mut names, mut repeated, mut beyond, mut failed) = (HashSet::new(), Vec::new(), 0usize, None);
    let mut lists_seen = 0usize;
    let (mut canceled, mut no_records) = (false, false);
    // Keys holding no list, or a list of no records: said, not dropped unsaid (probe 71c D6).
    let mut passed: Vec<String> = Vec::new();
    walk(source, false, &mut |step| match step {
        Step::Passed(key) => {
            passed.push(key);
            true
        }
        _ if source.stopped() => {
            canceled = true;
            false
        }
        Step::List(name) => {
            lists_seen += 1;
            let fresh = name.as_ref().is_none_or(|n| names.insert(n.clone()));
            let take = fresh && found.len() < MAX_LISTS;
            match (fresh, take) {
                // Only the first is named: a file of many repeats is one note.
                (false, _) if repeated.is_empty() => repeated.push(name.clone().unwrap_or_default()),
                (false, _) => repeated.push(String::new()),
                (true, false) => beyond += 1,
                (true, true) => {}
            }
            read_as.push(take.then_some(found.len()));
            if take {
                found.push(Found {
                    name,
                    keys: Keys::default(),
                    items: 0,
                });
            }
            take
        }
        Step::Item(item) => {
            let list = found.last_mut().expect("an item is in a list");
            list.items += 1;
            // Only an object is a record: anything else is passed over unparsed (the
            // error of parsing a number as an object cost more than reading it).
            if !item.get().trim_start().starts_with('{') {
                let hopeless =
                    list.name.is_none() && list.keys.list.is_empty() && list.items >= ITEMS_BEFORE_A_RECORD;
                no_records |= hopeless;
                return !hopeless;
            }
            if let Ok(obj) = super::json::parse_object(item.get()) {
                if let Err(e) = list.keys.add(&flattened(obj)) {
                    failed = Some(e);
                    return false;
                }
            }
            true
        }
        // A list under a key that held no record (`"ids": [1, 2]`, `[]`) is no sheet and
        // does not count toward the cap.
        Step::End => {
            if found
                .last()
                .is_some_and(|f| f.name.is_some() && f.keys.list.is_empty())
            {
                passed.extend(found.pop().and_then(|f| f.name));
                if let Some(last) = read_as.last_mut() {
                    *last = None;
                }
            }
            true
        }
    })?;
    // Stopping early leaves the file unfinished: the reason to stop is the error to show.
    if canceled {
        return Err(ExtractError::Stopped);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if no_records {
        return Err(ExtractError::JsonShape(format!(
            "its first {} items are not objects",
            thousands(ITEMS_BEFORE_A_RECORD as u64)
        )));
    }
    if let Some(first) = repeated.first() {
        let more = match repeated.len() {
            1 => String::new(),
            n => format!(
                " (and {} other list{} too)",
                thousands(n as u64 - 1),
                if n == 2 { "" } else { "s" }
            ),
        };
        notes.add(format!(
            "the JSON holds the list “{}” more than once{more}; only the first of each was read",
            sheet_name(first)
        ));
    }
    if !passed.is_empty() && !found.is_empty() {
        let named: Vec<String> = passed
            .iter()
            .take(5)
            .map(|k| format!("“{}”", sheet_name(k)))
            .collect();
        let more = match passed.len().saturating_sub(5) {
            0 => String::new(),
            n => format!(" and {} more", thousands(n as u64)),
        };
        notes.add(format!(
            "the JSON's {} {}{more} {} no list of records and {} not read",
            if passed.len() == 1 { "key" } else { "keys" },
            named.join(", "),
            if passed.len() == 1 { "holds" } else { "hold" },
            if passed.len() == 1 { "was" } else { "were" },
        ));
    }
    if beyond > 0 {
        notes.add(format!(
            "the JSON holds {} lists; the first {MAX_LISTS} lists of records were read",
            MAX_LISTS + beyond
        ));
    }
    match found.first() {
        None if lists_seen == 0 => {
            return Err(ExtractError::JsonShape(
                "it is an object, and none of its keys holds a list".into(),
            ))
        }
        None => return Err(ExtractError::NoFields),
        Some(Found {
            name: None, items: 0, ..
        }) => return Err(ExtractError::Empty),
        Some(_) => {}
    }
    // A list of no objects with fields (`"ids": [1, 2]`) is no sheet; a top-level array's
    // is the file's error.
    let kept: Vec<Option<usize>> = {
        let mut next = 0;
        found
            .iter()
            .map(|f| {
                (f.name.is_none() || !f.keys.list.is_empty()).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    };
    let mut senders = Vec::new();
    let mut row_keys = Vec::new();
    let mut out = Vec::new();
    for (f, _) in found.into_iter().zip(&kept).filter(|(_, k)| k.is_some()) {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Row, Reject>>(1024);
        let name = f
            .name
            .as_deref()
            .map(sheet_name)
            .unwrap_or_else(|| file_name.clone());
        let columns = f.keys.columns();
        let names = f.keys.names(&columns.list);
        // Each list its own sheet: the note names it (probe 70a D11).
        if let Some(note) = columns.merged_note() {
            notes.add(format!("{name}: {note}"));
        }
        row_keys.push(columns);
        out.push(table(name, names, Box::new(rx.into_iter()))?);
        senders.push(Some(tx));
    }
    if out.is_empty() {
        return Err(ExtractError::NoFields);
    }
    // Which table each list the walk meets fills, if any.
    let fills: Vec<Option<usize>> = read_as.iter().map(|r| r.and_then(|i| kept[i])).collect();
    let source = source.clone();
    std::thread::spawn(move || {
        let (mut lists, mut current, mut n) = (0usize, None::<usize>, 0u64);
        let _ = walk(&source, true, &mut |step| match step {
            Step::List(_) => {
                current = fills.get(lists).copied().flatten();
                lists += 1;
                n = 0;
                // A list that fills no table is passed over; its `End` does not come.
                current.is_some()
            }
            Step::Item(item) => {
                n += 1;
                let t = current.expect("items come only in a list being read");
                match &senders[t] {
                    Some(tx) => tx.send(row_of(n, &item, &row_keys[t])).is_ok(),
                    None => false,
                }
            }
            // The table has all its rows: its reader goes on to the next.
            Step::End => {
                if let Some(t) = current.take() {
                    senders[t] = None;
                }
                true
            }
            Step::Passed(_) => true,
        });
    });
    Ok(out)
}
