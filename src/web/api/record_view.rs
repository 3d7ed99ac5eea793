//! Records on the wire, in Flatfile's shape, written straight from the stored columns
//! (values are copied as raw JSON, never rebuilt as trees): a 10,000-record answer is
//! most of an insert's cost otherwise.

use super::records_ahead::RecordsAhead;
use crate::blueprint::SheetConfig;
use crate::ids::RecordId;
use crate::model::record::links::Links;
use crate::model::record::RecordRow;
use crate::model::sheet::Counts;
use crate::validate::{Message, MessageType};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct RecordView<'a> {
    pub row: &'a RecordRow,
    pub config: &'a SheetConfig,
    /// The fields a read asked for (`fields`), by position; all when `None`.
    pub only: Option<&'a [bool]>,
    /// The records its reference cells point at, when the read asked (`includeLinks`).
    pub links: Option<&'a Links>,
}

/// A reference cell's linked records (Flatfile's `links`), each a record of the target
/// sheet in the same shape.
pub(super) struct LinkedView<'a> {
    links: &'a Links,
    config: &'a SheetConfig,
    at: &'a [usize],
}

impl Serialize for LinkedView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.at.iter().map(|k| RecordView {
            row: &self.links.rows[*k],
            config: self.config,
            only: None,
            links: None,
        }))
    }
}

#[derive(Serialize)]
struct CellView<'a, V> {
    /// `null` when the record has no value there.
    value: Option<&'a V>,
    valid: bool,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<LinkedView<'a>>,
}

/// A record's values by field key, each a value as stored (raw JSON text, or a value just
/// checked) with its messages.
pub(super) struct ValuesView<'a, V> {
    pub config: &'a SheetConfig,
    pub vals: &'a [V],
    pub raw: &'a BTreeMap<usize, Value>,
    pub messages: &'a BTreeMap<usize, Vec<Message>>,
    /// The fields to write, by position; all when `None`.
    pub only: Option<&'a [bool]>,
    /// The page's links and this record's linked cells (`includeLinks`).
    pub links: Option<(&'a Links, &'a BTreeMap<usize, Vec<usize>>)>,
}

impl<V: Serialize> Serialize for ValuesView<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (i, field) in self.config.fields.iter().enumerate() {
            if self
                .only
                .is_some_and(|only| !only.get(i).copied().unwrap_or(false))
            {
                continue;
            }
            let messages = self.messages.get(&i).map(Vec::as_slice).unwrap_or_default();
            let cell = CellView {
                value: self.vals.get(i),
                valid: !messages.iter().any(|m| m.kind == MessageType::Error),
                messages,
                raw: self.raw.get(&i),
                links: self.links.and_then(|(links, cells)| {
                    Some(LinkedView {
                        links,
                        config: links.configs.get(&i)?,
                        at: cells.get(&i)?,
                    })
                }),
            };
            map.serialize_entry(&field.key, &cell)?;
        }
        map.end()
    }
}

/// A record in Flatfile's shape.
pub(super) fn serialize_record<S: Serializer, V: Serialize>(
    s: S,
    id: RecordId,
    values: ValuesView<'_, V>,
    valid: bool,
    metadata: Option<&RawValue>,
    version: i64,
    config: Option<&RawValue>,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(6 + config.is_some() as usize))?;
    map.serialize_entry("id", &id)?;
    map.serialize_entry("values", &values)?;
    map.serialize_entry("valid", &valid)?;
    map.serialize_entry("messages", &[] as &[Message])?;
    match metadata {
        Some(m) => map.serialize_entry("metadata", m)?,
        None => map.serialize_entry("metadata", &serde_json::Map::new())?,
    }
    map.serialize_entry("versionId", &format!("us_vr_{version}"))?;
    if let Some(config) = config {
        map.serialize_entry("config", config)?;
    }
    map.end()
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let vals: Vec<&RawValue> = serde_json::from_str(&self.row.vals).unwrap_or_default();
        let (raw, messages) = self.row.sparse();
        let metadata: Option<&RawValue> = self
            .row
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok());
        let values = ValuesView {
            config: self.config,
            vals: &vals,
            raw: &raw,
            messages: &messages,
            only: self.only,
            links: self
                .links
                .and_then(|links| Some((links, links.cells.get(&self.row.id)?))),
        };
        serialize_record(
            s,
            self.row.record_id(),
            values,
            self.row.valid,
            metadata,
            self.row.version,
            self.row
                .config
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok()),
        )
    }
}

/// `{"data": {"success": true, "records": [...], "counts"?, "versionId"?, "commitId"?}}`.
#[derive(Serialize)]
pub struct RecordsEnvelope<'a> {
    pub data: RecordsData<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordsData<'a> {
    pub success: bool,
    pub records: Vec<RecordView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The commit the write made (what `util-common`'s `createRecords` returns, and what a
    /// caller waits on for the record hooks: probe 51b 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_id: Option<String>,
}

impl<'a> RecordsEnvelope<'a> {
    pub fn new(rows: &'a [RecordRow], config: &'a SheetConfig) -> Self {
        RecordsEnvelope {
            data: RecordsData {
                success: true,
                records: rows
                    .iter()
                    .map(|row| RecordView {
                        row,
                        config,
                        only: None,
                        links: None,
                    })
                    .collect(),
                counts: None,
                version_id: None,
                commit_id: None,
            },
        }
    }

    /// Writes only the fields marked in `only` (a read's `fields`).
    pub fn only(mut self, only: Option<&'a [bool]>) -> Self {
        for record in &mut self.data.records {
            record.only = only;
        }
        self
    }

