//! Listing jobs (`GET /v1/jobs`): by space, file, source or workbook, a guest's spaces only.

use super::job::Job;
use crate::db::schema::jobs;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, FileId, SpaceId};
use diesel::prelude::*;

/// Which jobs to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub space_id: Option<SpaceId>,
    /// A guest's spaces: jobs of other spaces (and of none) are left out.
    pub only_spaces: Option<Vec<SpaceId>>,
    pub file_id: Option<FileId>,
    pub source: Option<String>,
    /// Jobs that read from or write to this workbook.
    pub workbook: Option<String>,
    pub newest_first: bool,
    pub page_size: i64,
    pub page_number: i64,
}

pub fn list(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    f: &Filter,
) -> QueryResult<(Vec<Job>, i64)> {
    let base = || {
        let mut q = jobs::table
            .filter(jobs::environment_id.eq(environment_id.clone()))
            .into_boxed();
        if let Some(v) = &f.space_id {
            q = q.filter(jobs::space_id.eq(v.clone()));
        }
        if let Some(spaces) = &f.only_spaces {
            use crate::db::schema::workbooks;
            // Both ends of a mapping in those spaces (see `spaces_touched`).
            let reachable = workbooks::table
                .filter(workbooks::space_id.eq_any(spaces.clone()))
                .select(workbooks::id.nullable());
            q = q.filter(jobs::space_id.eq_any(spaces.clone())).filter(
                jobs::destination
                    .is_null()
                    .or(jobs::destination.eq_any(reachable)),
            );
        }
        if let Some(v) = &f.file_id {
            q = q.filter(jobs::file_id.eq(v.clone()));
        }
        if let Some(v) = &f.source {
            q = q.filter(jobs::source.eq(v.clone()));
        }
        if let Some(v) = &f.workbook {
            q = q.filter(jobs::destination.eq(v.clone()).or(jobs::source.eq(v.clone())));
        }
        q
    };
    let total: i64 = base().count().get_result(conn)?;
    let q = base().select(Job::as_select());
    let q = if f.newest_first {
        q.order((jobs::created_at.desc(), jobs::id.desc()))
    } else {
        q.order((jobs::created_at.asc(), jobs::id.asc()))
    };
    let items = q
        .limit(f.page_size)
        .offset((f.page_number - 1).saturating_mul(f.page_size))
        .load(conn)?;
    Ok((items, total))
}

/// The imports of a file's extracted workbook `source` that completed, newest first: the
/// import page says where the file went before, and asks before it goes again.
pub fn completed_imports_of(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    source: &str,
) -> QueryResult<Vec<Job>> {
    imports_of(conn, env, source, &[super::job::status::COMPLETE], None)
}

/// `actor`'s imports of `source` that were made but not run yet (planning or created),
/// newest first: "Map columns" pressed again (a second tab, Back) opens the one there is
/// rather than making another that would import the file a second time.
pub fn unrun_imports_by(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    source: &str,
    actor: &str,
) -> QueryResult<Vec<Job>> {
    use super::job::status;
    imports_of(
        conn,
        env,
        source,
        &[status::PLANNING, status::CREATED],
        Some(actor),
    )
}

/// The latest 20 imports (`workbook:map` jobs) of `source` in these statuses, by `actor`
/// when given, newest first.
fn imports_of(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    source: &str,
    statuses: &[&str],
    by: Option<&str>,
) -> QueryResult<Vec<Job>> {
    let mut q = jobs::table
        .filter(jobs::environment_id.eq(env))
        .filter(jobs::job_type.eq("workbook"))
        .filter(jobs::operation.eq("map"))
        .filter(jobs::source.eq(source))
        .filter(jobs::status.eq_any(statuses))
        .into_boxed();
    if let Some(actor) = by {
        q = q.filter(jobs::created_by.eq(actor));
    }
    q.order(jobs::created_at.desc())
        .limit(20)
        .select(Job::as_select())
        .load(conn)
}
