//! People (admins): invite team members by email (admin or member) with a single-use link
//! that lets them set their password, change roles, remove people. The last admin can be
//! neither removed nor demoted. Also the invitation link's own pages.

use super::guest_links::team_problem_page;
use super::{render, see_other, CsrfForm, Layout};
use crate::app::AppState;
use crate::auth::{password, CurrentUser};
use crate::ids::UserId;
use crate::model::mail_retry::{Target, Waiting};
use crate::model::user::{self, User};
use crate::model::{team, ModelError};
use crate::ops::invitations::{self, Failure};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

pub struct PersonRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub pending: bool,
    pub is_me: bool,
    pub since: crate::web::when::When,
    /// An invitation the mail server has not taken yet (see `workers::mail_retry`).
    pub mail: Option<String>,
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct PeoplePage {
    layout: Layout,
    people: Vec<PersonRow>,
    error: Option<String>,
    /// What the last step did, said once (probe 72b D4: an invitation sent said nothing).
    notice: Option<String>,
    /// A refused invitation's email and role, kept to be fixed (probe 72b D11).
    draft: (String, String),
}

/// What the page says it just did: `sent` (a person invited), `resent` (a new link),
/// `role` (a role changed), by the person's id; `removed` someone.
#[derive(Deserialize, Default)]
pub struct Done {
    sent: Option<String>,
    resent: Option<String>,
    role: Option<String>,
    #[serde(default)]
    removed: bool,
}

impl Done {
    fn said(&self, people: &[PersonRow]) -> Option<String> {
        let email = |id: &Option<String>| {
            let id = id.as_deref()?;
            people.iter().find(|p| p.id == id).map(|p| p.email.clone())
        };
        if let Some(email) = email(&self.sent) {
            return Some(format!("Invitation sent to {email}."));
        }
        if let Some(email) = email(&self.resent) {
            return Some(format!(
                "A new link was sent to {email}; the earlier one no longer works."
            ));
        }
        if let Some(p) = self
            .role
            .as_deref()
            .and_then(|id| people.iter().find(|p| p.id == id))
        {
            let role = if p.is_admin { "an admin" } else { "a member" };
            return Some(format!("{} is now {role}.", p.email));
        }
        self.removed
            .then(|| "The person was removed and signed out.".to_string())
    }
}

async fn page(user: &CurrentUser, state: &AppState, error: Option<String>) -> Result<HttpResponse, AppError> {
    page_with(
        user,
        state,
        error,
        StatusCode::UNPROCESSABLE_ENTITY,
        Shown::default(),
    )
    .await
}

/// What the page shows beside the list: what was done, or a refused form as typed.
#[derive(Default)]
struct Shown {
    done: Done,
    draft: (String, String),
}

/// The page, with `error` shown and answered with `status`.
async fn page_with(
    user: &CurrentUser,
    state: &AppState,
    error: Option<String>,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage people")?;
    let me = user.user.id.clone();
    let people: Vec<PersonRow> = state
        .db(move |conn| {
            let pending = team::pending(conn)?;
            let waiting = crate::model::mail_retry::all(conn)?;
            let mail_of = |u: &User| {
                let key = Target::Member(u.id.clone()).key();
                waiting.iter().find(|r| r.target == key).map(|r| r.describe())
            };
            Ok::<_, ModelError>(
                team::list(conn)?
                    .into_iter()
                    .map(|u| {
                        let mail = mail_of(&u);
                        PersonRow {
                            // Invited too when the mail with the link has not gone yet.
                            pending: pending.contains(&u.id) || mail.is_some(),
                            mail,
                            is_me: u.id == me,
                            id: u.id.to_string(),
                            email: u.email,
                            name: u.name,
                            is_admin: u.is_admin,
                            since: When::new(&u.created_at),
                        }
                    })
                    .collect(),
            )
        })
        .await?;
    let failed = error.is_some();
    let notice = shown.done.said(&people);
    let mut resp = render(&PeoplePage {
        layout: Layout::new(user, "People", "people"),
        people,
        error,
        notice,
        draft: shown.draft,
    })?;
    if failed {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

pub async fn list(
    user: CurrentUser,
    state: web::Data<AppState>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        done: done.into_inner(),
        ..Shown::default()
    };
    page_with(&user, &state, None, StatusCode::OK, shown).await
}

/// The page with a refused invitation's `error`, the form as it was typed.
async fn refused(
    user: &CurrentUser,
    state: &AppState,
    error: String,
    form: &InviteForm,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        draft: (form.email.clone(), form.role.clone()),
        ..Shown::default()
    };
    page_with(user, state, Some(error), StatusCode::UNPROCESSABLE_ENTITY, shown).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
    role: String,
}

