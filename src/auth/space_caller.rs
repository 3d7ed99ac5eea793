//! `SpaceCaller`: a JSON API caller for the routes a guest may use too (a space's
//! workbooks, sheets and records): an API key (its whole environment) or a guest token
//! (`Authorization: Bearer gt_...`, only the guest's spaces). Every other API route takes
//! `ApiCaller`, which refuses guest tokens.

use super::bearer::{self, Known};
use super::recheck::Credential;
use super::ApiCaller;
use crate::app::AppState;
use crate::ids::{EnvironmentId, SpaceId};
use crate::model::{guest, guest_link};
use crate::web::error::AppError;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

#[derive(Debug, Clone)]
pub struct SpaceCaller {
    pub environment_id: EnvironmentId,
    actor: String,
    /// `Some` for a guest: the only spaces it may reach.
    guest_spaces: Option<Vec<SpaceId>>,
    /// A guest's spaces that are archived, closed until brought back.
    guest_archived: Vec<SpaceId>,
    /// The key or token it called with, to ask about again after a long body.
    credential: Credential,
}

impl SpaceCaller {
    pub fn actor(&self) -> String {
        self.actor.clone()
    }

    /// `Some` for a guest: the only spaces it may reach.
    pub fn guest_spaces(&self) -> Option<&[SpaceId]> {
        self.guest_spaces.as_deref()
    }

    pub fn guest_archived(&self) -> &[SpaceId] {
        &self.guest_archived
    }

    pub fn credential(&self) -> Credential {
        self.credential.clone()
    }
}

impl From<ApiCaller> for SpaceCaller {
    fn from(key: ApiCaller) -> Self {
        SpaceCaller {
            actor: key.actor(),
            environment_id: key.environment_id,
            guest_spaces: None,
            guest_archived: Vec::new(),
            credential: Credential::Key(key.key_id),
        }
    }
}

impl FromRequest for SpaceCaller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(super::bearer::bearer_of)
            .filter(|t| t.starts_with(guest_link::TOKEN_PREFIX))
            .map(str::to_string);
        let Some(token) = token else {
            let key = ApiCaller::from_request(req, payload);
            return Box::pin(async move { key.await.map(SpaceCaller::from) });
        };
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // The `/v1` scope found the token's guest already.
        let known = match bearer::known(req) {
            Some(Known::GuestToken(g, space)) => Some((*g, space)),
            _ => None,
        };
        let credential = Credential::GuestToken(token.clone());
        let request = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            let found = state
                .db(move |conn| {
                    let found = match known {
                        Some(found) => Some(found),
                        None => guest_link::authenticate(conn, &token)?,
                    };
                    let Some((g, token_space)) = found else {
                        return Ok::<_, diesel::result::Error>(None);
                    };
                    let reach = guest::reach_of(conn, &g.id)?;
                    if reach.open.contains(&token_space) {
                        guest::note_access(conn, &g.id, &reach.memberships, &[token_space])?;
                    }
                    Ok(Some((g, reach)))
                })
                .await?;
            let (g, reach) = found.ok_or_else(|| {
                AppError::Unauthorized("that guest token is unknown, expired or revoked".into())
            })?;
            // What a slow body's second look compares with (`recheck::bearer_still_live`).
            actix_web::HttpMessage::extensions_mut(&request)
                .insert(super::recheck::GuestReachAtStart(reach.open.clone()));
            Ok(SpaceCaller {
                environment_id: g.environment_id,
                actor: g.id.to_string(),
                guest_spaces: Some(reach.open),
                guest_archived: reach.archived,
                credential,
            })
        })
    }
}
