//! The JSON API's bearer credential, checked before anything else of the request is read:
//! an unknown or revoked key or token is answered 401 at once, so a caller nobody knows
//! cannot make the server read and parse a body (up to the upload limits) only to be
//! refused. What was found is kept in the request for the handler's `ApiCaller` or
//! `SpaceCaller`, which then asks the database no more.

use crate::app::AppState;
use crate::ids::SpaceId;
use crate::model::guest::Guest;
use crate::model::{api_key, guest_link};
use crate::web::error::AppError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

/// A live credential the request carries, found before its handler ran.
#[derive(Debug, Clone)]
pub(crate) enum Known {
    Key(api_key::ApiKey),
    /// A live guest token: its guest and the space it was issued for (`SpaceCaller` reads
    /// the guest's spaces).
    GuestToken(Box<Guest>, SpaceId),
}

/// The bearer credential of a request, if it carries one.
pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(bearer_of)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The credential of an `Authorization` value of the Bearer scheme, whose name is read
/// in any case, as HTTP's scheme names are (`BEARER sk_...` was refused: probe 64e D9).
pub(crate) fn bearer_of(header: &str) -> Option<&str> {
    let (scheme, credential) = header.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credential.trim())
}

/// What an earlier look found, if the request had one.
pub(crate) fn known(req: &HttpRequest) -> Option<Known> {
    req.extensions().get::<Known>().cloned()
}

/// Middleware of the `/v1` scope. A request without a credential goes on (its handler says
/// what it takes; Submit's signed links take none).
pub async fn check_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    // Submit's signed record links take no credential: one a receiver's client sends
    // anyway (a revoked key, say) must not refuse a link its signature lets in.
    let signed_link = req.path().starts_with("/v1/submissions/");
    // Two credentials: which one the request meant is not ours to guess (the first was
    // taken, the second ignored).
    if !signed_link && req.headers().get_all("authorization").nth(1).is_some() {
        let e = AppError::bad_request(
            "authorization",
            "the request has two Authorization headers; send one",
        );
        return Ok(req.error_response(e));
    }
    let Some(secret) = bearer(req.request()).filter(|_| !signed_link) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    match look_up(&state, secret).await {
        Ok(known) => {
            req.extensions_mut().insert(known);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

/// The live key or guest token `secret` is, or the 401 that says it is neither.
pub(crate) async fn look_up(state: &AppState, secret: String) -> Result<Known, AppError> {
    if secret.starts_with(guest_link::TOKEN_PREFIX) {
        let live = state
            .db(move |conn| guest_link::authenticate(conn, &secret))
            .await?;
        return match live {
            Some((guest, space)) => Ok(Known::GuestToken(Box::new(guest), space)),
            None => Err(AppError::Unauthorized(
                "that guest token is unknown, expired or revoked".into(),
            )),
        };
    }
    let key = state.db(move |conn| api_key::authenticate(conn, &secret)).await?;
    key.map(Known::Key)
        .ok_or_else(|| AppError::Unauthorized("that API key is unknown or revoked".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_scheme_is_read_in_any_case() {
        for header in ["Bearer sk_1", "bearer sk_1", "BEARER  sk_1 "] {
            assert_eq!(super::bearer_of(header), Some("sk_1"), "{header}");
        }
        assert_eq!(super::bearer_of("Basic sk_1"), None);
        assert_eq!(super::bearer_of("Bearersk_1"), None);
    }
}
