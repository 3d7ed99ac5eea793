//! Guests and invitations, in the shapes of Flatfile's `client.guests`: list, create (an
//! array), get, update, delete (one space or the whole guest), a guest token, and
//! `POST /v1/invitations` which mails the links. API keys only: guests manage no guests.

use super::{given_id, ok, path_id, success};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::ids::{GuestId, SpaceId};
use crate::model::guest::{self, Guest, GuestSpace};
use crate::model::{guest_link, iso, space, ModelError};
use crate::ops::invitations::{self, Invitation};
use crate::web::error::AppError;
use crate::web::input::Json;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn guest_json(g: &Guest, spaces: &[GuestSpace]) -> Value {
    json!({
        "id": g.id,
        "environmentId": g.environment_id,
        "email": g.email,
        "name": g.name,
        "spaces": spaces.iter().map(|s| {
            let mut v = json!({"id": s.space_id});
            if let Some(t) = &s.last_accessed_at {
                v["lastAccessed"] = json!(iso(t));
            }
            v
        }).collect::<Vec<_>>(),
        "createdAt": iso(&g.created_at),
        "updatedAt": iso(&g.updated_at),
    })
}

/// A guest with its spaces, as JSON.
fn render(conn: &mut crate::db::AnyConnection, g: &Guest) -> Result<Value, ModelError> {
    let spaces = guest::spaces_of(conn, &g.id)?;
    Ok(guest_json(g, &spaces))
}

#[derive(Deserialize)]
pub struct SpaceRef {
    id: String,
    /// Flatfile lets a guest see only some workbooks or sheets of a space; Wharf gives a
    /// guest whole spaces, so a narrower grant is refused rather than widened.
    #[serde(default)]
    workbooks: Vec<Value>,
    #[serde(default)]
    sheets: Vec<Value>,
}

fn space_ids(refs: &[SpaceRef]) -> Result<Vec<SpaceId>, AppError> {
    refs.iter()
        .enumerate()
        .map(|(i, r)| {
            for (key, given) in [("workbooks", &r.workbooks), ("sheets", &r.sheets)] {
                if !given.is_empty() {
                    return Err(AppError::invalid(
                        &format!("spaces[{i}].{key}"),
                        "a guest reaches whole spaces in Wharf; leave out `workbooks` and `sheets` (Wharf would otherwise show the guest more than you asked for)",
                    ));
                }
            }
            given_id(&r.id, SpaceId::parse, "spaces.id")
        })
        .collect()
}

