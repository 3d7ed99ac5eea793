//! What a guest sees: the page a mailed link opens (a button that opens a session there,
//! so a mail scanner that follows links does not use it up), the pages of links that no
//! longer work, the guest's home with its spaces, and signing out. None of these pages
//! reveals whether an email address is known.

use super::{render, see_other, CsrfForm, Layout};
use crate::app::AppState;
use crate::auth::{GuestAccess, GUEST_COOKIE};
use crate::model::guest_link::{self, LinkProblem, SESSION_DAYS};
use crate::model::{space, ModelError};
use crate::web::error::AppError;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "guests/link.html")]
struct LinkPage {
    token: String,
    space_name: String,
    guest_name: String,
    /// An API guest token opens the space as often as needed until it expires.
    reusable: bool,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "guests/link_problem.html")]
struct ProblemPage {
    problem: &'static str,
    heading: &'static str,
    explanation: &'static str,
}

/// The page of a team invitation that does not open: as a guest link's, but a used one set
/// a password, which signs in (a guest link's words sent the person to ask for another
/// invitation, which an admin cannot send to someone with a password).
pub(super) fn team_problem_page(p: LinkProblem) -> Result<HttpResponse, AppError> {
    let page = match p {
        LinkProblem::Used => ProblemPage {
            problem: "used",
            heading: "This invitation was already used",
            explanation: "Its password is set: sign in with your email and that password. If you forgot it, ask an admin to set a new one (wharf user password --email <your email>).",
        },
        // A team invitation has no space: the guests' words would be wrong (probe 58b F14).
        LinkProblem::Revoked => ProblemPage {
            problem: "revoked",
            heading: "This invitation no longer works",
            explanation: "A newer invitation replaced it, or your password was set another way: sign in with your email and password, or ask an admin to invite you again.",
        },
        LinkProblem::Withdrawn => ProblemPage {
            problem: "withdrawn",
            heading: "This invitation was withdrawn",
            explanation: "An admin removed it from the team. If you still need to join, ask an admin to invite you again: you will get a new link by email.",
        },
        other => return problem_page(other),
    };
    let mut resp = render(&page)?;
    *resp.status_mut() = StatusCode::GONE;
    Ok(resp)
}

/// The page of a link that does not open (guest links and team invitations alike).
pub(super) fn problem_page(p: LinkProblem) -> Result<HttpResponse, AppError> {
    let (problem, heading, explanation, status) = match p {
        LinkProblem::Expired => (
            "expired",
            "This link has expired",
            "Invitation links work for a limited time. Ask the person who invited you to invite you again: you will get a new link by email.",
            StatusCode::GONE,
        ),
        LinkProblem::Used => (
            "used",
            "This link was already used",
            "Each invitation link opens the space once, in one browser. If that was not you, or you need to open the space in another browser, ask the person who invited you to invite you again: you will get a new link by email.",
            StatusCode::GONE,
        ),
        LinkProblem::Revoked | LinkProblem::Withdrawn => (
            "revoked",
            "This link no longer works",
            "It was replaced by a newer invitation, or access to the space was withdrawn. Use the newest invitation you received, or ask the person who invited you for a new link.",
            StatusCode::GONE,
        ),
        LinkProblem::Archived => (
            "archived",
            "This space is closed for now",
            "The team archived it. Your link was not used: open it again once they bring the space back, or ask the person who invited you.",
            StatusCode::FORBIDDEN,
        ),
        LinkProblem::Unknown => (
            "unknown",
            "This link is not valid",
            "Check that the whole link was copied from the email. If it still does not work, ask the person who invited you for a new link.",
            StatusCode::NOT_FOUND,
        ),
    };
    let mut resp = render(&ProblemPage {
        problem,
        heading,
        explanation,
    })?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// Shows what the link opens, with a button; looking does not use the link.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    link_page(&req, &state, path.into_inner(), None).await
}

