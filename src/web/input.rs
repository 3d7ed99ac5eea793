//! Request input read the same way everywhere: JSON bodies for the API and form bodies
//! for the pages, within their limits, and never holding a NUL character. PostgreSQL
//! cannot store NUL in text, so both backends refuse it at the door and behave alike.

use super::api::read_json_body;
use super::error::AppError;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// Largest form body a page accepts.
pub const FORM_LIMIT: usize = 4 * 1024 * 1024;

const NUL_MESSAGE: &str =
    "the text contains a NUL character (\\u0000), which Wharf does not store; remove it and send again";

/// True when JSON text holds a `\u0000` escape (an escaped backslash before `u0000` is not one).
pub fn json_has_nul(body: &[u8]) -> bool {
    let needle = b"u0000";
    let mut from = 0;
    while let Some(at) = find(&body[from..], needle).map(|i| i + from) {
        let slashes = body[..at].iter().rev().take_while(|b| **b == b'\\').count();
        if slashes % 2 == 1 {
            return true;
        }
        from = at + needle.len();
    }
    false
}

/// True when URL-encoded text holds `%00`, or a NUL byte sent as it is (decoding keeps it).
fn urlencoded_has_nul(text: &[u8]) -> bool {
    text.contains(&0)
        || text
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Refuses a JSON body holding a NUL character, with 422.
pub fn refuse_json_nul(body: &[u8]) -> Result<(), AppError> {
    if json_has_nul(body) {
        return Err(AppError::invalid("body", NUL_MESSAGE));
    }
    Ok(())
}

/// A query string holding `%00` gets 400 before any handler runs, keyed by the parameter
/// that holds it (`q`, as a client names its input: probe 49b 5).
pub fn refuse_query_nul(req: &ServiceRequest) -> Result<(), AppError> {
    let query = req.query_string();
    if urlencoded_has_nul(query.as_bytes()) {
        let named = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            .map(|(k, _)| k.replace('\0', ""))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "query".into());
        return Err(AppError::bad_request(&named, NUL_MESSAGE));
    }
    Ok(())
}

/// The API's JSON body: `application/json` up to the API's limit, free of NUL characters.
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { parse_json(&read_json_body(&req, payload).await?).map(Json) })
    }
}

/// [`Json`] for a body that may be absent (the Flatfile client's bodyless POSTs, with no
/// content type): `T::default()` then. A body is read as JSON whatever its content type.
pub struct OptionalJson<T>(pub T);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            // Any content type: these calls took a body read as JSON whatever it said.
            let body = super::api::read_body(&req, payload).await?;
            match body.iter().all(u8::is_ascii_whitespace) {
                true => Ok(OptionalJson(T::default())),
                false => {
                    super::api::refuse_lossy_numbers(&body)?;
                    parse_json(&body).map(OptionalJson)
                }
            }
        })
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    // A file saved by a Windows tool starts with a byte-order mark, which says nothing.
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    serde_json::from_slice(body).map_err(|e| unreadable_json(&e))
}

/// A 400 saying why a JSON body could not be read, and where; a `\u` escape of half a
/// character (`"\ud800x"`) is said in words, since serde's "unexpected end of hex escape"
/// names no fault a client can see (probe 58a).
pub fn unreadable_json(e: &serde_json::Error) -> AppError {
    let text = e.to_string();
    let hint = match text.contains("hex escape") || text.contains("surrogate") {
        true => " (a \\u escape there is half a character, a lone surrogate such as \\ud800: send the character itself, or both halves of its pair)",
        false => "",
    };
    AppError::bad_request("body", format!("the JSON body could not be read: {text}{hint}"))
}

/// A page's form body (URL-encoded) up to [`FORM_LIMIT`], free of NUL characters.
pub struct Form<T>(pub T);

impl<T> std::ops::Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            use futures_util::StreamExt;
            let began = std::time::Instant::now();
            let mut body = actix_web::web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| AppError::bad_request("form", format!("the form could not be read: {e}")))?;
                if body.len() + chunk.len() > FORM_LIMIT {
                    return Err(AppError::PayloadTooLarge(format!(
                        "the form is over the limit of {FORM_LIMIT} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            if urlencoded_has_nul(&body) {
                return Err(AppError::invalid("form", NUL_MESSAGE));
            }
            // A session ended or a guest's space gone while a slow form arrived: nothing is
            // done (probe 79a D4).
            if began.elapsed() >= crate::auth::recheck::ASK_AGAIN_AFTER {
                crate::auth::recheck::page_still_allowed(&req).await?;
            }
            serde_urlencoded::from_bytes(&body)
                .map(Form)
                .map_err(|e| AppError::bad_request("form", format!("the form could not be read: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_escapes_but_not_escaped_backslashes() {
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(json_has_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"u0000"}"#));
        assert!(urlencoded_has_nul(b"name=a%00b"));
        assert!(urlencoded_has_nul(b"name=a\0b"), "a NUL byte sent as it is");
        assert!(!urlencoded_has_nul(b"name=a%2500b"));
    }
}
