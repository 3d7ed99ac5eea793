//! Records: stored compactly (a JSON array of typed values in field order, plus sparse
//! raw input and messages), shown in Flatfile's `{key: {value, valid, messages}}` shape.

pub mod bulk;
pub mod bulk_history;
pub mod cells;
pub mod config;
mod date_cells;
mod delete;
mod ffql_shape;
pub mod ffql_sql;
pub mod fields;
mod find_text;
pub mod history;
pub mod hook_answer;
pub mod indexes;
mod insert;
mod keys;
pub mod links;
mod query;
mod references;
pub mod search;
pub mod search_index;
pub mod selection;
mod sheet_readings;
pub mod sizes;
pub mod sort_index;
pub mod sort_keys;
mod unique;
mod write;
mod write_many;

pub use delete::{delete, delete_present, delete_present_unlocked, delete_unchanged};
pub use insert::{
    drop_elsewhere, insert, insert_batches, insert_prepared, prepare, prepare_read, Inserted, Prepared,
};
pub use keys::HOLDERS_PG;
pub use query::{
    after, column_inputs_after, count_invalid, count_invalid_in_ranges, count_present, counts, exists,
    first_id, inputs_after, last_id, query, Cursor, Filter, PageTooBig, RecordQuery, PAGE_BYTES,
};
pub use references::recheck_referrers;
pub use write::{load as load_rows, update, update_tagged, RecordUpdate, Written};

use crate::blueprint::SheetConfig;
use crate::db::schema::records;
use crate::ids::RecordId;
use crate::validate::{Checked, Message};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub id: i64,
    pub sheet_seq: i64,
    pub vals: String,
    pub raw: Option<String>,
    pub messages: Option<String>,
    pub valid: bool,
    pub error_fields: Option<String>,
    pub metadata: Option<String>,
    pub version: i64,
    /// Messages listener code put on cells (sparse, like `messages`).
    pub custom: Option<String>,
    /// Flatfile's record `config`: cells listener code made read-only (module `config`).
    pub config: Option<String>,
}

impl RecordRow {
    /// The bytes of text it keeps, roughly what it takes to send.
    pub fn stored_bytes(&self) -> usize {
        let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
        self.vals.len() + text(&self.raw) + text(&self.messages) + text(&self.metadata) + text(&self.custom)
    }

    pub fn record_id(&self) -> RecordId {
        RecordId(self.id)
    }

    /// Decodes the stored columns under the sheet's fields; a column that cannot be read
    /// counts as empty rather than failing a whole page. A record stored before a field was
    /// added at the end has fewer values than fields (adding one rewrites no record): the
    /// missing places read as empty.
    pub fn checked(&self, config: &SheetConfig) -> Checked {
        let mut vals: Vec<Value> = serde_json::from_str(&self.vals).unwrap_or_default();
        if vals.len() < config.fields.len() {
            vals.resize(config.fields.len(), Value::Null);
        }
        Checked {
            vals,
            raw: decode_sparse(self.raw.as_deref()),
            messages: decode_sparse(self.messages.as_deref()),
            custom: decode_sparse(self.custom.as_deref()),
        }
    }

    /// The sparse raw input and every message (Wharf's, then listener code's), by field index.
    pub fn sparse(&self) -> (BTreeMap<usize, Value>, BTreeMap<usize, Vec<Message>>) {
        let mut messages: BTreeMap<usize, Vec<Message>> = decode_sparse(self.messages.as_deref());
        if self.custom.is_some() {
            let custom: BTreeMap<usize, Vec<Message>> = decode_sparse(self.custom.as_deref());
            for (i, list) in custom {
                messages.entry(i).or_default().extend(list);
            }
        }
        (decode_sparse(self.raw.as_deref()), messages)
    }

    /// What a person typed for each field: the raw input where kept, else the value.
    pub fn inputs(&self, config: &SheetConfig) -> BTreeMap<String, Value> {
        let vals: Vec<Value> = serde_json::from_str(&self.vals).unwrap_or_default();
        inputs_of(config, &vals, &decode_sparse(self.raw.as_deref()))
    }
}

/// A record's inputs from its decoded values and raw input (see [`RecordRow::inputs`]).
pub(crate) fn inputs_of(
    config: &SheetConfig,
    vals: &[Value],
    raw: &BTreeMap<usize, Value>,
) -> BTreeMap<String, Value> {
    config
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let v = raw
                .get(&i)
                .or_else(|| vals.get(i))
                .cloned()
                .unwrap_or(Value::Null);
            (f.key.clone(), v)
        })
        .collect()
}

/// The stored form of a checked record.
pub(crate) struct Encoded {
    pub vals: String,
    pub raw: Option<String>,
    pub messages: Option<String>,
    pub custom: Option<String>,
    pub valid: bool,
    pub error_fields: Option<String>,
}

pub(crate) fn encode(checked: &Checked) -> Encoded {
    let errors = checked.error_fields();
    Encoded {
        vals: serde_json::to_string(&checked.vals).unwrap_or_else(|_| "[]".into()),
        raw: encode_sparse(&checked.raw),
        messages: encode_sparse(&checked.messages),
        custom: encode_sparse(&checked.custom),
        valid: errors.is_empty(),
        error_fields: (!errors.is_empty()).then(|| {
            let list: Vec<String> = errors.iter().map(|i| i.to_string()).collect();
            format!(",{},", list.join(","))
        }),
    }
}

fn encode_sparse<T: serde::Serialize>(map: &BTreeMap<usize, T>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    let obj: BTreeMap<String, &T> = map.iter().map(|(k, v)| (k.to_string(), v)).collect();
    serde_json::to_string(&obj).ok()
}

fn decode_sparse<T: serde::de::DeserializeOwned>(text: Option<&str>) -> BTreeMap<usize, T> {
    let Some(text) = text else {
        return BTreeMap::new();
    };
    let parsed: BTreeMap<String, T> = serde_json::from_str(text).unwrap_or_default();
    parsed
        .into_iter()
        .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
        .collect()
}

/// The keys of the fields in error, for the sheet's `errorsByField` count.
pub(crate) fn error_keys(config: &SheetConfig, checked: &Checked) -> Vec<String> {
    checked
        .error_fields()
        .into_iter()
        .filter_map(|i| config.fields.get(i).map(|f| f.key.clone()))
        .collect()
}

/// Used by the tests of this module and by callers that show a message list.
pub fn messages_of(checked: &Checked, index: usize) -> &[Message] {
    checked
        .messages
        .get(&index)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
