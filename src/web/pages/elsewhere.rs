//! A link to a space, workbook or job of another environment than the one the pages show
//! (a colleague's link, a bookmark) says where it is and offers to switch there, rather
//! than a bare 404 that reads as lost data (probe 62b D7). Only for team members, and only
//! for environments they have: a guest's reach is its spaces alone.

use crate::app::AppState;
use crate::auth::{CurrentUser, Viewer};
use crate::db::schema::{jobs, spaces, workbooks};
use crate::web::error::AppError;
use actix_web::HttpResponse;
use diesel::prelude::*;

/// What the page was asked to show.
#[derive(Clone, Copy)]
pub enum Kind {
    Space,
    Workbook,
    Job,
}

/// Where a 404 page offers to go: the environment holding the thing, and the page.
#[derive(Debug, Clone)]
pub struct Elsewhere {
    pub what: &'static str,
    pub environment_id: String,
    pub environment_name: String,
    pub current_name: String,
    /// The page asked for (path and query), opened again once switched.
    pub next: String,
    pub csrf: String,
}

/// `result` as it is, unless it is a 404 for a thing another of the user's environments
/// holds: then a 404 that names that environment.
pub async fn or_elsewhere(
    state: &AppState,
    user: &CurrentUser,
    kind: Kind,
    raw_id: &str,
    next: &str,
    result: Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError> {
    let Err(AppError::NotFound(_) | AppError::NotFoundNamed(_)) = &result else {
        return result;
    };
    let id = raw_id.to_string();
    let held_by = state
        .db(move |conn| {
            let found = match kind {
                Kind::Space => spaces::table
                    .filter(spaces::id.eq(&id))
                    .select(spaces::environment_id)
                    .first::<String>(conn),
                Kind::Workbook => workbooks::table
                    .filter(workbooks::id.eq(&id))
                    .select(workbooks::environment_id)
                    .first::<String>(conn),
                Kind::Job => jobs::table
                    .filter(jobs::id.eq(&id))
                    .select(jobs::environment_id)
                    .first::<String>(conn),
            };
            found.optional()
        })
        .await;
    let Ok(Some(env)) = held_by else {
        return result;
    };
    let Some(there) = user
        .environments
        .iter()
        .find(|e| e.id.as_str() == env && e.id != user.environment.id)
    else {
        return result;
    };
    Err(AppError::InOtherEnvironment(Box::new(Elsewhere {
        what: match kind {
            Kind::Space => "space",
            Kind::Workbook => "workbook",
            Kind::Job => "job",
        },
        environment_id: there.id.to_string(),
        environment_name: there.name.clone(),
        current_name: user.environment.name.clone(),
        next: next.to_string(),
        csrf: user.csrf().to_string(),
    })))
}

/// The user behind a page's viewer, when a team member (guests are left out).
pub fn member(viewer: &Viewer) -> Option<&CurrentUser> {
    match viewer {
        Viewer::User(u) => Some(u),
        Viewer::Guest(_) => None,
    }
}

/// A page to open after switching: a path of this site, never another's (`//host`).
pub fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control))
    .then_some(next)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_this_sites_pages_are_opened_after_a_switch() {
        assert_eq!(
            safe_next("/spaces/us_sp_1?tab=files"),
            Some("/spaces/us_sp_1?tab=files")
        );
        for bad in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "spaces",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
