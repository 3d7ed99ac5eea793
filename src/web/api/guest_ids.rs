//! A guest's job carries its `config` and `input` to the listener, which acts on them with
//! the team's key: every Wharf id they name must be of the guest's spaces, as the ids in
//! its paths must be. (Probe 47c D4: a guest's action named a sheet of another space.)

use crate::db::schema::{bulk_changes, records, sheets, workbooks};
use crate::db::AnyConnection;
use crate::ids::{
    BulkChangeId, CommitId, DocumentId, EnvironmentId, FileId, JobId, RecordId, SheetId, SpaceId, WorkbookId,
};
use crate::model::{commit, document, file, job, sheet, workbook, ModelError, ModelResult};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// Refuses (403) a new job of a guest (whose spaces are `spaces`; none for the team) that
/// names an object outside them in its `config`, `input` or `metadata`, however it is
/// started: the API, the grid's action buttons, a file's actions.
pub(crate) fn refuse_for_guest(
    conn: &mut AnyConnection,
    job: &crate::model::job::JobInput,
    spaces: Option<&[SpaceId]>,
) -> ModelResult<()> {
    match spaces {
        None => Ok(()),
        Some(spaces) => {
            // Wharf's delete and bulk-change jobs check their config themselves and take no
            // other key (a value a guest types into a cell or a search is no id to check);
            // their input and metadata go to listeners as any job's (probe 50a F6). A
            // mapping's config is checked: it keeps keys beyond its two sheets, which
            // listeners read (probe 51a F3).
            let own = job.job_type == "workbook"
                && matches!(job.operation.as_str(), "delete-records" | "bulk-change");
            let config = (!own).then_some(&job.config);
            let given = [config, job.input.as_ref(), Some(&job.metadata)];
            refuse_foreign_ids(conn, &job.environment_id, spaces, &given)
        }
    }
}

/// Refuses (403) a guest's job whose `config` or `input` names an object outside `spaces`:
/// a space, workbook, sheet, file, job, document or record of another space, or another
/// environment. An id that names nothing is refused alike, so the answer tells a guest
/// nothing about what exists elsewhere.
fn refuse_foreign_ids(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    given: &[Option<&Value>],
) -> ModelResult<()> {
    let mut texts = BTreeSet::new();
    for value in given.iter().flatten() {
        collect_strings(value, &mut texts);
    }
    let mut record_ids = BTreeSet::new();
    for text in &texts {
        if let Some(id) = RecordId::parse(text) {
            record_ids.insert(id.0);
        } else if !id_within(conn, env, spaces, text)? {
            return Err(foreign(text));
        }
    }
    let record_ids: Vec<i64> = record_ids.into_iter().collect();
    for chunk in record_ids.chunks(500) {
        if let Some(id) = record_outside(conn, spaces, chunk)? {
            return Err(foreign(&RecordId(id).to_string()));
        }
    }
    Ok(())
}

fn foreign(id: &str) -> ModelError {
    ModelError::Forbidden(format!(
        "this job names `{id}`, which is not of your spaces: a guest's job names only objects of the spaces it was invited to"
    ))
}

/// Every string in a JSON value, keys included (`{"us_sh_...": true}` names a sheet too),
/// at any depth, and every id inside one.
fn collect_strings(value: &Value, into: &mut BTreeSet<String>) {
    fn add(text: &str, into: &mut BTreeSet<String>) {
        into.insert(text.to_string());
        into.extend(embedded_ids(text).into_iter().map(str::to_string));
    }
    match value {
        Value::String(s) => add(s, into),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, into)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            add(k, into);
            collect_strings(v, into);
        }),
        _ => {}
    }
}

