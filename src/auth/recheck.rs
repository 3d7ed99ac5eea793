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
                false => Err(ended("this API key was revoked")),
            };
        }
        Credential::UserSession(hash) => {
            return match session::is_live(conn, hash)? {
                true => Ok(()),
                false => Err(ended("your session ended")),
            };
        }
        Credential::GuestToken(token) => guest_link::authenticate(conn, token)?.map(|(g, _)| g.id),
        Credential::GuestSession(hash) => guest_link::session_guest(conn, hash)?,
    };
    let Some(guest) = guest else {
        return Err(ended("your access ended"));
    };
    match guest::reach_of(conn, &guest)?.open.contains(space) {
        true => Ok(()),
        false => Err(ended(
            "your access to this space ended (removed, or the space archived)",
        )),
    }
}

fn ended(what: &str) -> ModelError {
    ModelError::Forbidden(format!(
        "{what} while the request was arriving, so nothing of it was kept"
    ))
}

/// How long a body may take to arrive before the bearer credential that sent it is looked
/// up again: one that arrives at once raced the revocation at most by that much.
pub const ASK_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The request's bearer credential, looked up again after its body took long to arrive:
/// a key or guest token revoked meanwhile is refused (401), as it is for a new request.
pub async fn bearer_still_live(req: &HttpRequest) -> Result<(), AppError> {
    let Some(state) = req.app_data::<actix_web::web::Data<crate::app::AppState>>() else {
        return Ok(());
    };
    let (Some(_), Some(secret)) = (super::bearer::known(req), super::bearer::bearer(req)) else {
        return Ok(());
    };
    super::bearer::look_up(state, secret)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            AppError::Unauthorized(said) => AppError::Unauthorized(format!(
                "{said}: it was revoked while the request was arriving, so nothing of it was kept"
            )),
            other => other,
        })
}