fn is_admin_role(role: &str) -> Result<bool, AppError> {
    match role {
        "admin" => Ok(true),
        "member" => Ok(false),
        _ => Err(AppError::invalid("role", "a role is admin or member")),
    }
}

/// Adds the person (they cannot sign in until they set a password) and mails the link.
pub async fn invite(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: crate::web::input::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage people")?;
    user.check_csrf(&form.csrf_token)?;
    let form = form.into_inner();
    let admin = is_admin_role(&form.role)?;
    // A bad address is told before anything is made (or a password hashed).
    if let Err(problem) = user::normalize_email(&form.email) {
        return refused(&user, &state, problem, &form).await;
    }
    // Until the link is used, the password is a random one nobody knows (signing in
    // still costs one hash, as for anyone).
    let unusable = {
        use rand::distributions::{Alphanumeric, DistString};
        password::hash_bounded(Alphanumeric.sample_string(&mut rand::thread_rng(), 32))
            .await
            .map_err(AppError::Internal)?
    };
    let email = form.email.clone();
    let created = state
        .db(move |conn| {
            let made = user::create_invited(conn, &email, &unusable, admin);
            // Someone invited who has not joined: the way on is their row's new link
            // (probe 72b D5: "already exists" read as a member).
            if let Err(ModelError::Conflict(_)) = &made {
                if let Some(u) = user::find_by_email(conn, &email)?.filter(|u| !u.has_password()) {
                    return Err(ModelError::Conflict(format!(
                        "{} is invited already and has not joined yet: Send a new link in their row mails another",
                        u.email
                    )));
                }
            }
            made
        })
        .await;
    let person = match created {
        Ok(p) => p,
        Err(AppError::Invalid(items)) => {
            let text: Vec<String> = items.into_iter().map(|i| i.message).collect();
            return refused(&user, &state, text.join("; "), &form).await;
        }
        Err(AppError::Conflict(text)) => return refused(&user, &state, text, &form).await,
        Err(e) => return Err(e),
    };
    send_link(&user, &state, &person, "sent").await
}

/// Mails `person` their link, then says so (`said`: `sent` or `resent`, see [`Done`]).
async fn send_link(
    user: &CurrentUser,
    state: &AppState,
    person: &User,
    said: &str,
) -> Result<HttpResponse, AppError> {
    let target = Target::Member(person.id.clone());
    let ops = state.ops();
    if let Err(refused) = invitations::allow(&ops, &user.actor(), std::slice::from_ref(&person.email)).await {
        let shown = format!(
            "{} was not sent a link: {}",
            person.email,
            AppError::from(refused)
        );
        return page(user, state, Some(shown)).await;
    }
    match invitations::deliver_member(&ops, &user.user.email, person).await {
        Ok(()) => invitations::forget(&ops, target).await?,
        Err(Failure::Mail(error)) => {
            let waiting = Waiting {
                target,
                from_name: None,
                message: None,
                invited_by: user.user.email.clone(),
                permanent: error.is_permanent(),
                error: error.to_string(),
                delay: invitations::first_delay(&ops),
                lifetime: chrono::TimeDelta::hours(state.settings.guest_link_hours),
            };
            let why = AppError::from(invitations::queue(&ops, waiting).await);
            let shown = format!(
                "{} was added, but the invitation was not sent: {why}",
                person.email
            );
            return page(user, state, Some(shown)).await;
        }
        Err(Failure::Other(e)) => {
            let e = AppError::from(e);
            let shown = format!("{} was added, but the invitation was not sent: {e}", person.email);
            return page(user, state, Some(shown)).await;
        }
    }
    Ok(see_other(&format!("/people?{said}={}", person.id)))
}

