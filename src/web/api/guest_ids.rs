//! A guest's job carries its `config` and `input` to the listener, which acts on them with
//! the team's key: every Wharf id they name must be of the guest's spaces, as the ids in
//! its paths must be. (Probe 47c D4: a guest's action named a sheet of another space.)

use crate::db::schema::{bulk_changes, environments, events, records, sheets, workbooks};
use crate::db::AnyConnection;
use crate::ids::{
    BulkChangeId, CommitId, DocumentId, EnvironmentId, EventId, FileId, JobId, RecordId, SheetId, SpaceId,
    WorkbookId,
};
use crate::model::{commit, document, file, job, sheet, space, workbook, ModelError, ModelResult};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// Refuses (403) a new job of a guest (whose spaces are `spaces`; none for the team) that
/// names an object outside them in its `config`, `input`, `metadata` or `info`, however it is
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
            if own {
                refuse_records_elsewhere(conn, spaces, &job.config)?;
            }
            let info = job.info.clone().map(Value::String);
            let given = [config, job.input.as_ref(), Some(&job.metadata), info.as_ref()];
            refuse_foreign_ids(conn, &job.environment_id, spaces, &given)
        }
    }
}

/// Refuses (403) what a guest sends for a job (a mapping's plan) that names an object
/// outside its spaces, as [`refuse_for_guest`] does a new job's parts.
pub(crate) fn refuse_in(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    given: &Value,
) -> ModelResult<()> {
    refuse_foreign_ids(conn, env, spaces, &[Some(given)])
}