    /// Writes each reference cell's linked records (a read's `includeLinks`).
    pub fn links(mut self, links: Option<&'a Links>) -> Self {
        for record in &mut self.data.records {
            record.links = links;
        }
        self
    }

    pub fn respond(&self) -> actix_web::HttpResponse {
        json_response(self.to_json())
    }

    /// The answer as JSON. A big one is written in parts, one per core: records are
    /// independent, so the list is the parts joined by commas (a 10,000-record answer took
    /// a fifth of an insert's time on one core).
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let records = &self.data.records;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if records.len() < PARALLEL_FROM || threads < 2 {
            return serde_json::to_vec(self);
        }
        let parts: Vec<serde_json::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = records
                .chunks(records.len().div_ceil(threads))
                .map(|part| scope.spawn(move || serde_json::to_vec(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("serializing records panicked"))
                .collect()
        });
        let parts = parts.into_iter().collect::<serde_json::Result<Vec<_>>>()?;
        let size = parts.iter().map(Vec::len).sum();
        self.spliced(size, |out| {
            for (k, part) in parts.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                // `[...]`: the items without their brackets.
                out.extend_from_slice(&part[1..part.len() - 1]);
            }
        })
    }

    /// The answer for records written ahead of their ids ([`RecordsAhead`]), `rows` being
    /// the same records as stored, in order: each record's text, its id written in front.
    pub fn with_ahead(&self, rows: &[RecordRow], ahead: &[RecordsAhead]) -> serde_json::Result<Vec<u8>> {
        use std::io::Write;
        let size = ahead.iter().map(RecordsAhead::bytes).sum::<usize>() + rows.len() * 32;
        self.spliced(size, |out| {
            let spans = ahead.iter().flat_map(RecordsAhead::texts);
            for (k, (row, rest)) in rows.iter().zip(spans).enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                let _ = write!(out, "{{\"id\":\"{}\",", row.record_id());
                out.extend_from_slice(rest);
            }
        })
    }

    /// The envelope around an empty list, with the items `write` writes spliced into it.
    fn spliced(&self, size: usize, write: impl FnOnce(&mut Vec<u8>)) -> serde_json::Result<Vec<u8>> {
        let shell = serde_json::to_vec(&RecordsEnvelope {
            data: RecordsData {
                success: self.data.success,
                records: Vec::new(),
                counts: self.data.counts.clone(),
                version_id: self.data.version_id.clone(),
                commit_id: self.data.commit_id.clone(),
            },
        })?;
        const EMPTY: &[u8] = b"\"records\":[]";
        let at = shell
            .windows(EMPTY.len())
            .position(|w| w == EMPTY)
            .expect("the envelope holds a records list")
            + EMPTY.len()
            - 1;
        let mut out = Vec::with_capacity(shell.len() + size);
        out.extend_from_slice(&shell[..at]);
        write(&mut out);
        out.extend_from_slice(&shell[at..]);
        Ok(out)
    }
}

/// Records from which an answer is written on every core.
const PARALLEL_FROM: usize = 2000;

/// A JSON answer of bytes written ahead (see [`RecordsEnvelope::to_json`]).
pub fn json_response(body: serde_json::Result<Vec<u8>>) -> actix_web::HttpResponse {
    match body {
        Ok(body) => actix_web::HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
        Err(e) => actix_web::ResponseError::error_response(&crate::web::error::AppError::Internal(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(config: &SheetConfig, n: usize) -> Vec<RecordRow> {
        (0..n)
            .map(|i| {
                let age = if i % 7 == 0 { json!("old") } else { json!(i) };
                let checked = crate::validate::check_values(config, vec![json!(format!("p{i}@x.io")), age]);
                let e = crate::model::record::encode(&checked);
                RecordRow {
                    id: i as i64 + 1,
                    sheet_seq: 1,
                    vals: e.vals,
                    raw: e.raw,
                    messages: e.messages,
                    valid: e.valid,
                    error_fields: e.error_fields,
                    metadata: (i % 3 == 0).then(|| r#"{"n":1}"#.to_string()),
                    version: 1,
                    custom: None,
                    config: None,
                }
            })
            .collect()
    }

    /// The answer written in parts is byte for byte what one pass writes, with the
    /// envelope's other members too.
    #[test]
    fn an_answer_written_in_parts_is_the_one_written_whole() {
        let config = crate::blueprint::parse_stored_sheet(&json!({
            "name": "People", "slug": "people", "fields": [
                {"key": "email", "type": "string", "constraints": [{"type": "required"}]},
                {"key": "age", "type": "number"}
            ]
        }))
        .unwrap();
        for n in [0, 3, PARALLEL_FROM - 1, PARALLEL_FROM, 5001] {
            let rows = rows(&config, n);
            let mut envelope = RecordsEnvelope::new(&rows, &config);
            assert_eq!(
                envelope.to_json().unwrap(),
                serde_json::to_vec(&envelope).unwrap(),
                "{n}"
            );
            envelope.data.counts = Some(Counts {
                total: 9,
                ..Default::default()
            });
            envelope.data.version_id = Some("us_vr_2".into());
            let whole = serde_json::to_vec(&envelope).unwrap();
            assert_eq!(envelope.to_json().unwrap(), whole, "{n}");
            let parsed: Value = serde_json::from_slice(&whole).unwrap();
            assert_eq!(parsed["data"]["records"].as_array().unwrap().len(), n);
        }
    }
}
