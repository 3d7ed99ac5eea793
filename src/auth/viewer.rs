//! `Viewer`: whoever may look at a space's workbooks in the browser: a signed-in team
//! member (`CurrentUser`, any space of their environment) or a guest (`GuestAccess`, only
//! the spaces it was invited to). Pages a guest must never reach take `CurrentUser`.

use super::{CurrentUser, GuestAccess};
use crate::ids::{EnvironmentId, SpaceId};
use crate::web::error::AppError;
use crate::web::pages::Layout;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

#[derive(Debug, Clone)]
pub enum Viewer {
    User(Box<CurrentUser>),
    Guest(Box<GuestAccess>),
}

impl Viewer {
    pub fn environment_id(&self) -> &EnvironmentId {
        match self {
            Viewer::User(u) => &u.environment.id,
            Viewer::Guest(g) => &g.guest.environment_id,
        }
    }

    pub fn actor(&self) -> String {
        match self {
            Viewer::User(u) => u.actor(),
            Viewer::Guest(g) => g.actor(),
        }
    }

    /// How others see this person (presence, history).
    pub fn display_name(&self) -> String {
        match self {
            Viewer::User(u) => u.user.email.clone(),
            Viewer::Guest(g) => format!("{} (guest)", g.guest.name),
        }
    }

    pub fn csrf(&self) -> &str {
        match self {
            Viewer::User(u) => u.csrf(),
            Viewer::Guest(g) => &g.session.csrf_token,
        }
    }

    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        match self {
            Viewer::User(u) => u.check_csrf(given),
            Viewer::Guest(g) => g.check_csrf(given),
        }
    }

    pub fn layout(&self, title: impl Into<String>, section: &'static str) -> Layout {
        match self {
            Viewer::User(u) => Layout::new(u, title, section),
            Viewer::Guest(g) => Layout::guest(g, title),
        }
    }

    /// Where a space's Files tab is.
    pub fn files_href(&self, space: &SpaceId) -> String {
        match self {
            Viewer::User(_) => format!("/spaces/{space}?tab=files"),
            Viewer::Guest(_) => format!("/guest/spaces/{space}"),
        }
    }

    /// Where "back to the space" leads.
    pub fn space_href(&self, space: &SpaceId) -> String {
        match self {
            Viewer::User(_) => format!("/spaces/{space}"),
            Viewer::Guest(_) => format!("/guest/spaces/{space}"),
        }
    }
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let has_user = req.cookie(super::SESSION_COOKIE).is_some();
        let user = CurrentUser::from_request(req, payload);
        let guest = GuestAccess::from_request(req, payload);
        Box::pin(async move {
            if has_user {
                match user.await {
                    Ok(u) => return Ok(Viewer::User(Box::new(u))),
                    Err(AppError::SignInRequired) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(Viewer::Guest(Box::new(guest.await?)))
        })
    }
}
