//! Pure cell and record validation: casting per type, required, enum options, and the
//! messages for unique and reference checks whose facts the caller looked up.
//! No I/O here, so all of it is unit-tested directly.

mod cast;
mod cast_date;
mod date_order;
mod decimal;
mod evidence;
mod exact;

use cast::{cast_cell_read, Cell};

pub use cast::{cast_cell, display, list_items, normalize_key, parse_bool, parse_date, parse_number, quoted};
pub use date_order::{
    of_values as date_order_of, reads_two_ways as date_reads_two_ways, swapped as date_swapped, DateOrder,
};
pub use decimal::{commas_in as decimal_commas_in, decimal_point};
pub use evidence::{with_commas_elsewhere, Evidence};

/// How a batch's own values of one field say to read those that read two ways: dates in
/// one order of day and month, numbers with decimal commas (see `date_order`, `decimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Reading {
    #[default]
    Alone,
    Dates(DateOrder),
    /// Numbers with decimal commas (and none with a decimal point) in the field: those that
    /// read two ways (`1.000`, `1,234`) are read with a decimal comma too, saying so.
    DecimalCommas,
    /// Numbers written both ways in one field (`1.234,56` beside `10.5`, a spreadsheet's
    /// number cell among text typed the European way): those that read two ways are read
    /// the English way, saying so (probe 66h D4: `3.000` became 3 unsaid).
    MixedDecimals,
    /// A number field whose own values show neither way, in an import whose other number
    /// fields write decimal commas and none a decimal point: those that read two ways
    /// (`1.000`) are read with a decimal comma too, saying so (probe 69d D1: a quantity of
    /// `1.000` became 1 unsaid).
    CommasElsewhere,
}

use crate::blueprint::{ConstraintNote, Field, FieldType, Level, SheetConfig, UniqueTogether};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Error,
    Warn,
    Info,
}

/// Where a message came from; the strings are Flatfile's `ValidationSource` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    #[serde(rename = "required-constraint")]
    Required,
    #[serde(rename = "unique-constraint")]
    Unique,
    #[serde(rename = "invalid-option")]
    InvalidOption,
    #[serde(rename = "unlinked")]
    Unlinked,
    #[serde(rename = "custom-logic")]
    CustomLogic,
    /// A Submit's receiver rejected the value.
    #[serde(rename = "submit")]
    Submit,
    /// The value does not cast to the field's type (a number, a date...). Flatfile's
    /// sources have no word for it, so the message carries none: listener code (the record
    /// hook plugin) takes `custom-logic` messages for its own, and would write back every
    /// record holding one.
    #[serde(rename = "cast")]
    Cast,
}

impl Source {
    fn is_cast(&self) -> bool {
        *self == Source::Cast
    }

    fn cast() -> Self {
        Source::Cast
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub message: String,
    /// Left out for a cast message, and read back as one when absent (stored messages of
    /// every other source carry theirs).
    #[serde(skip_serializing_if = "Source::is_cast", default = "Source::cast")]
    pub source: Source,
}

impl Message {
    /// A warning of how a value that reads two ways was read (`01/05/2024`, `1.000`).
    pub fn is_reading_warning(&self) -> bool {
        self.kind == MessageType::Warn && self.source == Source::Cast
    }

    pub fn error(source: Source, message: impl Into<String>) -> Self {
        Message {
            kind: MessageType::Error,
            message: message.into(),
            source,
        }
    }

    /// A broken constraint's message: its own words and level when its config gives them,
    /// else `wharf_words` as an error.
    pub fn for_constraint(
        source: Source,
        note: &ConstraintNote,
        wharf_words: impl FnOnce() -> String,
    ) -> Self {
        Message {
            kind: match note.level {
                Level::Error => MessageType::Error,
                Level::Warn => MessageType::Warn,
                Level::Info => MessageType::Info,
            },
            message: note.message.clone().unwrap_or_else(wharf_words),
            source,
        }
    }
}

/// A validated record as stored: typed values in field order, the original input where it
/// differs from the typed value, Wharf's messages by field index, and the messages listener
/// code put on cells (`custom`), kept apart so re-checking a record never loses them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    pub vals: Vec<Value>,
    pub raw: BTreeMap<usize, Value>,
    pub messages: BTreeMap<usize, Vec<Message>>,
    pub custom: BTreeMap<usize, Vec<Message>>,
}

impl Checked {
    pub fn valid(&self) -> bool {
        !self
            .messages
            .values()
            .chain(self.custom.values())
            .flatten()
            .any(|m| m.kind == MessageType::Error)
    }

    /// Indexes of fields holding at least one error, Wharf's or a listener's.
    pub fn error_fields(&self) -> Vec<usize> {
        let has_error = |ms: &Vec<Message>| ms.iter().any(|m| m.kind == MessageType::Error);
        let mut fields: Vec<usize> = self
            .messages
            .iter()
            .chain(self.custom.iter())
            .filter(|(_, ms)| has_error(ms))
            .map(|(i, _)| *i)
            .collect();
        fields.sort_unstable();
        fields.dedup();
        fields
    }

    /// Every message of one cell: Wharf's first, then the listener's.
    pub fn cell_messages(&self, index: usize) -> Vec<Message> {
        let own = self.messages.get(&index).into_iter().flatten();
        own.chain(self.custom.get(&index).into_iter().flatten())
            .cloned()
            .collect()
    }

    /// Replaces the messages of one source on one field (used when a duplicate or a
    /// reference changes elsewhere in the sheet).
    pub fn set_constraint(&mut self, index: usize, source: Source, message: Option<Message>) {
        let list = self.messages.entry(index).or_default();
        list.retain(|m| m.source != source);
        if let Some(message) = message {
            list.push(message);
        }
        if list.is_empty() {
            self.messages.remove(&index);
        }
    }
}

