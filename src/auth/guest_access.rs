//! `GuestAccess`: a guest's browser session, opened by a link. It carries the spaces the
//! guest may open, read afresh on every request, so removal takes effect at once.
//! State-changing requests carry the session's CSRF token, as for `CurrentUser`.

use super::current_user::constant_time_eq;
use crate::app::AppState;
use crate::ids::SpaceId;
use crate::model::guest::{self, Guest};
use crate::model::guest_link::{self, GuestSession};
use crate::model::ModelError;
use crate::web::error::AppError;
use actix_web::http::Method;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub const GUEST_COOKIE: &str = "wharf_guest";

#[derive(Debug, Clone)]
pub struct GuestAccess {
    pub guest: Guest,
    pub session: GuestSession,
    /// The spaces it may open: those it was invited to that are not archived.
    pub spaces: Vec<SpaceId>,
    /// Spaces it was invited to that are archived, closed until brought back.
    pub archived: Vec<SpaceId>,
    pub header_csrf_ok: bool,
}

/// What a guest is told of a space it was invited to that was archived since.
pub const ARCHIVED_SPACE: &str = "this space was archived; ask the person who invited you to bring it back";

impl GuestAccess {
    pub fn actor(&self) -> String {
        self.guest.id.to_string()
    }

    /// Another space's objects do not exist for a guest.
    pub fn check_space(&self, space: &SpaceId) -> Result<(), AppError> {
        if self.spaces.contains(space) {
            Ok(())
        } else if self.archived.contains(space) {
            Err(AppError::Forbidden(ARCHIVED_SPACE.into()))
        } else {
            Err(AppError::NotFound("space"))
        }
    }

    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        if self.header_csrf_ok || constant_time_eq(given.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "the form expired; reload the page and try again".into(),
            ))
        }
    }
}

/// Whether a request that changes state must carry the CSRF header (forms carry a field).
pub(crate) fn needs_csrf_header(req: &HttpRequest) -> bool {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD);
    let is_form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("multipart/")
        });
    unsafe_method && !is_form
}

/// The space IDs a request's path names (`/guest/spaces/{id}`, `/spaces/{id}/...`).
fn named_spaces(req: &HttpRequest) -> Vec<SpaceId> {
    req.match_info()
        .iter()
        .filter_map(|(_, value)| SpaceId::parse(value))
        .collect()
}

impl FromRequest for GuestAccess {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(GUEST_COOKIE).map(|c| c.value().to_string());
        let header_csrf = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let needs_header = needs_csrf_header(req);
        let named = named_spaces(req);
        let signed = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            let token = token.ok_or(AppError::SignInRequired)?;
            let (session, guest, reach) = state
                .db(move |conn| {
                    let (session, guest) =
                        guest_link::find_session(conn, &token)?.ok_or(ModelError::NotFound("session"))?;
                    let reach = guest::reach_of(conn, &guest.id)?;
                    // The space this request is about: the one its path names, or the
                    // guest's only one.
                    let used = match (&named[..], &reach.open[..]) {
                        ([], [only]) => vec![only.clone()],
                        _ => named,
                    };
                    let used: Vec<SpaceId> = used.into_iter().filter(|s| reach.open.contains(s)).collect();
                    guest::note_access(conn, &guest.id, &reach.memberships, &used)?;
                    Ok::<_, ModelError>((session, guest, reach))
                })
                .await
                .map_err(|e| match e {
                    AppError::NotFound("session") => AppError::GuestSessionEnded,
                    other => other,
                })?;
            let header_csrf_ok = header_csrf
                .as_deref()
                .is_some_and(|h| constant_time_eq(h.as_bytes(), session.csrf_token.as_bytes()));
            if needs_header && !header_csrf_ok {
                return Err(AppError::Forbidden(
                    "the page expired; reload it and try again".into(),
                ));
            }
            actix_web::HttpMessage::extensions_mut(&signed).insert(super::recheck::SignedIn);
            Ok(GuestAccess {
                guest,
                session,
                spaces: reach.open,
                archived: reach.archived,
                header_csrf_ok,
            })
        })
    }
}
