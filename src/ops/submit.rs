//! A Submit's delivery, written once for the worker that sends it and the link that serves
//! its records: the signed payload, the receiver's rejections put on the records, the
//! job's outcome, and the frozen records as JSON Lines or CSV.

use crate::db::AnyConnection;
use crate::ids::RecordId;
use crate::model::commit::Hooks;
use crate::model::job::{self, Job};
use crate::model::record::{self, RecordUpdate};
use crate::model::submission::{self, FrozenSheet, Submission};
use crate::model::{iso, sheet, space, workbook, ModelError};
use crate::storage::Storage;
use crate::validate::{Message, Source};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

/// The longest message a receiver's rejection puts on a cell, as for listener code's
/// messages; a longer one is cut.
const MESSAGE_MAX_CHARS: usize = 10_000;
/// The longest part of the receiver's own `message` that the job's outcome quotes.
const SAYS_MAX_CHARS: usize = 2_000;

/// Records sent inside the payload, in all; a larger submission sends only links.
pub const INLINE_MAX: i64 = 10_000;

/// The `workbook.submitted` payload: each sheet's counts and `recordsUrl` (valid 24 hours
/// from now), and its records inline when the whole submission has at most
/// [`INLINE_MAX`].
pub fn payload(
    conn: &mut AnyConnection,
    storage: &Storage,
    base_url: &str,
    s: &Submission,
) -> anyhow::Result<Value> {
    let key = submission::link_key(conn)?;
    let space_name = space::find(conn, &s.environment_id, &s.space_id)?.map(|sp| sp.name);
    let wb_name = workbook::find(conn, &s.environment_id, &s.workbook_id)?.map(|w| w.name);
    let inline = s.record_count <= INLINE_MAX;
    let base = base_url.trim_end_matches('/');
    let mut sheets = Vec::new();
    for f in s.frozen_sheets() {
        let mut v = json!({
            "id": f.id,
            "slug": f.slug,
            "name": f.name,
            "counts": {"total": f.total, "valid": f.valid, "error": f.error},
            "recordsUrl": format!("{base}{}", submission::records_path(&key, &s.id, &f.id, crate::model::now())),
        });
        if inline {
            v["records"] = Value::Array(read_records(storage, &f)?);
        }
        sheets.push(v);
    }
    Ok(json!({
        "type": "workbook.submitted",
        "timestamp": iso(&s.created_at),
        "data": {
            "submissionId": s.id,
            "space": {"id": s.space_id, "name": space_name},
            "workbook": {"id": s.workbook_id, "name": wb_name},
            "sheets": sheets,
        },
    }))
}

fn read_records(storage: &Storage, f: &FrozenSheet) -> anyhow::Result<Vec<Value>> {
    let copy = storage.local_copy(&f.storage_key)?;
    let file = std::fs::File::open(copy.path())?;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if !line.is_empty() {
            out.push(serde_json::from_str(&line)?);
        }
    }
    Ok(out)
}

/// Each frozen record's id and version, when the submission kept them (`None`: frozen
/// before they were kept).
fn frozen_versions(storage: &Storage, f: &FrozenSheet) -> anyhow::Result<Option<HashMap<i64, i64>>> {
    let Some(key) = &f.versions_key else {
        return Ok(None);
    };
    let copy = storage.local_copy(key)?;
    let mut out = HashMap::new();
    for line in std::io::BufReader::new(std::fs::File::open(copy.path())?).lines() {
        let line = line?;
        if let Some((id, version)) = line.split_once(' ') {
            out.insert(id.parse()?, version.parse()?);
        }
    }
    Ok(Some(out))
}

/// `text` cut to `max` characters, saying so.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}… (cut at {max} characters)", &text[..at]),
        None => text.to_string(),
    }
}

/// A rejection's message as a cell keeps it: cut, storable, and never empty (a cell in
/// error says why).
fn rejection_text(text: String, slug: &str) -> String {
    let text = crate::names::storable(text);
    match text.trim() {
        "" => format!("rejected by {slug}"),
        _ => cut(&text, MESSAGE_MAX_CHARS),
    }
}

