//! Sign-in, sign-out, and the one-time link that creates the first admin.

use super::CsrfForm;
use super::{render, see_other};
use crate::app::AppState;
use crate::auth::{constant_time_eq, password, CurrentUser, SESSION_COOKIE};
use crate::model::api_key::hash_secret;
use crate::model::{session, setup_token, user, ModelError};
use crate::web::error::AppError;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
struct SignInPage {
    email: String,
    error: Option<String>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    token: String,
    email: String,
    error: Option<String>,
}

/// Holds the sign-in form's CSRF token until there is a session (double submit: the form
/// must post the same token, which another site can neither read nor set).
const SIGN_IN_CSRF_COOKIE: &str = "wharf_sign_in_csrf";

/// The sign-in form's token: the one this browser holds already (several open tabs keep
/// working), or a new one.
fn sign_in_token(req: &HttpRequest) -> String {
    req.cookie(SIGN_IN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| {
            use rand::distributions::{Alphanumeric, DistString};
            Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
        })
}

/// The sign-in form with `status`, its token set in the cookie and in the form.
fn sign_in_page(
    state: &AppState,
    csrf: String,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cookie = Cookie::build(SIGN_IN_CSRF_COOKIE, csrf.clone())
        .path("/sign-in")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.base_url.starts_with("https://"))
        .finish();
    let mut resp = render(&SignInPage { email, error, csrf })?;
    *resp.status_mut() = status;
    resp.add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

pub async fn sign_in_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    sign_in_page(&state, sign_in_token(&req), String::new(), None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
    password: String,
}

pub(super) fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(CookieDuration::days(session::LIFETIME_DAYS))
        .finish()
}