fn person_id(raw: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).ok_or(AppError::NotFound("user"))
}

/// Mails a new link to someone who has not joined yet; the earlier one stops working.
/// Someone with a password gets none: a link would let whoever reads the mail (admins
/// read the Outbox) set that person's password.
pub async fn resend(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage people")?;
    user.check_csrf(&form.csrf_token)?;
    let id = person_id(&path)?;
    let person = state
        .db(move |conn| team::find(conn, &id)?.ok_or(ModelError::NotFound("user")))
        .await?;
    if person.has_password() {
        let shown = format!(
            "{} has a password already; Wharf sends no link to set it. They sign in with \
             their own password.",
            person.email
        );
        return page_with(&user, &state, Some(shown), StatusCode::CONFLICT, Shown::default()).await;
    }
    send_link(&user, &state, &person, "resent").await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf_token: String,
    role: String,
}

pub async fn set_role(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage people")?;
    user.check_csrf(&form.csrf_token)?;
    let id = person_id(&path)?;
    let admin = is_admin_role(&form.role)?;
    match state.db(move |conn| team::set_role(conn, &id, admin)).await {
        Ok(u) => Ok(see_other(&format!("/people?role={}", u.id))),
        Err(AppError::Conflict(text)) => page(&user, &state, Some(text)).await,
        Err(e) => Err(e),
    }
}

/// Removes a person; their sessions end at once.
pub async fn remove(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage people")?;
    user.check_csrf(&form.csrf_token)?;
    let id = person_id(&path)?;
    match state.db(move |conn| team::remove(conn, &id)).await {
        Ok(()) => {
            // Their open live pages end.
            state.live.access_changed().await;
            Ok(see_other("/people?removed=true"))
        }
        Err(AppError::Conflict(text)) => page(&user, &state, Some(text)).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "people/accept.html")]
struct AcceptPage {
    token: String,
    email: String,
    error: Option<String>,
    csrf: String,
}

/// The set-password page with its form token (also set in this browser's cookie).
fn accept_page(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let csrf = super::link_csrf::token(req);
    let mut resp = render(&AcceptPage {
        token,
        email,
        error,
        csrf: csrf.clone(),
    })?;
    *resp.status_mut() = status;
    resp.add_cookie(&super::link_csrf::cookie(state, &csrf))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

/// The invitation link: a form to set a password. Looking does not use the link.
pub async fn accept_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let t = token.clone();
    match state.db(move |conn| team::check_invite(conn, &t)).await? {
        Ok((_, person)) => accept_page(&req, &state, token, person.email, None, StatusCode::OK),
        Err(p) => team_problem_page(p),
    }
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    csrf_token: String,
    password: String,
    confirm: String,
}

/// Sets the password (using the link) and signs the person in.
pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let form = form.into_inner();
    let csrf_ok = super::link_csrf::check(&req, &form.csrf_token);
    let problem = if !csrf_ok {
        Some("the page expired; enter your password again".to_string())
    } else if form.password != form.confirm {
        Some("the two passwords differ".to_string())
    } else {
        password::check_strength(&form.password).err()
    };
    if let Some(problem) = problem {
        let t = token.clone();
        return match state.db(move |conn| team::check_invite(conn, &t)).await? {
            Ok((_, person)) => {
                let status = if csrf_ok {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::FORBIDDEN
                };
                accept_page(&req, &state, token, person.email, Some(problem), status)
            }
            Err(p) => team_problem_page(p),
        };
    }
    let hash = password::hash_bounded(form.password.clone())
        .await
        .map_err(AppError::Internal)?;
    let session_token = match state
        .db(move |conn| team::accept_invite(conn, &token, &hash))
        .await?
    {
        Ok(s) => s,
        Err(p) => return team_problem_page(p),
    };
    let cookie = super::auth::session_cookie(&state, session_token);
    let mut resp = see_other("/spaces");
    resp.add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}