async fn link_page(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let session = req.cookie(GUEST_COOKIE).map(|c| c.value().to_string());
    let found = state
        .db(move |conn| {
            let (link, guest) = match guest_link::check(conn, &token)? {
                Ok(found) => found,
                // The mailed link clicked again in the browser it opened (or an older one,
                // replaced since): on to the spaces (probes 57a, 57e: the guest was told to
                // ask for a new invitation).
                Err(LinkProblem::Used | LinkProblem::Revoked)
                    if session
                        .as_deref()
                        .map(|s| guest_link::used_by_session(conn, &token, s))
                        .transpose()?
                        == Some(true) =>
                {
                    return Ok(Err(None));
                }
                Err(p) => return Ok::<_, ModelError>(Err(Some(p))),
            };
            let space = space::find(conn, &guest.environment_id, &link.space_id)?
                .ok_or(ModelError::NotFound("space"))?;
            if space.archived_at.is_some() {
                return Ok(Err(Some(LinkProblem::Archived)));
            }
            Ok(Ok((token, space.name, guest.name, link.reusable)))
        })
        .await?;
    match found {
        Ok((token, space_name, guest_name, reusable)) => {
            let csrf = super::link_csrf::token(req);
            let failed = error.is_some();
            let mut resp = render(&LinkPage {
                token,
                space_name,
                guest_name,
                reusable,
                csrf: csrf.clone(),
                error,
            })?;
            if failed {
                *resp.status_mut() = StatusCode::FORBIDDEN;
            }
            resp.add_cookie(&super::link_csrf::cookie(state, &csrf))
                .map_err(|e| AppError::Internal(e.into()))?;
            Ok(resp)
        }
        Err(Some(p)) => problem_page(p),
        Err(None) => Ok(see_other("/guest")),
    }
}

#[derive(serde::Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf_token: String,
}

/// Uses the link: opens a guest session in this browser and goes to the guest's spaces.
/// Only from the link's own page (its form token matches this browser's cookie).
pub async fn open(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<OpenForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if !super::link_csrf::check(&req, &form.csrf_token) {
        let again = "The page expired; press the button again.".to_string();
        return link_page(&req, &state, token, Some(again)).await;
    }
    let asked = token.clone();
    let opened = state.db(move |conn| guest_link::open(conn, &asked)).await?;
    let (session, _space) = match opened {
        Ok(done) => done,
        // Pressed again in a second tab of the browser it opened: the page says where to
        // go, as the link does when clicked again (probe 63b D2: "used").
        Err(LinkProblem::Used | LinkProblem::Revoked) => return link_page(&req, &state, token, None).await,
        Err(p) => return problem_page(p),
    };
    let cookie = Cookie::build(GUEST_COOKIE, session)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(CookieDuration::days(SESSION_DAYS))
        .finish();
    let mut resp = see_other("/guest");
    resp.add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

pub struct SpaceCard {
    pub id: String,
    pub name: String,
    pub workbooks: Vec<super::guest_space::WorkbookCard>,
}

#[derive(Template)]
#[template(path = "guests/home.html")]
struct HomePage {
    layout: Layout,
    name: String,
    spaces: Vec<SpaceCard>,
}

/// The spaces a guest was invited to, with their workbooks.
pub async fn home(guest: GuestAccess, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let env = guest.guest.environment_id.clone();
    let ids = guest.spaces.clone();
    let spaces = state
        .db(move |conn| {
            let mut cards = Vec::new();
            for id in &ids {
                let Some(s) = space::find(conn, &env, id)? else {
                    continue;
                };
                cards.push(SpaceCard {
                    workbooks: super::guest_space::workbook_cards(conn, &s)?,
                    id: s.id.to_string(),
                    name: s.name,
                });
            }
            Ok::<_, ModelError>(cards)
        })
        .await?;
    render(&HomePage {
        layout: Layout::guest(&guest, "Your spaces"),
        name: guest.guest.name.clone(),
        spaces,
    })
}

pub async fn sign_out(
    guest: GuestAccess,
    state: web::Data<AppState>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    guest.check_csrf(&form.csrf_token)?;
    let hash = guest.session.token_hash.clone();
    state
        .db(move |conn| guest_link::delete_session(conn, &hash))
        .await?;
    // Its open live pages end too.
    state.live.access_changed().await;
    ended_session(see_other(SIGNED_OUT))
}

/// Where a guest whose session ended lands (signed out, expired, removed): the team's
/// sign-in form would ask for a password a guest never had.
pub const SIGNED_OUT: &str = "/guest/signed-out";

/// What the guest cookie holds once its session ended: no session's token, so every later
/// request of that browser reads as a guest's ended session and lands on [`SIGNED_OUT`],
/// not on the team's sign-in form (probe 68b D10: a removed guest's stale page sent them
/// there, as the cookie was gone).
pub const ENDED: &str = "ended";

/// `resp`, putting the guest's session cookie's token away.
pub fn ended_session(mut resp: HttpResponse) -> Result<HttpResponse, AppError> {
    let ended = Cookie::build(GUEST_COOKIE, ENDED)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(SESSION_DAYS))
        .finish();
    resp.add_cookie(&ended)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

/// Says how a guest gets back in.
pub async fn signed_out() -> Result<HttpResponse, AppError> {
    render(&ProblemPage {
        problem: "session-ended",
        heading: "Your guest session has ended",
        explanation: "You signed out, the session expired, or your access to the space was removed. To open the space again, use a new invitation link: ask the person who invited you.",
    })
}
