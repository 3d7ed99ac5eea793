//! `ApiCaller`: a request authorised by `Authorization: Bearer sk_...`. A handler that takes
//! one cannot run without a live key, and sees only that key's environment.

use crate::app::AppState;
use crate::ids::{ApiKeyId, EnvironmentId};
use crate::model::{api_key, guest_link};
use crate::web::error::AppError;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub environment_id: EnvironmentId,
    pub key_id: ApiKeyId,
}

impl ApiCaller {
    /// How events name this caller.
    pub fn actor(&self) -> String {
        self.key_id.to_string()
    }
}

impl FromRequest for ApiCaller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            let secret = header
                .as_deref()
                .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    AppError::Unauthorized("send an API key as `Authorization: Bearer sk_...`".into())
                })?
                .to_string();
            if secret.starts_with(guest_link::TOKEN_PREFIX) {
                // A live guest token is a known caller without the right (403); any other
                // is no caller at all (401).
                let guest = state
                    .db(move |conn| guest_link::authenticate(conn, &secret))
                    .await?;
                return Err(match guest {
                    Some(_) => AppError::Forbidden(
                        "guest tokens cannot call this route: it takes an API key (`sk_...`)".into(),
                    ),
                    None => AppError::Unauthorized("that guest token is unknown or expired".into()),
                });
            }
            let key = state.db(move |conn| api_key::authenticate(conn, &secret)).await?;
            let key =
                key.ok_or_else(|| AppError::Unauthorized("that API key is unknown or revoked".into()))?;
            Ok(ApiCaller {
                environment_id: key.environment_id,
                key_id: key.id,
            })
        })
    }
}