/// Unknown email and wrong password get the same answer, after the same work. The form must
/// carry the token of the cookie set with it (no signing in from another site's form).
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: crate::web::input::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let email = form.email.trim().to_lowercase();
    let csrf_ok = req.cookie(SIGN_IN_CSRF_COOKIE).is_some_and(|c| {
        !c.value().is_empty() && constant_time_eq(c.value().as_bytes(), form.csrf_token.as_bytes())
    });
    if !csrf_ok {
        return sign_in_page(
            &state,
            sign_in_token(&req),
            email,
            Some("The sign-in form expired; please sign in again.".into()),
            StatusCode::FORBIDDEN,
        );
    }
    // No account has a longer address, or one with spaces or control characters (they are
    // checked at creation), so such a try is answered at once, neither counted nor shown
    // back: each counted try is a stored row, and a space could make one account's key
    // read as another's (`owner@x.io from:10.0.0.1`).
    if email.len() > user::MAX_EMAIL_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return sign_in_page(
            &state,
            sign_in_token(&req),
            String::new(),
            Some("That email and password do not match an account.".into()),
            StatusCode::UNAUTHORIZED,
        );
    }
    // Counted before the password is checked; over a limit the answer is immediate.
    let forwarded_for = crate::web::client_address::forwarded_for(req.headers());
    let trusted = &state.settings.trusted_proxies;
    let address = req
        .peer_addr()
        .map(|a| crate::web::client_address::client_ip(a.ip(), forwarded_for.as_deref(), trusted))
        .map(crate::auth::throttle::address_of)
        .unwrap_or_default();
    let (account, s) = (email.clone(), state.clone());
    let counted = state
        .db(move |conn| s.throttle.begin(conn, &account, &address))
        .await?;
    let attempt = match counted {
        Ok(attempt) => attempt,
        Err(wait) => return too_many_attempts(&state, &req, email, wait),
    };
    let lookup = email.clone();
    let account = state.db(move |conn| user::find_by_email(conn, &lookup)).await?;
    // The hash is checked holding no database connection (probe 63b D9: a flood of wrong
    // sign-ins held every one of them), then the session is made only if the person is
    // still there with that password (probe 63b D8: removed meanwhile, it answered 500).
    let stored = account.as_ref().map(|u| u.password_hash.clone());
    let found = match (password::verify_bounded(form.password, stored).await, account) {
        (true, Some(u)) => {
            let s = state.clone();
            state
                .db(move |conn| {
                    let made = session::create_if_current(conn, &u.id, &u.password_hash)?;
                    if made.is_some() {
                        s.throttle.succeeded(conn, attempt)?;
                    }
                    Ok::<_, ModelError>(made)
                })
                .await?
        }
        _ => None,
    };
    match found {
        Some(token) => {
            let mut resp = see_other("/spaces");
            resp.add_cookie(&session_cookie(&state, token))
                .map_err(|e| AppError::Internal(e.into()))?;
            Ok(resp)
        }
        None => sign_in_page(
            &state,
            sign_in_token(&req),
            email,
            Some("That email and password do not match an account.".into()),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// 429 with `Retry-After`: this account (or this address) has used its attempts for now.
fn too_many_attempts(
    state: &AppState,
    req: &HttpRequest,
    email: String,
    wait: std::time::Duration,
) -> Result<HttpResponse, AppError> {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let minutes = seconds.div_ceil(60);
    let message = format!(
        "Too many failed sign-ins. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    );
    let mut resp = sign_in_page(
        state,
        sign_in_token(req),
        email,
        Some(message),
        StatusCode::TOO_MANY_REQUESTS,
    )?;
    resp.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(seconds.max(1)),
    );
    Ok(resp)
}

pub async fn sign_out(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let hash = user.session.token_hash.clone();
    state.db(move |conn| session::delete(conn, &hash)).await?;
    // Its open live pages end too.
    state.live.access_changed().await;
    let mut resp = see_other("/sign-in");
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    resp.add_cookie(&gone).map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

async fn setup_token_ok(state: &AppState, token: &str) -> Result<bool, AppError> {
    let hash = hash_secret(token);
    state.db(move |conn| setup_token::is_valid(conn, &hash)).await
}

/// Why a setup link does not open, and what to do: once someone has an account, there is
/// no first admin to make and a restart prints no link (probe 48d F4).
async fn setup_link_gone(state: &AppState) -> Result<AppError, AppError> {
    let admins = state.db(crate::model::user::count_admins).await?;
    Ok(AppError::NotFoundNamed(if admins > 0 {
        "this setup link no longer works: the first admin was made already. Sign in, or ask an admin for an invitation".into()
    } else {
        "this setup link was used already or is more than 24 hours old: restart Wharf, and it prints a new one".into()
    }))
}

pub async fn setup_form(
    state: web::Data<AppState>,
    q: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    let token = q.token.clone().unwrap_or_default();
    if !setup_token_ok(&state, &token).await? {
        return Err(setup_link_gone(&state).await?);
    }
    render(&SetupPage {
        token,
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    email: String,
    password: String,
    /// The password typed again (the page's form sends it): a typo in the only admin's
    /// password would lock everyone out (probe 57a).
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn setup(
    state: web::Data<AppState>,
    form: crate::web::input::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if !setup_token_ok(&state, &form.token).await? {
        return Err(setup_link_gone(&state).await?);
    }
    let differ = form.confirm.as_ref().is_some_and(|c| *c != form.password);
    if let Err(problem) = password::check_strength(&form.password).and(match differ {
        true => Err("the two passwords differ".to_string()),
        false => Ok(()),
    }) {
        return render(&SetupPage {
            token: form.token,
            email: form.email,
            error: Some(problem),
        });
    }
    let email = form.email.clone();
    let pass = form.password.clone();
    let token_hash = hash_secret(&form.token);
    // Hashing runs off the async threads and outside the write transaction.
    let hash = password::hash_bounded(pass).await.map_err(AppError::Internal)?;
    let created = state
        .db(move |conn| {
            let u = setup_token::create_first_admin(conn, &token_hash, &email, &hash)?;
            Ok::<_, ModelError>(session::create(conn, &u.id)?)
        })
        .await;
    match created {
        Ok(token) => {
            let mut resp = see_other("/spaces");
            resp.add_cookie(&session_cookie(&state, token))
                .map_err(|e| AppError::Internal(e.into()))?;
            Ok(resp)
        }
        Err(AppError::Invalid(items)) => render(&SetupPage {
            token: form.token,
            email: form.email,
            error: items.first().map(|i| i.message.clone()),
        }),
        Err(e) => Err(e),
    }
}
