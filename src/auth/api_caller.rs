//! `ApiCaller`: a request authorised by `Authorization: Bearer sk_...`. A handler that takes
//! one cannot run without a live key, and sees only that key's environment.

use super::bearer::{self, Known};
use crate::app::AppState;
use crate::ids::{ApiKeyId, EnvironmentId};
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
        let known = bearer::known(req);
        let secret = bearer::bearer(req);
        Box::pin(async move {
            let found = match known {
                // The `/v1` scope looked the credential up before the body was read.
                Some(known) => known,
                None => {
                    let state =
                        state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
                    let secret = secret.ok_or_else(|| {
                        AppError::Unauthorized("send an API key as `Authorization: Bearer sk_...`".into())
                    })?;
                    bearer::look_up(&state, secret).await?
                }
            };
            match found {
                Known::Key(key) => Ok(ApiCaller {
                    environment_id: key.environment_id,
                    key_id: key.id,
                }),
                // A live guest token is a known caller without the right (403).
                Known::GuestToken(..) => Err(AppError::Forbidden(
                    "guest tokens cannot call this route: it takes an API key (`sk_...`)".into(),
                )),
            }
        })
    }
}
