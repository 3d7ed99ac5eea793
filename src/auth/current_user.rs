//! `CurrentUser`: a signed-in person, their session's CSRF token and the environment the
//! top bar has selected. Pages that take one redirect to the sign-in page without it.
//! Every state-changing request must carry the CSRF token (form field or `X-CSRF-Token`).

use crate::app::AppState;
use crate::model::environment::{self, Environment};
use crate::model::session::{self, Session};
use crate::model::user::User;
use crate::model::ModelError;
use crate::web::error::AppError;
use actix_web::http::Method;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub const SESSION_COOKIE: &str = "wharf_session";

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
    pub environment: Environment,
    pub environments: Vec<Environment>,
    /// The request carried a matching `X-CSRF-Token` header (htmx sends it on every request).
    pub header_csrf_ok: bool,
}

impl CurrentUser {
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    pub fn actor(&self) -> String {
        self.user.id.to_string()
    }

    /// Admin-only pages answer 403 to members, saying what only admins can do (`manage
    /// people`).
    pub fn require_admin(&self, to: &str) -> Result<(), AppError> {
        if self.user.is_admin {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("only admins can {to}")))
        }
    }

    /// A form shown for one environment (`shown_for`, its hidden `environment_id`) and sent
    /// after another tab switched environment, or after the environment went, is refused:
    /// applied to the environment of the moment, a webhook meant for development listened
    /// to production. An old form without the field is taken as before.
    pub fn check_environment(&self, shown_for: &str) -> Result<(), AppError> {
        if shown_for.is_empty() || shown_for == self.environment.id.as_str() {
            return Ok(());
        }
        Err(AppError::Conflict(format!(
            "this page was opened for another environment, and you now work in {} (switched in another tab, or that environment was deleted); nothing was made: reload the page and try again",
            self.environment.name
        )))
    }

    /// Checks the CSRF token given in a form (or already in the header) against the session's.
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

/// Compares secrets without leaking where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let header_csrf = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        // Forms post their token as a field, checked by the handler; htmx sends the header.
        let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD);
        let is_form = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("multipart/")
            });
        let signed = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            let token = token.ok_or(AppError::SignInRequired)?;
            let (session, user, environment, environments) = state
                .db(move |conn| {
                    let (session, user) =
                        session::find(conn, &token)?.ok_or(ModelError::NotFound("session"))?;
                    let environments = environment::list(conn)?;
                    let environment = session
                        .environment_id
                        .as_ref()
                        .and_then(|id| environments.iter().find(|e| &e.id == id))
                        .or_else(|| environments.first())
                        .cloned()
                        .ok_or(ModelError::NotFound("environment"))?;
                    Ok::<_, ModelError>((session, user, environment, environments))
                })
                .await
                .map_err(|e| match e {
                    AppError::NotFound("session") => AppError::SignInRequired,
                    other => other,
                })?;
            let header_csrf_ok = header_csrf
                .as_deref()
                .is_some_and(|h| constant_time_eq(h.as_bytes(), session.csrf_token.as_bytes()));
            // A form carries its token as a field, which its handler checks; anything else
            // that changes state must carry the header.
            if unsafe_method && !is_form && !header_csrf_ok {
                return Err(AppError::Forbidden(
                    "the page expired; reload it and try again".into(),
                ));
            }
            actix_web::HttpMessage::extensions_mut(&signed).insert(super::recheck::SignedIn);
            Ok(CurrentUser {
                user,
                session,
                environment,
                environments,
                header_csrf_ok,
            })
        })
    }
}
