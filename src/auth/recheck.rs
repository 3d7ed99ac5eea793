//! A credential asked about again once a long request's body has arrived: a guest removed,
//! a key revoked or a session ended while an upload or a big insert was still arriving
//! writes nothing (probe 78b D2, D3: both landed, checked only when the request began).

use crate::ids::{ApiKeyId, SpaceId};
use crate::model::{api_key, guest, guest_link, session, ModelError};
use crate::web::error::AppError;
use actix_web::HttpRequest;

/// Who a request's caller was when it began.
#[derive(Debug, Clone)]
pub enum Credential {
    Key(ApiKeyId),
    /// A guest's API token, as sent.
    GuestToken(String),
    /// A person's browser session (its token's hash).
    UserSession(String),
    /// A guest's browser session (its token's hash).
    GuestSession(String),
}

/// Whether the caller still may write into `space`: its key, token or session live, and a
/// guest still invited to the space (not archived). Called in the write's own connection,
/// just before what the request made is kept.
pub fn still_reaches(
    conn: &mut crate::db::AnyConnection,
    credential: &Credential,
    space: &SpaceId,
) -> Result<(), ModelError> {
    let guest = match credential {
        Credential::Key(id) => {
            return match api_key::is_live(conn, id)? {
                true => Ok(()),
                false => Err(signed_out("this API key was revoked")),
            };
        }
        Credential::UserSession(hash) => {
            return match session::is_live(conn, hash)? {
                true => Ok(()),
                false => Err(signed_out("your session ended")),
            };
        }
        Credential::GuestToken(token) => guest_link::authenticate(conn, token)?.map(|(g, _)| g.id),
        Credential::GuestSession(hash) => guest_link::session_guest(conn, hash)?,
    };
    let Some(guest) = guest else {
        return Err(signed_out("your guest access ended"));
    };
    match guest::reach_of(conn, &guest)?.open.contains(space) {
        true => Ok(()),
        false => Err(ended(
            "your access to this space ended (removed, or the space archived)",
        )),
    }
}

/// A credential that ended is a 401, as a new request with it would be (probe 79a D9: an
/// upload's was 403, a JSON body's 401).
fn signed_out(what: &str) -> ModelError {
    ModelError::Unauthorized(while_arriving(what))
}

/// A guest still signed in whose reach of the space ended: a 403.
fn ended(what: &str) -> ModelError {
    ModelError::Forbidden(while_arriving(what))
}

fn while_arriving(what: &str) -> String {
    format!("{what} while the request was arriving, so nothing of it was kept")
}

/// How long a body may take to arrive before the bearer credential that sent it is looked
/// up again: one that arrives at once raced the revocation at most by that much (probe 79a
/// D8: a second let a key revoked half a second into a body write).
pub const ASK_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// The spaces a guest's token reached when its request began.
#[derive(Debug, Clone)]
pub struct GuestReachAtStart(pub Vec<SpaceId>);

/// The request's bearer credential, looked up again after its body took long to arrive:
/// a key or guest token revoked meanwhile is refused (401), as it is for a new request,
/// and a guest that lost one of the spaces it reached then (removed, or the space
/// archived) is refused (403) whatever the request writes (probe 80b D4-D6: a bulk update,
/// a field or a job landed in a space archived meanwhile).
pub async fn bearer_still_live(req: &HttpRequest) -> Result<(), AppError> {
    let Some(state) = req.app_data::<actix_web::web::Data<crate::app::AppState>>() else {
        return Ok(());
    };
    let (Some(_), Some(secret)) = (super::bearer::known(req), super::bearer::bearer(req)) else {
        return Ok(());
    };
    let known = super::bearer::look_up(state, secret).await.map_err(|e| match e {
        AppError::Unauthorized(said) => AppError::Unauthorized(format!(
            "{said}: it was revoked while the request was arriving, so nothing of it was kept"
        )),
        other => other,
    })?;
    let at_start = actix_web::HttpMessage::extensions(req)
        .get::<GuestReachAtStart>()
        .cloned();
    let (super::bearer::Known::GuestToken(g, _), Some(GuestReachAtStart(before))) = (known, at_start) else {
        return Ok(());
    };
    let now = state.db(move |conn| guest::reach_of(conn, &g.id)).await?;
    match before.iter().all(|space| now.open.contains(space)) {
        true => Ok(()),
        false => {
            Err(ended("your access to one of your spaces ended (removed, or the space archived)").into())
        }
    }
}

/// Set in a request whose person or guest was found signed in when it began.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn;

/// A page's form that took long to arrive, asked about again as its request began: the
/// person's or guest's session still open, and a guest still reaching the space, sheet,
/// workbook or file its path names (probe 79a D4: a row was added after a guest's removal,
/// an archive or a sign-out).
pub async fn page_still_allowed(req: &HttpRequest) -> Result<(), AppError> {
    use crate::ids::{FileId, SheetId, WorkbookId};
    use actix_web::FromRequest;
    // Only a request that began signed in (a sign-in form is no one's yet).
    if actix_web::HttpMessage::extensions(req)
        .get::<SignedIn>()
        .is_none()
    {
        return Ok(());
    }
    let viewer = super::Viewer::from_request(req, &mut actix_web::dev::Payload::None).await?;
    let super::Viewer::Guest(g) = viewer else {
        return Ok(());
    };
    let Some(state) = req.app_data::<actix_web::web::Data<crate::app::AppState>>() else {
        return Ok(());
    };
    let named: Vec<String> = req.match_info().iter().map(|(_, v)| v.to_string()).collect();
    let env = g.guest.environment_id.clone();
    let spaces = state
        .db(move |conn| {
            let mut spaces = Vec::new();
            for value in &named {
                if let Some(id) = SpaceId::parse(value) {
                    spaces.push(Some(id));
                } else if let Some(id) = SheetId::parse(value) {
                    spaces.push(crate::model::sheet::find(conn, &env, &id)?.map(|(_, s)| s));
                } else if let Some(id) = WorkbookId::parse(value) {
                    spaces.push(crate::model::workbook::find(conn, &env, &id)?.map(|w| w.space_id));
                } else if let Some(id) = FileId::parse(value) {
                    spaces.push(crate::model::file::find(conn, &env, &id)?.map(|f| f.space_id));
                }
            }
            Ok::<_, ModelError>(spaces)
        })
        .await?;
    match spaces
        .iter()
        .all(|s| s.as_ref().is_some_and(|s| g.spaces.contains(s)))
    {
        true => Ok(()),
        false => Err(ended("your access to this space ended (removed, or the space archived)").into()),
    }
}
