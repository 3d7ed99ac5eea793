//! Whether what an event asked for is no longer asked, so that a webhook try is not sent
//! again: a listener took it up (a handler slower than the try's 15 s ran twice: probe
//! 51b 1), or the job ended without one (probe 74c D2: a Submit's `job:ready` reached its
//! listener, back after a restart, minutes after the job failed for want of one).

/// The topics whose events ask a listener for something (a job to take, a commit to answer).
pub(super) const ASKING: [&str; 2] = ["job:ready", "commit:created"];

/// Why a `job:ready` or `commit:created` event asks for nothing any more, if it does not:
/// its job was acknowledged or ended, its commit answered.
pub(super) fn taken_up(
    conn: &mut crate::db::AnyConnection,
    topic: &str,
    context: &str,
) -> diesel::QueryResult<Option<String>> {
    use crate::db::schema::{commits, jobs};
    use diesel::prelude::*;
    let context: serde_json::Value = serde_json::from_str(context).unwrap_or_default();
    let id = |key: &str| context.get(key).and_then(|v| v.as_str()).map(str::to_string);
    match (topic, id("jobId"), id("commitId")) {
        ("job:ready", Some(job), _) => {
            let status: Option<String> = jobs::table
                .find(&job)
                .select(jobs::status)
                .first(conn)
                .optional()?;
            use crate::model::job::status::{CANCELED, CREATED, FAILED, READY};
            Ok(match status.as_deref() {
                None | Some(READY | CREATED) => None,
                Some(FAILED) => Some(format!("job {job} has already failed")),
                Some(CANCELED) => Some(format!("job {job} was already canceled")),
                Some(_) => Some(format!("job {job} was taken up already")),
            })
        }
        ("commit:created", _, Some(commit)) => {
            let done: Option<Option<chrono::NaiveDateTime>> = commits::table
                .find(&commit)
                .select(commits::completed_at)
                .first(conn)
                .optional()?;
            Ok(done
                .flatten()
                .map(|_| format!("commit {commit} was answered already")))
        }
        _ => Ok(None),
    }
}