/// Flatfile's rejection answer.
#[derive(Debug, Default, Deserialize)]
pub struct Answer {
    #[serde(default)]
    pub rejections: Option<Rejections>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejections {
    #[serde(default)]
    pub message: Option<String>,
    /// Delete the submitted records that were not rejected.
    #[serde(default)]
    pub delete_submitted: bool,
    #[serde(default)]
    pub sheets: Vec<RejectedSheet>,
    /// Why a `rejections` member the receiver sent could not be read (none were applied).
    #[serde(skip)]
    pub unreadable: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedSheet {
    pub sheet_id: String,
    #[serde(default)]
    pub rejected_records: Vec<RejectedRecord>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RejectedRecord {
    pub id: String,
    #[serde(default)]
    pub values: Vec<RejectedValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RejectedValue {
    pub field: String,
    pub message: String,
}

/// Reads a receiver's answer body: rejections when it sent Flatfile's shape, none for
/// anything else (an empty or plain-text 2xx is a plain success); a `rejections` member
/// of another shape is none applied, and the outcome says why.
pub fn rejections_of(body: &str) -> Rejections {
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return Rejections::default();
    };
    match answer.get("rejections").filter(|r| !r.is_null()) {
        None => Rejections::default(),
        Some(given) => Rejections::deserialize(given).unwrap_or_else(|e| Rejections {
            unreadable: Some(e.to_string()),
            ..Default::default()
        }),
    }
}

/// What the rejections did: how many records got messages, and the first sheet of them.
#[derive(Debug, Default)]
pub struct Applied {
    pub records: usize,
    pub first_sheet: Option<String>,
    /// Submitted records deleted (`deleteSubmitted`).
    pub deleted: usize,
    /// Submitted records `deleteSubmitted` left because they changed since they went.
    pub kept_changed: usize,
}

/// Puts the rejections' messages (source `submit`) on the records of the submission's
/// sheets, one commit per sheet; records that did not go and records deleted meanwhile
/// are skipped, and a message on a field the sheet does not have goes on its first field.
/// With `deleteSubmitted`, the submitted
/// records that were not rejected and did not change since they went are deleted.
pub fn apply_rejections(
    conn: &mut AnyConnection,
    storage: &Storage,
    s: &Submission,
    r: &Rejections,
) -> anyhow::Result<Applied> {
    // Each sheet's frozen versions, read once (from the bucket, it is a download).
    let mut went: HashMap<String, Option<HashMap<i64, i64>>> = HashMap::new();
    for f in s.frozen_sheets() {
        went.insert(f.id.clone(), frozen_versions(storage, &f)?);
    }
    let mut applied = Applied::default();
    for rs in r.sheets.iter().filter(|rs| went.contains_key(&rs.sheet_id)) {
        let Some(id) = crate::ids::SheetId::parse(&rs.sheet_id) else {
            continue;
        };
        let ctx = sheet::load_context(conn, &s.environment_id, &id)?;
        let sheet_went = went.get(&rs.sheet_id).and_then(Option::as_ref);
        let mut updates = Vec::new();
        for rec in &rs.rejected_records {
            let Some(rid) = RecordId::parse(&rec.id) else {
                continue;
            };
            if sheet_went.is_some_and(|w| !w.contains_key(&rid.0)) {
                continue;
            }
            if !record::exists(conn, ctx.sheet.seq, rid.0)? {
                continue;
            }
            let mut messages: BTreeMap<String, Vec<Message>> = BTreeMap::new();
            for v in &rec.values {
                // A field the sheet lacks: its words go on the first field, naming it, so
                // the rejected record shows why and is counted.
                let (field, text) = match (ctx.config.field_index(&v.field), ctx.config.fields.first()) {
                    (Some(_), _) => (v.field.clone(), v.message.clone()),
                    (None, Some(first)) => (
                        first.key.clone(),
                        format!("{} (not a field of this sheet): {}", v.field, v.message),
                    ),
                    (None, None) => continue,
                };
                messages
                    .entry(field)
                    .or_default()
                    .push(Message::error(Source::Submit, rejection_text(text, &s.slug)));
            }
            if !messages.is_empty() {
                updates.push(RecordUpdate {
                    id: rid,
                    values: BTreeMap::new(),
                    messages,
                    metadata: None,
                    config: None,
                    uploaded: BTreeMap::new(),
                    confirms: false,
                });
            }
        }
        if updates.is_empty() {
            continue;
        }
        record::update(conn, &ctx, &updates, &format!("submit:{}", s.slug), &Hooks::Quiet)?;
        // A record named twice is one rejected record (probe 63d D1: counted twice).
        let named: std::collections::HashSet<i64> = updates.iter().map(|u| u.id.0).collect();
        applied.records += named.len();
        applied.first_sheet.get_or_insert(rs.sheet_id.clone());
    }
    if r.delete_submitted {
        (applied.deleted, applied.kept_changed) = delete_submitted(conn, storage, s, r, &mut went)?;
    }
    Ok(applied)
}

/// Deletes the records of the submission that were not rejected (those still there, and
/// still as they went: a record edited since keeps what was never sent). Returns how many
/// were deleted and how many were kept for a change.
fn delete_submitted(
    conn: &mut AnyConnection,
    storage: &Storage,
    s: &Submission,
    r: &Rejections,
    went: &mut HashMap<String, Option<HashMap<i64, i64>>>,
) -> anyhow::Result<(usize, usize)> {
    let actor = format!("submit:{}", s.slug);
    let (mut deleted, mut kept_changed) = (0, 0);
    for f in s.frozen_sheets() {
        let Some(id) = crate::ids::SheetId::parse(&f.id) else {
            continue;
        };
        let rejected: std::collections::HashSet<i64> = r
            .sheets
            .iter()
            .filter(|x| x.sheet_id == f.id)
            .flat_map(|x| x.rejected_records.iter().filter_map(|rr| RecordId::parse(&rr.id)))
            .map(|rid| rid.0)
            .collect();
        let ctx = sheet::load_context(conn, &s.environment_id, &id)?;
        if let Some(versions) = went.remove(&f.id).flatten() {
            let mut ids: Vec<(i64, i64)> = versions
                .into_iter()
                .filter(|(id, _)| !rejected.contains(id))
                .collect();
            ids.sort_unstable();
            for chunk in ids.chunks(5000) {
                let versions: HashMap<i64, i64> = chunk.iter().copied().collect();
                let (gone, changed) = record::delete_unchanged(conn, &ctx, &versions, &actor)?;
                deleted += gone.rows;
                kept_changed += changed;
            }
            continue;
        }
        let ids: Vec<RecordId> = read_records(storage, &f)?
            .iter()
            .filter_map(|rec| rec["id"].as_str())
            .filter_map(RecordId::parse)
            .filter(|rid| !rejected.contains(&rid.0))
            .collect();
        for chunk in ids.chunks(5000) {
            deleted += record::delete_present(conn, &ctx, chunk, &actor)?.rows;
        }
    }
    Ok((deleted, kept_changed))
}

/// The outcome of a delivered submission: how many went and came back, with a link to
/// the rejected ones.
pub fn delivered_outcome(s: &Submission, r: &Rejections, applied: &Applied) -> Value {
    let mut message = format!(
        "{} went to {}",
        crate::words::records(s.record_count as u64),
        s.slug
    );
    if applied.records > 0 {
        message.push_str(&format!("; {} came back rejected", applied.records));
    }
    if applied.deleted > 0 {
        message.push_str(&format!(
            "; {} {} deleted",
            crate::words::counted(applied.deleted as u64, "submitted record", "submitted records"),
            if applied.deleted == 1 { "was" } else { "were" }
        ));
    }
    if applied.kept_changed > 0 {
        message.push_str(&format!(
            "; {} changed since they went and were kept",
            applied.kept_changed
        ));
    }
    message.push('.');
    if let Some(why) = &r.unreadable {
        message.push_str(&format!(
            " Its `rejections` were not in Flatfile's shape ({}), so none were applied.",
            cut(why, SAYS_MAX_CHARS)
        ));
    }
    if let Some(m) = r.message.as_deref().filter(|m| !m.is_empty()) {
        message.push_str(&format!(" The receiver says: {}", cut(m, SAYS_MAX_CHARS)));
    }
    let mut outcome = json!({
        "acknowledge": true,
        "heading": if applied.records > 0 { "Submitted, with rejections" } else { "Submitted" },
        "message": message,
        "submitted": s.record_count,
        "rejected": applied.records,
        "deleted": applied.deleted,
    });
    if let Some(sheet) = &applied.first_sheet {
        // The workbook, opened on that sheet's records in error (the rejected among them).
        outcome["next"] = json!({
            "type": "id",
            "id": s.workbook_id,
            "query": format!("sheet={sheet}&filter=error"),
            "label": "See the rejected records",
        });
    }
    outcome
}

/// Ends the submission's job (unless it already ended: a submission sent again by an
/// admin after its job was over leaves the job as it was).
pub fn finish_job(
    conn: &mut AnyConnection,
    s: &Submission,
    final_status: &str,
    outcome: Value,
    info: &str,
) -> Result<Option<Job>, ModelError> {
    let j = job::get(conn, &s.job_id)?;
    if j.is_final() {
        return Ok(None);
    }
    match job::finish(
        conn,
        &j,
        final_status,
        Some(outcome),
        Some(info.to_string()),
        "wharf",
    ) {
        Ok(j) => Ok(Some(j)),
        Err(ModelError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes a frozen sheet's records as CSV (`id` and the field keys as columns; a message
/// column would not round-trip) from its JSON Lines; text a spreadsheet would run as a
/// formula gets a leading apostrophe, as in every CSV Wharf writes (the JSON Lines keep it).
pub fn jsonl_to_csv(
    f: &FrozenSheet,
    input: impl BufRead,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["id".to_string()];
    header.extend(f.fields.iter().cloned());
    w.write_record(&header)?;
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for line in input.lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let rec: Value = serde_json::from_str(&line)?;
        row.clear();
        row.push(rec["id"].as_str().unwrap_or_default().to_string());
        for k in &f.fields {
            row.push(match &rec["values"][k] {
                Value::Null => String::new(),
                // Opened in a spreadsheet like every CSV Wharf writes: formulas defused.
                Value::String(s) => crate::extract::safe_cell(s),
                other => other.to_string(),
            });
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_of_a_submission_defuses_formulas_and_keeps_numbers() {
        let sheet = FrozenSheet {
            id: "us_sh_1".into(),
            slug: "contacts".into(),
            name: "Contacts".into(),
            fields: vec!["name".into(), "amount".into(), "note".into()],
            total: 1,
            valid: 1,
            error: 0,
            storage_key: String::new(),
            versions_key: None,
        };
        let jsonl =
            r#"{"id":"us_rc_1","values":{"name":"=HYPERLINK(\"http://x\")","amount":-5,"note":"-12.5"}}"#;
        let mut out = Vec::new();
        jsonl_to_csv(&sheet, jsonl.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "id,name,amount,note\nus_rc_1,\"'=HYPERLINK(\"\"http://x\"\")\",-5,-12.5\n"
        );
    }
}
