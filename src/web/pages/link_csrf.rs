//! The forms behind emailed links (open a guest session, set a password) carry a token that
//! must match a cookie set with the form (double submit, as on the sign-in form), so another
//! site cannot make a browser use a link of its choosing and sign it in as someone else.

use crate::app::AppState;
use crate::auth::constant_time_eq;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

const COOKIE: &str = "wharf_link_csrf";

/// The token this browser holds already (several open tabs keep working), or a new one.
pub fn token(req: &HttpRequest) -> String {
    req.cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| {
            use rand::distributions::{Alphanumeric, DistString};
            Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
        })
}

pub fn cookie(state: &AppState, token: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.base_url.starts_with("https://"))
        .finish()
}

/// Whether the form's token is the cookie's.
pub fn check(req: &HttpRequest, given: &str) -> bool {
    req.cookie(COOKIE)
        .is_some_and(|c| !c.value().is_empty() && constant_time_eq(c.value().as_bytes(), given.as_bytes()))
}
