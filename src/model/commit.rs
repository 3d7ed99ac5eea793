//! Commits: each write of records that a person or an import makes, which record hooks
//! (listener code) answer. Creating one emits `commit:created` with a `dataUrl` the hook
//! reads the records from; the hook's `PUT` on that URL, or `POST /v1/commits/{id}/complete`,
//! completes it (`commit:completed`).

use super::event::{self, Context, Extras};
use super::now;
use super::sheet::SheetContext;
use crate::db::schema::commits;
use crate::db::AnyConnection;
use crate::ids::{CommitId, EnvironmentId, SheetId};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::json;

/// A commit not completed within this long no longer blocks anything (the grid marks it).
pub const COMPLETE_WITHIN: TimeDelta = TimeDelta::minutes(2);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = commits)]
pub struct Commit {
    pub id: CommitId,
    pub environment_id: EnvironmentId,
    pub sheet_id: SheetId,
    pub record_ids: String,
    pub track_changes: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    pub completed_by: Option<String>,
}

impl Commit {
    /// The ids of the records written, in order.
    pub fn ids(&self) -> Vec<i64> {
        expand_ranges(&self.record_ids)
    }
}

#[derive(Insertable)]
#[diesel(table_name = commits)]
struct NewCommit<'a> {
    id: &'a CommitId,
    environment_id: &'a EnvironmentId,
    sheet_id: &'a SheetId,
    record_ids: &'a str,
    track_changes: bool,
    created_by: &'a str,
    created_at: NaiveDateTime,
}

/// Whether a write of records is a commit that hooks answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hooks {
    /// A person's or an import's write: a commit, and `commit:created` for the hooks.
    Run,
    /// A write marked `X-Disable-Hooks: true` (as every listener call is): no commit.
    Skip,
    /// A hook's answer to this commit: no new commit; this one completes.
    Answer(CommitId),
    /// A bulk change marked `X-Disable-Hooks`: a commit (its id is the change's version),
    /// complete at once, announced to no hook.
    Quiet,
}

