//! An insert's answer written ahead of the records' ids, on the threads that read and
//! check a big body while earlier records are being written ([`super::records_body`]).

use super::record_view::{serialize_record, ValuesView};
use crate::blueprint::SheetConfig;
use crate::ids::RecordId;
use crate::validate::Checked;
use serde::{Serialize, Serializer};

/// A record just checked, as [`super::record_view::RecordView`] shows it once stored as it
/// is (first version, no metadata), under the placeholder id 0.
struct CheckedView<'a> {
    checked: &'a Checked,
    config: &'a SheetConfig,
}

impl Serialize for CheckedView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.checked;
        // A listener's messages show beside Wharf's, as `RecordRow::sparse` joins them.
        let joined;
        let messages = match c.custom.is_empty() {
            true => &c.messages,
            false => {
                let mut all = c.messages.clone();
                for (i, list) in &c.custom {
                    all.entry(*i).or_default().extend(list.iter().cloned());
                }
                joined = all;
                &joined
            }
        };
        let values = ValuesView {
            config: self.config,
            vals: &c.vals,
            raw: &c.raw,
            messages,
            only: None,
            links: None,
        };
        serialize_record(s, RecordId(0), values, c.valid(), None, 1, None)
    }
}

/// Records written as the answer shows them before they have ids (an insert's, on the
/// threads that read them, while earlier records are being written): each record's text
/// after its id.
pub struct RecordsAhead {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl RecordsAhead {
    /// Records checked, as they will be stored if nothing changes them on the way.
    pub fn write(records: &[Checked], config: &SheetConfig) -> serde_json::Result<Self> {
        let placeholder = format!("{{\"id\":\"{}\",", RecordId(0));
        let mut bytes = Vec::with_capacity(records.len() * 256);
        let mut spans = Vec::with_capacity(records.len());
        for checked in records {
            let from = bytes.len();
            serde_json::to_writer(&mut bytes, &CheckedView { checked, config })?;
            debug_assert!(bytes[from..].starts_with(placeholder.as_bytes()));
            spans.push((from + placeholder.len(), bytes.len()));
        }
        Ok(RecordsAhead { bytes, spans })
    }

    /// How many records.
    pub fn records(&self) -> usize {
        self.spans.len()
    }

    /// The size of their texts.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Each record's text after its id, in order.
    pub fn texts(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|&(from, to)| &self.bytes[from..to])
    }
}