async fn load(state: &AppState, caller: &ApiCaller, raw: &str) -> Result<Guest, AppError> {
    let id = path_id(raw, GuestId::parse, "guest")?;
    let env = caller.environment_id.clone();
    state
        .db(move |conn| guest::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("guest"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
    space_id: Option<String>,
    email: Option<String>,
}

pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    super::spaces::check_environment(&caller.environment_id, q.environment_id.as_deref())?;
    let space_id = q
        .space_id
        .as_deref()
        .map(|t| given_id(t, SpaceId::parse, "spaceId"))
        .transpose()?;
    let env = caller.environment_id.clone();
    let items = state
        .db(move |conn| {
            if let Some(sid) = &space_id {
                space::find(conn, &env, sid)?.ok_or(ModelError::NotFound("space"))?;
            }
            let guests = guest::list(conn, &env, space_id.as_ref(), q.email.as_deref())?;
            guests
                .iter()
                .map(|g| render(conn, g))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(ok(items))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestConfig {
    environment_id: String,
    email: String,
    name: String,
    spaces: Vec<SpaceRef>,
}

pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: Json<Vec<GuestConfig>>,
) -> Result<HttpResponse, AppError> {
    let mut wanted = Vec::new();
    for config in body.into_inner() {
        super::spaces::check_environment(&caller.environment_id, Some(&config.environment_id))?;
        let spaces = space_ids(&config.spaces)?;
        wanted.push((config.email, config.name, spaces));
    }
    let env = caller.environment_id.clone();
    let actor = caller.actor();
    let items = state
        .db(move |conn| {
            crate::db::write_tx(conn, |conn| {
                let mut out = Vec::new();
                for (email, name, spaces) in &wanted {
                    let g = guest::create(conn, &env, email, name, spaces, &actor)?;
                    out.push(render(conn, &g)?);
                }
                Ok::<_, ModelError>(out)
            })
        })
        .await?;
    Ok(ok(items))
}

pub async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let g = load(&state, &caller, &path).await?;
    Ok(ok(state.db(move |conn| render(conn, &g)).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestConfigUpdate {
    environment_id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    spaces: Option<Vec<SpaceRef>>,
}

pub async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<GuestConfigUpdate>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    super::spaces::check_environment(&caller.environment_id, body.environment_id.as_deref())?;
    let spaces = body.spaces.as_deref().map(space_ids).transpose()?;
    let g = load(&state, &caller, &path).await?;
    let actor = caller.actor();
    let item = state
        .db(move |conn| {
            let g = guest::update(
                conn,
                &g,
                body.email.as_deref(),
                body.name.as_deref(),
                spaces.as_deref(),
                &actor,
            )?;
            render(conn, &g)
        })
        .await?;
    // Spaces taken away end the guest's open live pages of them.
    state.live.access_changed().await;
    Ok(ok(item))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceQuery {
    space_id: Option<String>,
}

/// With `spaceId`, takes that space away only; without, deletes the guest.
pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<SpaceQuery>,
) -> Result<HttpResponse, AppError> {
    let space_id = q
        .space_id
        .as_deref()
        .map(|t| given_id(t, SpaceId::parse, "spaceId"))
        .transpose()?;
    let g = load(&state, &caller, &path).await?;
    let actor = caller.actor();
    state
        .db(move |conn| match &space_id {
            Some(sid) => guest::remove_from_space(conn, &g, sid, &actor),
            None => guest::delete(conn, &g, &actor),
        })
        .await?;
    state.live.access_changed().await;
    Ok(success())
}

/// A fresh guest token for one of the guest's spaces (the first when none is named): it
/// opens the guest's access as a link (`/guest-links/{token}`) and as a Bearer token,
/// until `WHARF_GUEST_LINK_HOURS` pass.
pub async fn token(
    req: actix_web::HttpRequest,
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<SpaceQuery>,
) -> Result<HttpResponse, AppError> {
    // A HEAD (a link checker, a monitor) makes no sign-in token nobody sees.
    if actix_web::HttpMessage::extensions(&req)
        .get::<crate::web::AskedWithHead>()
        .is_some()
    {
        load(&state, &caller, &path).await?;
        return Ok(HttpResponse::Ok().finish());
    }
    let space_id = q
        .space_id
        .as_deref()
        .map(|t| given_id(t, SpaceId::parse, "spaceId"))
        .transpose()?;
    let g = load(&state, &caller, &path).await?;
    let hours = state.settings.guest_link_hours;
    let token = guest_link::new_token();
    let issued = token.clone();
    state
        .db(move |conn| {
            let spaces = guest::spaces_of(conn, &g.id)?;
            let space = match &space_id {
                Some(sid) => spaces
                    .iter()
                    .find(|s| &s.space_id == sid)
                    .ok_or(ModelError::NotFound("space"))?,
                None => spaces.first().ok_or_else(|| {
                    ModelError::Invalid(vec![("spaceId".into(), "this guest has no space".into())])
                })?,
            };
            guest_link::store(conn, &issued, &g.id, &space.space_id, true, hours)?;
            Ok::<_, ModelError>(())
        })
        .await?;
    Ok(ok(json!({"token": token, "valid": true})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    guest_id: String,
    space_id: String,
    from_name: Option<String>,
    message: Option<String>,
}

/// Mails each guest a fresh link to the space. When some do not go, the answer (502) says
/// which went and why each other did not (waiting for a retry, or refused).
pub async fn invite(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: Json<Vec<Invite>>,
) -> Result<HttpResponse, AppError> {
    let invitations = body.into_inner();
    // Checked for all before any is sent: it goes into the mail's subject and body.
    let from_problem = invitations.iter().enumerate().find_map(|(i, inv)| {
        let from = inv.from_name.as_deref()?;
        let message = crate::names::problem("fromName", from, crate::names::MAX_CHARS)?;
        Some((i, message))
    });
    if let Some((i, message)) = from_problem {
        return Err(AppError::invalid(&format!("$[{i}].fromName"), message));
    }
    let message_problem = invitations.iter().enumerate().find_map(|(i, inv)| {
        Some((
            i,
            crate::ops::invitations::message_problem(inv.message.as_deref()?)?,
        ))
    });
    if let Some((i, problem)) = message_problem {
        return Err(AppError::invalid(&format!("$[{i}].message"), problem));
    }
    // The same guest and space asked twice in one call is mailed once.
    let mut seen = std::collections::HashSet::new();
    let invitations: Vec<_> = invitations
        .into_iter()
        .filter(|inv| seen.insert((inv.guest_id.clone(), inv.space_id.clone())))
        .collect();
    let mut checked = Vec::with_capacity(invitations.len());
    for inv in &invitations {
        let gid = given_id(&inv.guest_id, GuestId::parse, "guestId")?;
        let sid = given_id(&inv.space_id, SpaceId::parse, "spaceId")?;
        let env = caller.environment_id.clone();
        let (g, s) = state
            .db(move |conn| {
                let g = guest::find(conn, &env, &gid)?.ok_or(ModelError::NotFound("guest"))?;
                let s = space::find(conn, &env, &sid)?.ok_or(ModelError::NotFound("space"))?;
                if !guest::spaces_of(conn, &g.id)?.iter().any(|m| m.space_id == s.id) {
                    return Err(ModelError::Invalid(vec![(
                        "spaceId".into(),
                        "this guest has no access to that space; add it to the guest first".into(),
                    )]));
                }
                invitations::refuse_archived(&s)?;
                Ok((g, s))
            })
            .await?;
        checked.push((inv, g, s));
    }
    // Every invitation is checked and counted before the first goes.
    let emails: Vec<String> = checked.iter().map(|(_, g, _)| g.email.clone()).collect();
    invitations::allow(&state.ops(), &caller.actor(), &emails).await?;
    let each = checked
        .iter()
        .map(|(inv, g, s)| {
            let inv = Invitation {
                from_name: inv.from_name.as_deref(),
                message: inv.message.as_deref(),
            };
            (g, s, inv)
        })
        .collect();
    let outcome = invitations::send_each(&state.ops(), each, &caller.actor()).await?;
    if !outcome.not_sent.is_empty() {
        return Err(AppError::Mail(outcome.message()));
    }
    Ok(success())
}