/// True when the sheet's or its workbook's `settings.trackChanges` is on.
pub fn tracks_changes(ctx: &SheetContext) -> bool {
    ctx.config
        .json
        .pointer("/settings/trackChanges")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// The relative URL a hook reads and answers the commit's records at (no leading slash,
/// with a `?`: the listener appends `&k=v`). A sheet with reference fields asks for their
/// linked records, which `record.getLinks()` reads.
pub fn data_url(ctx: &SheetContext, id: &CommitId) -> String {
    let sheet = &ctx.sheet.id;
    match ctx.refs.iter().any(Option::is_some) {
        true => format!("v1/sheets/{sheet}/records?commitId={id}&includeLinks=true"),
        false => format!("v1/sheets/{sheet}/records?commitId={id}"),
    }
}

/// Records per commit of one write. `@flatfile/plugin-record-hook` looks up each record it
/// may send back among the commit's records one by one: 0.2 s of its time for 10,000
/// records, 6.6 s for 50,000 (one API write's most; probe 51b 4). A bigger write is a
/// commit per 10,000 records: as many as a bulk change writes in one request, which stays
/// one commit, its version.
pub const RECORDS_AT_MOST: usize = super::record::bulk::MAX_RECORDS;

/// Records the commits of the records `ids`, [`RECORDS_AT_MOST`] each, in order, each with
/// its `commit:created`, in the caller's transaction; the first commit's id.
pub fn create_in_parts(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    ids: &[i64],
) -> QueryResult<CommitId> {
    let mut parts = ids.chunks(RECORDS_AT_MOST.max(1));
    let first = create(conn, ctx, actor, parts.next().unwrap_or_default())?;
    for part in parts {
        create(conn, ctx, actor, part)?;
    }
    Ok(first)
}

/// Records a commit of the records `ids` and emits `commit:created`, in the caller's
/// transaction.
pub fn create(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    ids: &[i64],
) -> QueryResult<CommitId> {
    let (id, track_changes) = record(conn, ctx, actor, ids)?;
    let url = data_url(ctx, &id);
    let payload = json!({
        "sheetId": ctx.sheet.id,
        "workbookId": ctx.sheet.workbook_id,
        "trackChanges": track_changes,
        "count": ids.len(),
    });
    let extras = Extras {
        data_url: Some(&url),
        ..Default::default()
    };
    event::insert(
        conn,
        &event_context(ctx, actor, &id),
        "commit:created",
        payload,
        &extras,
    )?;
    Ok(id)
}

/// Records a commit without announcing it, complete at once (see [`Hooks::Quiet`]).
pub fn create_quiet(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    ids: &[i64],
) -> QueryResult<CommitId> {
    let (id, _) = record(conn, ctx, actor, ids)?;
    diesel::update(commits::table.find(&id))
        .set((
            commits::completed_at.eq(Some(now())),
            commits::completed_by.eq(Some(actor)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Inserts the commit row; its id, and whether its sheet tracks changes.
fn record(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    ids: &[i64],
) -> QueryResult<(CommitId, bool)> {
    let id = CommitId::generate();
    let track_changes = tracks_changes(ctx);
    diesel::insert_into(commits::table)
        .values(NewCommit {
            id: &id,
            environment_id: &ctx.environment_id,
            sheet_id: &ctx.sheet.id,
            record_ids: &compress_ranges(ids),
            track_changes,
            created_by: actor,
            created_at: now(),
        })
        .execute(conn)?;
    Ok((id, track_changes))
}

fn event_context(ctx: &SheetContext, actor: &str, id: &CommitId) -> Context {
    Context::new(&ctx.environment_id, actor)
        .space(&ctx.space_id)
        .workbook(&ctx.sheet.workbook_id)
        .sheet(&ctx.sheet.id)
        .sheet_slug(&ctx.sheet.slug)
        .commit(id)
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &CommitId,
) -> QueryResult<Option<Commit>> {
    commits::table
        .filter(commits::environment_id.eq(environment_id))
        .filter(commits::id.eq(id))
        .select(Commit::as_select())
        .first(conn)
        .optional()
}

/// Completes a commit (again: nothing more happens) and emits `commit:completed` the first
/// time. `false`: it was already complete.
pub fn complete(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    id: &CommitId,
    actor: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        commits::table
            .filter(commits::id.eq(id))
            .filter(commits::completed_at.is_null()),
    )
    .set((
        commits::completed_at.eq(Some(now())),
        commits::completed_by.eq(Some(actor)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    let url = data_url(ctx, id);
    let extras = Extras {
        data_url: Some(&url),
        ..Default::default()
    };
    let payload = json!({"sheetId": ctx.sheet.id, "workbookId": ctx.sheet.workbook_id});
    event::insert(
        conn,
        &event_context(ctx, actor, id),
        "commit:completed",
        payload,
        &extras,
    )?;
    Ok(true)
}

/// Records of a sheet in tracked commits still open: those of the last [`COMPLETE_WITHIN`]
/// are being checked; older ones (of the last day) were never answered. The grid marks both;
/// only the first block anything.
#[derive(Debug, Default)]
pub struct Open {
    pub checking: std::collections::HashSet<i64>,
    pub unanswered: std::collections::HashSet<i64>,
}

pub fn open_records(conn: &mut AnyConnection, sheet: &SheetId) -> QueryResult<Open> {
    let t = now();
    let open: Vec<(String, NaiveDateTime)> = commits::table
        .filter(commits::sheet_id.eq(sheet))
        .filter(commits::track_changes.eq(true))
        .filter(commits::completed_at.is_null())
        .filter(commits::created_at.gt(t - TimeDelta::days(1)))
        .order(commits::created_at.asc())
        .select((commits::record_ids, commits::created_at))
        .load(conn)?;
    let mut out = Open::default();
    for (ids, at) in &open {
        let young = *at > t - COMPLETE_WITHIN;
        for id in expand_ranges(ids) {
            if young {
                out.unanswered.remove(&id);
                out.checking.insert(id);
            } else if !out.checking.contains(&id) {
                out.unanswered.insert(id);
            }
        }
    }
    Ok(out)
}

/// Deletes up to `batch` commits created before `cutoff`; how many went.
pub fn prune_batch(conn: &mut AnyConnection, cutoff: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let old: Vec<CommitId> = commits::table
        .filter(commits::created_at.lt(cutoff))
        .select(commits::id)
        .limit(batch)
        .load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    diesel::delete(commits::table.filter(commits::id.eq_any(&old))).execute(conn)
}

/// `[1,2,3,7,9,10]` as `"1-3,7,9-10"`: an import's batch is one range.
pub fn compress_ranges(ids: &[i64]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

/// The inverse of [`compress_ranges`]; parts that cannot be read are skipped.
pub fn expand_ranges(text: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>()) {
                    ids.extend(a..=b);
                }
            }
            None => ids.extend(part.parse::<i64>().ok()),
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let ids = vec![1, 2, 3, 7, 9, 10, 20];
        let text = compress_ranges(&ids);
        assert_eq!(text, "1-3,7,9-10,20");
        assert_eq!(expand_ranges(&text), ids);
        assert_eq!(compress_ranges(&[]), "");
        assert!(expand_ranges("").is_empty());
        assert_eq!(
            expand_ranges(&compress_ranges(&(1..=5000).collect::<Vec<_>>())).len(),
            5000
        );
    }
}
