//! Records as requests send them: Flatfile's cells (`{"value": ...}` or a bare value),
//! cell updates with listener messages, and `POST /records` bodies read straight into
//! values in field order. Their answers are written by `record_view`.

use crate::blueprint::SheetConfig;
use crate::validate::{Message, MessageType, Source};
use crate::web::error::ErrorItem;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// The members of a Flatfile cell as records are read back (`value` is the one an insert
/// keeps; the others are what a client copying records sends along).
const CELL_MEMBERS: [&str; 7] = [
    "value",
    "messages",
    "valid",
    "metadata",
    "updatedAt",
    "layer",
    "links",
];

/// A cell in a request: Flatfile's `{"value": ...}` or a bare value; read without building
/// a map for the wrapper.
pub struct CellInput(pub Value);

impl<'de> Deserialize<'de> for CellInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = CellInput;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a cell: {\"value\": ...} or a plain value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<CellInput, A::Error> {
                let mut value = Value::Null;
                let mut stranger = None;
                let mut known = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "value" {
                        value = map.next_value()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                    if CELL_MEMBERS.contains(&key.as_ref()) {
                        known = true;
                    } else if stranger.is_none() {
                        stranger = Some(key.into_owned());
                    }
                }
                // An object that is no cell (`{"nested": [1]}`) would be stored as nothing.
                match stranger {
                    Some(key) if !known => Err(serde::de::Error::custom(format!(
                        "a cell is {{\"value\": ...}} or a plain value; `{key}` is not a member of a cell"
                    ))),
                    _ => Ok(CellInput(value)),
                }
            }
            fn visit_str<E>(self, v: &str) -> Result<CellInput, E> {
                Ok(CellInput(Value::String(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<CellInput, E> {
                Ok(CellInput(Value::String(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<CellInput, E> {
                Ok(CellInput(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<CellInput, E> {
                Ok(CellInput(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<CellInput, E> {
                Ok(CellInput(Value::from(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<CellInput, E> {
                Ok(CellInput(Value::Bool(v)))
            }
            fn visit_unit<E>(self) -> Result<CellInput, E> {
                Ok(CellInput(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<CellInput, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Value>()? {
                    items.push(v);
                }
                Ok(CellInput(Value::Array(items)))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A record in an update (`PUT /v1/sheets/{id}/records`).
#[derive(Deserialize, Clone)]
pub struct UpdateItem {
    pub(super) id: String,
    #[serde(default)]
    pub(super) values: std::collections::BTreeMap<String, CellUpdate>,
    /// `Some(Null)` when given as `null`, `None` when not given.
    #[serde(default, deserialize_with = "super::records::given")]
    pub(super) metadata: Option<Value>,
    /// Flatfile's record `config` (`record.setReadOnly()`); listener code's to set.
    #[serde(default, deserialize_with = "super::records::given")]
    pub(super) config: Option<Value>,
    /// A record's own messages: Wharf keeps messages on cells, so any is refused rather than
    /// dropped unseen (probe 57c); `[]`, as a record read back holds, is nothing.
    #[serde(default)]
    pub(super) messages: Option<Value>,
}

/// A cell in an update: `{"value": ..., "messages": [...]}` (either may be left out: a cell
/// sent with messages only keeps its value) or a bare value.
#[derive(Clone)]
pub struct CellUpdate {
    pub value: Option<Value>,
    pub messages: Option<Vec<Message>>,
}

/// A message as listener code sends it: `{message, type, source?}`. Sources other than
/// Wharf's own kinds are listener code's (`custom-logic`).
#[derive(Deserialize)]
struct SentMessage {
    message: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// Bounds on what listener code may pin to one cell (each message is stored with the record).
const MAX_MESSAGES: usize = 100;
const MAX_MESSAGE_CHARS: usize = 10_000;

impl SentMessage {
    fn into_message<E: serde::de::Error>(self) -> Result<Message, E> {
        if self.message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(E::custom(format!(
                "a message is at most {MAX_MESSAGE_CHARS} characters"
            )));
        }
        let kind = match self.kind.as_deref().unwrap_or("error") {
            "error" => MessageType::Error,
            "warn" | "warning" => MessageType::Warn,
            "info" => MessageType::Info,
            other => {
                return Err(E::custom(format!(
                    "message type `{other}` is not one of error, warn, info"
                )))
            }
        };
        let source = self
            .source
            .and_then(|s| serde_json::from_value::<Source>(Value::String(s)).ok())
            .unwrap_or(Source::CustomLogic);
        Ok(Message {
            kind,
            message: self.message,
            source,
        })
    }
}

impl<'de> Deserialize<'de> for CellUpdate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Object(mut cell) if cell.contains_key("value") || cell.contains_key("messages") => {
                let messages = match cell.remove("messages") {
                    None | Some(Value::Null) => None,
                    Some(list) => {
                        let sent: Vec<SentMessage> =
                            serde_json::from_value(list).map_err(D::Error::custom)?;
                        if sent.len() > MAX_MESSAGES {
                            return Err(D::Error::custom(format!(
                                "a cell takes at most {MAX_MESSAGES} messages"
                            )));
                        }
                        Some(
                            sent.into_iter()
                                .map(SentMessage::into_message)
                                .collect::<Result<_, D::Error>>()?,
                        )
                    }
                };
                Ok(CellUpdate {
                    value: cell.remove("value"),
                    messages,
                })
            }
            // `{}` or `{"valid": true}` says nothing to do: taken as a value, it would clear
            // the cell that leaving `value` out keeps.
            Value::Object(_) => Err(D::Error::custom(
                "a cell is {\"value\": ..., \"messages\": [...]} (either may be left out, not both) or a plain value",
            )),
            plain => Ok(CellUpdate {
                value: Some(plain),
                messages: None,
            }),
        }
    }
}

/// Reads `POST /records` bodies (`[{key: cell}]`) straight into values in field order,
/// with no map per record; keys the sheet does not have are collected as problems.
pub struct RecordsSeed<'a> {
    pub config: &'a SheetConfig,
    /// The body's index of the first record read (a part of a body starts past 0).
    pub first: usize,
    pub problems: std::cell::RefCell<Vec<crate::web::error::ErrorItem>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for &RecordsSeed<'_> {
    type Value = Vec<Vec<Value>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &RecordsSeed<'_> {
    type Value = Vec<Vec<Value>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records, each {\"field key\": {\"value\": ...}}")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element_seed(RowSeed {
            outer: self,
            index: rows.len(),
        })? {
            rows.push(row);
        }
        Ok(rows)
    }
}

struct RowSeed<'s, 'a> {
    outer: &'s RecordsSeed<'a>,
    index: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RowSeed<'_, '_> {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record: {\"field key\": {\"value\": ...}}")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let fields = &self.outer.config.fields;
        let mut values = vec![Value::Null; fields.len()];
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match fields.iter().position(|f| f.key == key) {
                Some(i) => {
                    let value = map.next_value::<CellInput>()?.0;
                    if let Some(message) = too_big(&value) {
                        self.outer
                            .problems
                            .borrow_mut()
                            .push(crate::web::error::ErrorItem {
                                key: format!("$[{}].{key}", self.outer.first + self.index),
                                message,
                            });
                    }
                    values[i] = value;
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    // A record's own messages (a record copied whole): where they go instead.
                    let message = match key.as_ref() {
                        "messages" => "this sheet has no field `messages`; a new record's values are checked by Wharf, and listener code puts messages on cells with an update (PUT, values.<field>.messages)".to_string(),
                        _ => format!("this sheet has no field `{key}`"),
                    };
                    self.outer
                        .problems
                        .borrow_mut()
                        .push(crate::web::error::ErrorItem {
                            key: format!("$[{}].{key}", self.outer.first + self.index),
                            message,
                        });
                }
            }
        }
        Ok(values)
    }
}

pub use crate::extract::value_too_big as too_big;

/// Read-only and computed cells are the team's to fill: a guest's new record leaves them
/// empty (403 naming the first, as an update).
pub(super) fn refuse_fixed_values(
    config: &crate::blueprint::SheetConfig,
    rows: &[Vec<Value>],
) -> Result<(), crate::web::error::AppError> {
    for (i, row) in rows.iter().enumerate() {
        for (f, value) in config.fields.iter().zip(row) {
            if f.fixed() && !crate::validate::display(value).is_empty() {
                return Err(crate::web::error::AppError::Forbidden(format!(
                    "{} is read-only: a guest cannot fill it ($[{i}].{})",
                    f.display_name(),
                    f.key
                )));
            }
        }
    }
    Ok(())
}

/// Turns `{key: cell}` into new values and messages by key, refusing keys the sheet does
/// not have.
pub(super) fn cell_updates(
    config: &SheetConfig,
    values: BTreeMap<String, CellUpdate>,
    path: &str,
    problems: &mut Vec<ErrorItem>,
) -> (BTreeMap<String, Value>, BTreeMap<String, Vec<Message>>) {
    let (mut out, mut messages) = (BTreeMap::new(), BTreeMap::new());
    for (key, cell) in values {
        if config.field_index(&key).is_none() {
            problems.push(ErrorItem {
                key: format!("{path}.{key}"),
                message: format!("this sheet has no field `{key}`"),
            });
            continue;
        }
        if let Some(list) = cell.messages {
            messages.insert(key.clone(), list);
        }
        if let Some(value) = cell.value {
            if let Some(message) = too_big(&value) {
                problems.push(ErrorItem {
                    key: format!("{path}.{key}"),
                    message,
                });
            }
            out.insert(key, value);
        }
    }
    (out, messages)
}