/// Refuses (403) a guest's job whose `config`, `input`, `metadata` or `info` names an
/// object outside `spaces`: a space, workbook, sheet, file, job, document, commit, bulk
/// change, event, record, guest or secret of another space, or another environment, or the
/// team's own (a webhook, an API key, a team member), as a whole string, a
/// word inside a text (`a,us_sh_...`, a URL), after percent-decoding it (twice over too)
/// or inside JSON held in a string (listener code may split, decode or parse what it is
/// given). Ids of the numbered kinds (records, events) that name nothing are refused alike,
/// so the answer tells a guest nothing about what exists elsewhere; the other kinds' ids
/// are random, so one naming nothing tells nothing and is left as the customer's word
/// (`regions: us_fl_miami`: probes 59c D3, 59d D3, D4).
fn refuse_foreign_ids(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    given: &[Option<&Value>],
) -> ModelResult<()> {
    let mut texts = BTreeSet::new();
    for value in given.iter().flatten() {
        collect_strings(value, &mut texts, 0);
    }
    let inside: Vec<String> = texts.iter().flat_map(|text| ids_inside(text)).collect();
    texts.extend(inside);
    let mut record_ids = BTreeSet::new();
    for text in &texts {
        if let Some(id) = RecordId::parse(text) {
            record_ids.insert(id.0);
            continue;
        }
        let numbered = EventId::parse(text).is_some();
        match place_of(conn, env, spaces, text)? {
            Some(false) => return Err(foreign(text)),
            None if numbered => return Err(foreign(text)),
            _ => {}
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

/// Refuses (403) a guest's delete or bulk-change job whose `ids` or `exceptions` name a
/// record of another space (probe 61a D2: they changed nothing there, but went out to
/// listeners in the job's events). An id naming no record is let through: the job skips
/// records deleted meanwhile, and a guest's selection may hold one a colleague deleted.
fn refuse_records_elsewhere(conn: &mut AnyConnection, spaces: &[SpaceId], config: &Value) -> ModelResult<()> {
    let named: Vec<i64> = ["ids", "exceptions"]
        .iter()
        .filter_map(|key| config.get(key).and_then(Value::as_array))
        .flatten()
        .filter_map(|v| v.as_str().and_then(RecordId::parse))
        .map(|id| id.0)
        .collect();
    for chunk in named.chunks(500) {
        let found: BTreeSet<i64> = records::table
            .filter(records::id.eq_any(chunk))
            .select(records::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        let existing: Vec<i64> = chunk.iter().copied().filter(|id| found.contains(id)).collect();
        if let Some(id) = record_outside(conn, spaces, &existing)? {
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
/// at any depth, and those of JSON held in a string (`"{\"sheet\": \"\\u0075s_sh_...\"}"`,
/// which a listener's `JSON.parse` reads: probe 59d D1), up to `MOST_NESTED` strings deep.
fn collect_strings(value: &Value, into: &mut BTreeSet<String>, nested: usize) {
    const MOST_NESTED: usize = 3;
    let add = |text: &str, into: &mut BTreeSet<String>| {
        into.insert(text.to_string());
        let held = text.trim_start();
        if nested < MOST_NESTED && (held.starts_with('{') || held.starts_with('[') || held.starts_with('"')) {
            if let Ok(inner) = serde_json::from_str::<Value>(text) {
                collect_strings(&inner, into, nested + 1);
            }
        }
    };
    match value {
        Value::String(s) => add(s, into),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, into, nested)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            add(k, into);
            collect_strings(v, into, nested);
        }),
        _ => {}
    }
}

/// The ids inside a text as written and, where it holds `%`, percent-decoded (`%2Cus_rc_2`,
/// `sheets%2Fus_sh_x`): listener code that splits, trims, parses or decodes such a text acts
/// on the id in it with the team's key (probes 52a 6, 59c D1).
fn ids_inside(text: &str) -> Vec<String> {
    let mut found: Vec<String> = embedded_ids(text).into_iter().map(str::to_string).collect();
    // Decoded again while it changes (`%2575s_sh_...` is `%75s_sh_...` once decoded, which
    // a path decodes once more: probe 59d D1), a few times at most.
    let mut text = std::borrow::Cow::Borrowed(text);
    for _ in 0..3 {
        if !text.contains('%') {
            break;
        }
        let decoded = percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == *text {
            break;
        }
        found.extend(embedded_ids(&decoded).into_iter().map(str::to_string));
        text = std::borrow::Cow::Owned(decoded);
    }
    found
}

/// The id-shaped words inside a text (`a,us_sh_x`, `sheet:us_sh_x`, ` us_sh_x`, a URL,
/// `xus_sh_x`): `us_`, a lowercase kind, `_` and letters or digits.
fn embedded_ids(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("us_") {
        let start = from + at;
        from = start + 3;
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

/// Where a string points: `Some(true)` at the guest's spaces (or at nothing kept in a
/// space: it is no id), `Some(false)` at an object outside them, `None` at nothing.
fn place_of(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    text: &str,
) -> ModelResult<Option<bool>> {
    match place_in(conn, env, spaces, text)? {
        // Of another environment: outside too (probe 58c F1: only the guest's own
        // environment was looked in, and another's sheet read as naming nothing).
        None if named_anywhere(conn, text)? => Ok(Some(false)),
        place => Ok(place),
    }
}

/// Whether an id of the kinds [`place_in`] looks up in one environment names an object in
/// any environment.
fn named_anywhere(conn: &mut AnyConnection, text: &str) -> ModelResult<bool> {
    use crate::db::schema::{commits, documents, files, jobs, spaces};
    // Whether the table holds a row of this id.
    macro_rules! held_in {
        ($table:ident) => {
            diesel::select(diesel::dsl::exists($table::table.find(text))).get_result::<bool>(conn)?
        };
    }
    Ok(if SpaceId::parse(text).is_some() {
        held_in!(spaces)
    } else if WorkbookId::parse(text).is_some() {
        held_in!(workbooks)
    } else if SheetId::parse(text).is_some() {
        held_in!(sheets)
    } else if FileId::parse(text).is_some() {
        held_in!(files)
    } else if JobId::parse(text).is_some() {
        held_in!(jobs)
    } else if DocumentId::parse(text).is_some() {
        held_in!(documents)
    } else if CommitId::parse(text).is_some() {
        held_in!(commits)
    } else if BulkChangeId::parse(text).is_some() {
        held_in!(bulk_changes)
    } else {
        false
    })
}

/// Whether `text` names an object of the guest's spaces (`Some(true)`), another of this
/// environment (`Some(false)`), or nothing here (`None`).
fn place_in(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    text: &str,
) -> ModelResult<Option<bool>> {
    let ours = |space: &SpaceId| spaces.contains(space);
    let sheet_place = |conn: &mut AnyConnection, sheet: Option<SheetId>| -> ModelResult<Option<bool>> {
        Ok(match sheet {
            Some(sheet) => sheet::find(conn, env, &sheet)?.map(|(_, space)| ours(&space)),
            None => None,
        })
    };
    Ok(if let Some(id) = SpaceId::parse(text) {
        match ours(&id) {
            true => Some(true),
            false => space::find(conn, env, &id)?.map(|_| false),
        }
    } else if let Some(id) = EnvironmentId::parse(text) {
        // Looked up: `deploy to us_env_prod` names no environment (probe 59d D4).
        match &id == env {
            true => Some(true),
            false => environments::table
                .find(id.as_str())
                .select(environments::id)
                .first::<String>(conn)
                .optional()?
                .map(|_| false),
        }
    } else if let Some(id) = WorkbookId::parse(text) {
        workbook::find(conn, env, &id)?.map(|w| ours(&w.space_id))
    } else if let Some(id) = SheetId::parse(text) {
        sheet::find(conn, env, &id)?.map(|(_, space)| ours(&space))
    } else if let Some(id) = FileId::parse(text) {
        file::find(conn, env, &id)?.map(|f| ours(&f.space_id))
    } else if let Some(id) = JobId::parse(text) {
        job::find(conn, env, &id)?.map(|j| j.space_id.as_ref().is_some_and(ours))
    } else if let Some(id) = DocumentId::parse(text) {
        document::space_of(conn, env, &id)?.map(|space| ours(&space))
    } else if let Some(id) = CommitId::parse(text) {
        // A commit's records are read at its id: it is of its sheet's space.
        let sheet = commit::find(conn, env, &id)?.map(|c| c.sheet_id);
        sheet_place(conn, sheet)?
    } else if let Some(id) = BulkChangeId::parse(text) {
        let sheet: Option<SheetId> = bulk_changes::table
            .find(id.as_str())
            .select(bulk_changes::sheet_id)
            .first(conn)
            .optional()?;
        sheet_place(conn, sheet)?
    } else if let Some(place) = team_place(conn, env, spaces, text)? {
        place
    } else if let Some(id) = EventId::parse(text) {
        // Events are numbered: one of another environment or of none of the guest's spaces
        // is outside (probe 59c D2).
        let event: Option<(String, Option<String>)> = events::table
            .find(id.0)
            .select((events::environment_id, events::space_id))
            .first(conn)
            .optional()?;
        event.map(|(e, space)| {
            e == env.as_str() && space.and_then(|s| SpaceId::parse(&s)).is_some_and(|s| ours(&s))
        })
    } else {
        Some(true)
    })
}

/// Where an id of the kinds that belong to an environment's team, or to a guest, lies
/// (`None` when `text` is of none of those kinds): a guest who shares one of `spaces` and a
/// secret of one of them are the guest's to name; another guest, a secret of the
/// environment or another space, a webhook, an API key or a team member are not (probe
/// 78b D1: listener code acts on them with the team's key). `Some(None)`: it names nothing.
fn team_place(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    spaces: &[SpaceId],
    text: &str,
) -> ModelResult<Option<Option<bool>>> {
    use crate::db::schema::{
        api_keys, guest_spaces, guests, secrets, space_configs, spaces, submissions, users,
        webhook_deliveries, webhooks,
    };
    use crate::ids::{
        ApiKeyId, GuestId, SecretId, SpaceConfigId, SubmissionId, UserId, WebhookDeliveryId, WebhookId,
    };
    macro_rules! held_in {
        ($table:ident) => {
            diesel::select(diesel::dsl::exists($table::table.find(text))).get_result::<bool>(conn)?
        };
    }
    let outside = |held: bool| Some(held.then_some(false));
    Ok(if GuestId::parse(text).is_some() {
        let of_env: Option<String> = guests::table
            .find(text)
            .select(guests::environment_id)
            .first(conn)
            .optional()?;
        match of_env {
            None => Some(None),
            Some(e) if e != env.as_str() => Some(Some(false)),
            Some(_) => {
                let shared: bool = diesel::select(diesel::dsl::exists(
                    guest_spaces::table
                        .filter(guest_spaces::guest_id.eq(text))
                        .filter(guest_spaces::space_id.eq_any(spaces.iter().map(SpaceId::as_str))),
                ))
                .get_result(conn)?;
                Some(Some(shared))
            }
        }
    } else if SecretId::parse(text).is_some() {
        let secret: Option<(String, Option<String>)> = secrets::table
            .find(text)
            .select((secrets::environment_id, secrets::space_id))
            .first(conn)
            .optional()?;
        Some(secret.map(|(e, space)| {
            e == env.as_str()
                && space
                    .and_then(|s| SpaceId::parse(&s))
                    .is_some_and(|s| spaces.contains(&s))
        }))
    } else if SpaceConfigId::parse(text).is_some() {
        // The config one of its spaces was made from is the guest's to name (probe 79a D5).
        let of_its_spaces: bool = diesel::select(diesel::dsl::exists(
            spaces::table
                .filter(spaces::space_config_id.eq(text))
                .filter(spaces::id.eq_any(spaces.iter().map(SpaceId::as_str))),
        ))
        .get_result(conn)?;
        match of_its_spaces {
            true => Some(Some(true)),
            false => outside(held_in!(space_configs)),
        }
    } else if SubmissionId::parse(text).is_some() {
        let space: Option<String> = submissions::table
            .find(text)
            .select(submissions::space_id)
            .first(conn)
            .optional()?;
        Some(space.map(|s| SpaceId::parse(&s).is_some_and(|s| spaces.contains(&s))))
    } else if WebhookDeliveryId::parse(text).is_some() {
        outside(held_in!(webhook_deliveries))
    } else if WebhookId::parse(text).is_some() {
        outside(held_in!(webhooks))
    } else if ApiKeyId::parse(text).is_some() {
        outside(held_in!(api_keys))
    } else if UserId::parse(text).is_some() {
        outside(held_in!(users))
    } else {
        None
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
        assert_eq!(embedded_ids("focus_sh_ab"), vec!["us_sh_ab"]);
        assert!(embedded_ids("us_sp_ is a prefix, us__x, us_X_y").is_empty());
        let inside = super::ids_inside("us_rc_1%2Cus_rc_2 sheets%2Fus_sh_X%2F and %75s_wb_Y");
        for id in ["us_rc_1", "us_rc_2", "us_sh_X", "us_wb_Y"] {
            assert!(inside.iter().any(|i| i == id), "{id} in {inside:?}");
        }
    }
}
