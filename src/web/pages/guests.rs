//! The Space page's Guests tab (team members): invite someone by email (name, optional
//! message), send a new link, remove a guest from the space.

use super::see_other;
use super::spaces::show_page;
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::db::AnyConnection;
use crate::ids::{GuestId, SpaceId};
use crate::model::guest::{self, Guest};
use crate::model::space::{self, Space};
use crate::model::{mail_retry, ModelError};
use crate::ops::invitations::{self, Invitation};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

pub struct GuestRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub added: Option<crate::web::when::When>,
    pub last_accessed: Option<crate::web::when::When>,
    /// An invitation the mail server has not taken yet (see `workers::mail_retry`).
    pub mail: Option<String>,
}

/// The guests of a space, for the tab.
pub fn rows(conn: &mut AnyConnection, s: &Space) -> Result<Vec<GuestRow>, ModelError> {
    let mut out = Vec::new();
    for g in guest::list(conn, &s.environment_id, Some(&s.id), None)? {
        let membership = guest::spaces_of(conn, &g.id)?
            .into_iter()
            .find(|m| m.space_id == s.id);
        let target = mail_retry::Target::Guest(g.id.clone(), s.id.clone());
        let mail = mail_retry::find(conn, &target)?.map(|r| r.describe());
        out.push(GuestRow {
            mail,
            id: g.id.to_string(),
            name: g.name,
            email: g.email,
            added: membership.as_ref().map(|m| When::new(&m.created_at)),
            last_accessed: membership.and_then(|m| m.last_accessed_at.as_ref().map(When::new)),
        });
    }
    Ok(out)
}

fn tab(id: &SpaceId) -> String {
    format!("/spaces/{id}?tab=guests")
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
    name: String,
    #[serde(default)]
    message: String,
}

/// Adds the guest to the space (creating it when its email is new) and mails the link.
pub async fn invite(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let form = form.into_inner();
    if let Some(problem) = invitations::message_problem(&form.message) {
        return show_page(&user, &state, &path, "guests".into(), Some(problem)).await;
    }
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    let env = user.environment.id.clone();
    let actor = user.actor();
    let (email, name) = (form.email.clone(), form.name.clone());
    let added = state
        .db(move |conn| {
            let s = space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
            invitations::refuse_archived(&s)?;
            let g = guest::create(conn, &env, &email, &name, std::slice::from_ref(&s.id), &actor)?;
            Ok::<_, ModelError>((g, s))
        })
        .await;
    let (g, s) = match added {
        Ok(found) => found,
        Err(AppError::Invalid(items)) => {
            let text: Vec<String> = items.into_iter().map(|i| i.message).collect();
            return show_page(&user, &state, &path, "guests".into(), Some(text.join("; "))).await;
        }
        Err(AppError::Conflict(text)) => {
            return show_page(&user, &state, &path, "guests".into(), Some(text)).await;
        }
        Err(e) => return Err(e),
    };
    send(&user, &state, &path, &g, &s, &form.message, Sending::Invite).await
}

/// Whether a mail is the invitation of a guest just added, or a new link: what a refusal
/// says happened (probe 66c D1: a refused new link read "was added to the space").
#[derive(Clone, Copy, PartialEq)]
enum Sending {
    Invite,
    NewLink,
}

async fn send(
    user: &CurrentUser,
    state: &AppState,
    raw_space: &str,
    g: &Guest,
    s: &Space,
    message: &str,
    sending: Sending,
) -> Result<HttpResponse, AppError> {
    let not_sent = |why: &str| match sending {
        Sending::Invite => format!("{} was added to the space, but not invited: {why}", g.email),
        Sending::NewLink => format!("No new link was sent to {}: {why}", g.email),
    };
    let inv = Invitation {
        from_name: Some(&user.user.name),
        message: Some(message),
    };
    let ops = state.ops();
    let sent = match invitations::allow(&ops, &user.actor(), std::slice::from_ref(&g.email)).await {
        Ok(()) => invitations::send(&ops, g, s, inv, &user.actor()).await,
        Err(refused) => Err(refused),
    };
    match sent.map_err(AppError::from) {
        Ok(()) => Ok(see_other(&format!("{}&sent={}", tab(&s.id), g.id))),
        Err(AppError::Invalid(items)) => {
            let text: Vec<String> = items.into_iter().map(|i| i.message).collect();
            let shown = not_sent(&text.join("; "));
            show_page(user, state, raw_space, "guests".into(), Some(shown)).await
        }
        Err(AppError::TooMany { message: text, .. }) | Err(AppError::Conflict(text)) => {
            // The guest is in the space already; only the mail did not go (probe 63b D6).
            let shown = not_sent(&text);
            show_page(user, state, raw_space, "guests".into(), Some(shown)).await
        }
        Err(AppError::Mail(text)) if sending == Sending::Invite => {
            let shown = format!(
                "{} was added to the space, but the invitation was not sent: {text}",
                g.email
            );
            show_page(user, state, raw_space, "guests".into(), Some(shown)).await
        }
        Err(AppError::Mail(text)) => {
            let shown = not_sent(&text);
            show_page(user, state, raw_space, "guests".into(), Some(shown)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct GuestForm {
    #[serde(default)]
    csrf_token: String,
}

async fn member(
    user: &CurrentUser,
    state: &AppState,
    space_raw: &str,
    guest_raw: &str,
) -> Result<(Guest, Space), AppError> {
    let sid = SpaceId::parse(space_raw).ok_or(AppError::NotFound("space"))?;
    let gid = GuestId::parse(guest_raw).ok_or(AppError::NotFound("guest"))?;
    let env = user.environment.id.clone();
    state
        .db(move |conn| {
            let s = space::find(conn, &env, &sid)?.ok_or(ModelError::NotFound("space"))?;
            let g = guest::find(conn, &env, &gid)?.ok_or(ModelError::NotFound("guest"))?;
            if !guest::spaces_of(conn, &g.id)?.iter().any(|m| m.space_id == s.id) {
                return Err(ModelError::NotFound("guest"));
            }
            Ok((g, s))
        })
        .await
}

/// Mails the guest a new link; the earlier one stops working.
pub async fn resend(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<GuestForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let (space_raw, guest_raw) = path.into_inner();
    let (g, s) = member(&user, &state, &space_raw, &guest_raw).await?;
    send(&user, &state, &space_raw, &g, &s, "", Sending::NewLink).await
}

/// Takes the space away from the guest: its links stop working, and a guest left without
/// spaces is signed out everywhere.
pub async fn remove(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<GuestForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let (space_raw, guest_raw) = path.into_inner();
    let (g, s) = member(&user, &state, &space_raw, &guest_raw).await?;
    let actor = user.actor();
    let sid = s.id.clone();
    state
        .db(move |conn| guest::remove_from_space(conn, &g, &sid, &actor))
        .await?;
    // The guest's open live pages of that space end.
    state.live.access_changed().await;
    Ok(see_other(&tab(&s.id)))
}
