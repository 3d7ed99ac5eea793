//! Whether a listener took up what an event asked for, so that a webhook try which reached
//! it but got no good answer is not sent again (a handler slower than the try's 15 s ran
//! twice: probe 51b 1).

/// What a `job:ready` or `commit:created` event asked for, when a listener took it up
/// (acknowledged the job, answered the commit): the event reached it.
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
            let taken = status.is_some_and(|s| {
                s != crate::model::job::status::READY && s != crate::model::job::status::CREATED
            });
            Ok(taken.then(|| format!("job {job}")))
        }
        ("commit:created", _, Some(commit)) => {
            let done: Option<Option<chrono::NaiveDateTime>> = commits::table
                .find(&commit)
                .select(commits::completed_at)
                .first(conn)
                .optional()?;
            Ok(done.flatten().map(|_| format!("commit {commit}")))
        }
        _ => Ok(None),
    }
}