/// The id-shaped words inside a text (`a,us_sh_x`, `sheet:us_sh_x`, ` us_sh_x`, a URL):
/// listener code that splits, trims or parses such a text acts on the id in it with the
/// team's key (probe 52a 6). A word is `us_`, a lowercase kind, `_` and letters or digits,
/// not preceded by a letter or digit.
fn embedded_ids(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("us_") {
        let start = from + at;
        from = start + 3;
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let kind = bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_lowercase())
            .count();
        let sep = from + kind;
        if kind == 0 || bytes.get(sep) != Some(&b'_') {
            continue;
        }
        let tail = bytes[sep + 1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if tail > 0 {
            found.push(&text[start..sep + 1 + tail]);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::embedded_ids;

    #[test]
    fn ids_inside_texts_are_found() {
        assert_eq!(embedded_ids("a,us_sh_x1"), vec!["us_sh_x1"]);
        assert_eq!(
            embedded_ids("sheet:us_sh_x1 and us_rc_42."),
            vec!["us_sh_x1", "us_rc_42"]
        );
        assert_eq!(
            embedded_ids("https://h/v1/sheets/us_sh_ab/records"),
            vec!["us_sh_ab"]
        );
        assert_eq!(embedded_ids(" us_wb_q"), vec!["us_wb_q"]);
        assert_eq!(embedded_ids("us_sh_ab_cd"), vec!["us_sh_ab"]);
        assert!(embedded_ids("focus_sh_ab, us_sp_ is a prefix, us__x, us_X_y").is_empty());
    }
}

/// Whether a string is of the guest's spaces: true for text that is no id of an object
/// kept in a space.
fn id_within(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    text: &str,
) -> ModelResult<bool> {
    let ours = |space: &SpaceId| spaces.contains(space);
    Ok(if let Some(id) = SpaceId::parse(text) {
        ours(&id)
    } else if let Some(id) = EnvironmentId::parse(text) {
        &id == env
    } else if let Some(id) = WorkbookId::parse(text) {
        workbook::find(conn, env, &id)?.is_some_and(|w| ours(&w.space_id))
    } else if let Some(id) = SheetId::parse(text) {
        sheet::find(conn, env, &id)?.is_some_and(|(_, space)| ours(&space))
    } else if let Some(id) = FileId::parse(text) {
        file::find(conn, env, &id)?.is_some_and(|f| ours(&f.space_id))
    } else if let Some(id) = JobId::parse(text) {
        job::find(conn, env, &id)?.is_some_and(|j| j.space_id.as_ref().is_some_and(ours))
    } else if let Some(id) = DocumentId::parse(text) {
        document::space_of(conn, env, &id)?.is_some_and(|space| ours(&space))
    } else if let Some(id) = CommitId::parse(text) {
        // A commit's records are read at its id: it is of its sheet's space.
        match commit::find(conn, env, &id)? {
            Some(c) => sheet::find(conn, env, &c.sheet_id)?.is_some_and(|(_, space)| ours(&space)),
            None => false,
        }
    } else if let Some(id) = BulkChangeId::parse(text) {
        let sheet: Option<SheetId> = bulk_changes::table
            .find(id.as_str())
            .select(bulk_changes::sheet_id)
            .first(conn)
            .optional()?;
        match sheet {
            Some(sheet) => sheet::find(conn, env, &sheet)?.is_some_and(|(_, space)| ours(&space)),
            None => false,
        }
    } else {
        true
    })
}

/// The first of these records that is missing or of a sheet outside `spaces`.
fn record_outside(conn: &mut AnyConnection, spaces: &[SpaceId], ids: &[i64]) -> ModelResult<Option<i64>> {
    let found: Vec<(i64, i64)> = records::table
        .filter(records::id.eq_any(ids))
        .select((records::id, records::sheet_seq))
        .load(conn)?;
    let seqs: BTreeSet<i64> = found.iter().map(|(_, seq)| *seq).collect();
    let inside: BTreeSet<i64> = sheets::table
        .inner_join(workbooks::table)
        .filter(sheets::seq.eq_any(seqs.iter().copied().collect::<Vec<_>>()))
        .filter(workbooks::space_id.eq_any(spaces))
        .select(sheets::seq)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let kept: BTreeSet<i64> = found
        .iter()
        .filter(|(_, seq)| inside.contains(seq))
        .map(|(id, _)| *id)
        .collect();
    Ok(ids.iter().copied().find(|id| !kept.contains(id)))
}