/// Casts and checks every field of one record from its input (`{key: value}`), without the
/// checks that need other records (unique, reference): see [`unique_message`] and
/// [`reference_message`].
pub fn check_record(sheet: &SheetConfig, input: &BTreeMap<String, Value>) -> Checked {
    check_values(sheet, in_field_order(sheet, input))
}

/// A record's input as values in field order, null where a field is not given.
pub fn in_field_order(sheet: &SheetConfig, input: &BTreeMap<String, Value>) -> Vec<Value> {
    sheet
        .fields
        .iter()
        .map(|f| input.get(&f.key).cloned().unwrap_or(Value::Null))
        .collect()
}

/// [`check_record`] for values already in field order; takes them, to keep what was given
/// without copying it.
pub fn check_values(sheet: &SheetConfig, values: Vec<Value>) -> Checked {
    check_values_read(sheet, values, &[])
}

/// [`check_values`], reading the values of field `i` that read two ways as `readings[i]`
/// says (a field past its end: read alone).
pub fn check_values_read(sheet: &SheetConfig, values: Vec<Value>, readings: &[Reading]) -> Checked {
    let mut checked = Checked {
        vals: Vec::with_capacity(sheet.fields.len()),
        ..Default::default()
    };
    let mut given = values.into_iter();
    for (i, field) in sheet.fields.iter().enumerate() {
        let given = given.next().unwrap_or(Value::Null);
        // The common case, text that needs no change, keeps the given value as it is.
        if matches!(field.field_type, FieldType::String | FieldType::Reference { .. })
            && matches!(&given, Value::String(s) if !s.is_empty() && (field.verbatim || s.trim().len() == s.len()))
        {
            checked.vals.push(given);
            continue;
        }
        let cell = cast_cell_read(field, &given, readings.get(i).copied().unwrap_or_default());
        if cell.value != given && !given.is_null() {
            checked.raw.insert(i, given);
        }
        if !cell.messages.is_empty() {
            checked.messages.insert(i, cell.messages);
        }
        checked.vals.push(cell.value);
    }
    checked
}

/// The warnings of the reading by which `text` gives `value` (`1.000` gives 1000 with
/// decimal commas, `01/05/2024` 5 January month first), none when no reading does. An
/// undo putting back a value with the text it was read from says again how it was read
/// (probe 73a D2: a number's warning did not come back).
pub fn warnings_reading_as(field: &Field, text: &Value, value: &Value) -> Vec<Message> {
    let readings = [
        Reading::Alone,
        Reading::DecimalCommas,
        Reading::Dates(DateOrder::MonthFirst),
        Reading::Dates(DateOrder::DayFirst),
    ];
    // The reading that says least: `01/05/2024` read month first as its batch's dates
    // showed was not warned of (probe 74a D5).
    let warnings = |cell: Cell| -> Vec<Message> {
        cell.messages
            .into_iter()
            .filter(Message::is_reading_warning)
            .collect()
    };
    readings
        .into_iter()
        .map(|r| cast_cell_read(field, text, r))
        .filter(|cell| cell.value == *value)
        .map(warnings)
        .min_by_key(Vec::len)
        .unwrap_or_default()
}

/// The message for a value that another record of the sheet also holds.
pub fn unique_message(field: &Field) -> Message {
    Message::for_constraint(Source::Unique, &field.unique_note, || {
        format!(
            "{} must be unique; another record has the same value",
            field.display_name()
        )
    })
}

/// The message for values that another record of the sheet also holds in every field of
/// a `unique` sheet constraint; it sits on each of those fields. It ends with the
/// constraint's [`together_marker`], by which it is told apart from the fields' own
/// messages whatever their labels become.
pub fn unique_together_message(sheet: &SheetConfig, rule: &UniqueTogether) -> Message {
    let names: Vec<&str> = rule
        .fields
        .iter()
        .filter_map(|&i| sheet.fields.get(i).map(Field::display_name))
        .collect();
    let marker = together_marker(rule);
    let text = match names.as_slice() {
        [one] => format!("{one} must be unique; another record has the same value {marker}"),
        // Named in full up to three; a long list is not written on each of its fields.
        [a, b] => format!("{a} and {b} must be unique together; another record has the same values {marker}"),
        [a, b, c] => format!("{a}, {b} and {c} must be unique together; another record has the same values {marker}"),
        [a, b, rest @ ..] => format!(
            "{a}, {b} and {} other fields must be unique together; another record has the same values {marker}",
            rest.len()
        ),
        [] => format!("must be unique {marker}"),
    };
    Message::error(Source::Unique, text)
}

/// How a `unique` sheet constraint's message ends: `(constraint full-name)`. A sheet's
/// constraints have names of their own, which stay as they were made.
pub fn together_marker(rule: &UniqueTogether) -> String {
    format!("(constraint {})", rule.name)
}

/// The message for a reference whose target does not exist.
pub fn reference_message(field: &Field, value: &Value, target_sheet: &str) -> String {
    format!(
        "{} {} matches no record in {}",
        field.display_name(),
        cast::quoted(value, ("\"", "\"")),
        target_sheet
    )
}

/// The message for a reference whose target sheet no longer exists.
pub fn reference_gone_message(field: &Field, value: &Value, target_sheet: &str) -> String {
    format!(
        "{} {} cannot be looked up: the sheet {} no longer exists",
        field.display_name(),
        cast::quoted(value, ("\"", "\"")),
        target_sheet
    )
}

/// True when a cell counts as empty for `required` and `ignoreEmpty`.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dates;
