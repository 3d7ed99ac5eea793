//! A commit's records: `commitId` (or `versionId`, the same id) on a read of records or
//! their counts, as a record hook reads the commit's `dataUrl`.

use crate::app::AppState;
use crate::ids::CommitId;
use crate::model::commit::{self, Commit};
use crate::model::record::RecordQuery;
use crate::model::sheet::SheetContext;
use crate::web::error::AppError;

/// The commit named by `commitId`, which must be of this sheet; or a bulk change's job, the
/// `versionId` its 202 answered with (probe 57c: read back, it was "not a commit id"), once
/// it completed.
pub(super) async fn commit_of(
    state: &AppState,
    ctx: &SheetContext,
    key: &str,
    raw: &str,
) -> Result<Commit, AppError> {
    let raw = match crate::ids::JobId::parse(raw) {
        Some(job) => &job_commit(state, ctx, job).await?,
        None => raw,
    };
    let id = CommitId::parse(raw).ok_or_else(|| {
        // The version a write without a commit answers with (one sent with hooks off, or
        // one that changed nothing) names no set of changes to read (probe 60a 2).
        let why = match raw.starts_with("us_vr_") {
            true => "is a record's version, not a commit: the write that answered with it made no commit (it was sent with `X-Disable-Hooks: true`, as listener code's calls are, or changed nothing), so there are no changes of it to read; a write that makes a commit answers with its `commitId`",
            false => "is not a commit id; a `commit:created` event names one (`context.commitId`)",
        };
        AppError::bad_request(key, format!("`{raw}` {why}"))
    })?;
    let env = ctx.environment_id.clone();
    let found = state.db(move |conn| commit::find(conn, &env, &id)).await?;
    found
        .filter(|c| c.sheet_id == ctx.sheet.id)
        .ok_or(AppError::NotFound("commit"))
}

/// The commit a bulk change's job of this sheet made, as its outcome names it.
async fn job_commit(state: &AppState, ctx: &SheetContext, id: crate::ids::JobId) -> Result<String, AppError> {
    let env = ctx.environment_id.clone();
    let job = state
        .db(move |conn| crate::model::job::find(conn, &env, &id))
        .await?
        .filter(|j| j.operation == "bulk-change" && j.source == ctx.sheet.workbook_id.as_str())
        .ok_or(AppError::NotFound("commit"))?;
    let config: serde_json::Value = serde_json::from_str(&job.config).unwrap_or_default();
    if config["sheet"] != ctx.sheet.id.as_str() {
        return Err(AppError::NotFound("commit"));
    }
    use crate::model::job::status;
    match job.status.as_str() {
        status::COMPLETE => {}
        status::FAILED | status::CANCELED => {
            return Err(AppError::NotFoundNamed(format!(
                "the bulk change {} was {}: it changed nothing and made no commit",
                job.id, job.status
            )))
        }
        _ => {
            return Err(AppError::Conflict(format!(
                "the bulk change {} is {}: its records are read once it completes",
                job.id, job.status
            )))
        }
    }
    let outcome: serde_json::Value = job
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    outcome["commitId"].as_str().map(String::from).ok_or_else(|| {
        AppError::NotFoundNamed(format!(
            "the bulk change {} matched no record to change: it made no commit",
            job.id
        ))
    })
}

/// The ids of the commit a read names (`commitId`, or `versionId`: Wharf's versions are
/// its commits, and events carry the same id as both); `None` when it names none.
pub(super) async fn ids_of(
    state: &AppState,
    ctx: &SheetContext,
    params: &[(String, String)],
) -> Result<Option<Vec<i64>>, AppError> {
    let named = ["commitId", "versionId"]
        .into_iter()
        .find_map(|key| Some((key, params.iter().find(|(k, _)| k == key)?.1.as_str())));
    match named {
        Some((key, raw)) => Ok(Some(commit_of(state, ctx, key, raw).await?.ids())),
        None => Ok(None),
    }
}

/// The commit's ids, only those also named by `ids` when given.
pub(super) fn within(commit: Vec<i64>, named: Option<Vec<i64>>) -> Vec<i64> {
    match named {
        Some(only) => {
            let only: std::collections::HashSet<i64> = only.into_iter().collect();
            commit.into_iter().filter(|id| only.contains(id)).collect()
        }
        None => commit,
    }
}

/// Narrows `q` to the commit's records, paged as any read is: after its filters, and past
/// records deleted since, so every page but the last is full (pages were cut from the
/// commit first, then filtered: a page of 100 errors held 10, and a reader stopping at a
/// short page missed the rest: probe 51b 2). Read without a page size (a hook reads its
/// `dataUrl` once), the page is the whole commit, up to `max` records: a reader of one
/// answer is told when it would miss records, rather than handed the first `max` of a
/// bigger commit (a bulk change's) as if all.
pub(super) fn page(q: &mut RecordQuery, ids: Vec<i64>, sized: bool, max: usize) -> Result<(), AppError> {
    if !sized {
        if ids.len() > max {
            return Err(AppError::invalid(
                "pageSize",
                format!(
                    "this commit holds {} records, more than one answer carries ({}); read it in pages (pageSize, pageNumber)",
                    crate::extract::thousands(ids.len() as u64),
                    crate::extract::thousands(max as u64)
                ),
            ));
        }
        q.page_size = ids.len().max(1) as i64;
    }
    q.ids = Some(within(ids, q.ids.take()));
    Ok(())
}
