//! The JSON API under /v1, in the shapes of Flatfile's Platform API v1.

pub mod bulk;
pub mod cells;
pub mod changes;
pub mod commits;
pub mod detect_header;
pub mod documents;
pub mod entitlements;
pub mod environments;
pub mod events;
pub mod file_bytes;
pub mod file_delete;
mod file_upload;
pub mod files;
pub(crate) mod guest_ids;
pub mod guests;
pub mod health;
mod job_calls;
pub mod job_list;
pub mod job_plan;
pub(crate) mod job_starts;
pub mod jobs;
mod metadata;
pub mod record_input;
pub mod record_view;
pub mod records;
mod records_ahead;
mod records_body;
mod records_commit;
mod records_commit_stream;
mod records_shape;
mod records_subject;
pub mod secrets;
pub mod sheet_fields;
pub mod sheets;
pub mod space_configs;
pub mod spaces;
pub mod submissions;
mod unkept;
pub mod unsupported;
mod upload_name;
pub mod webhooks;
pub mod workbooks;

use super::error::AppError;
use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::json;

/// Flatfile's envelope: `{"data": ...}`.
pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": data }))
}

/// `{"data": {"success": true}}`, Flatfile's answer to a delete.
pub fn success() -> HttpResponse {
    ok(json!({ "success": true }))
}

/// An ID from the path; one of the wrong kind or shape names nothing, so it is a 404.
pub fn path_id<T>(text: &str, parse: fn(&str) -> Option<T>, what: &'static str) -> Result<T, AppError> {
    parse(text).ok_or(AppError::NotFound(what))
}

/// An ID given in a query or body, where a malformed one is the caller's mistake.
pub fn given_id<T>(text: &str, parse: fn(&str) -> Option<T>, key: &str) -> Result<T, AppError> {
    parse(text).ok_or_else(|| AppError::bad_request(key, format!("`{text}` is not a valid {key}")))
}

/// The `spaceId` a list is narrowed to, when given: well formed, and one the caller may
/// reach (another space is not found for a guest).
pub fn space_filter(
    caller: &impl crate::auth::SpaceScope,
    raw: Option<&str>,
) -> Result<Option<crate::ids::SpaceId>, AppError> {
    let id = raw
        .map(|t| given_id(t, crate::ids::SpaceId::parse, "spaceId"))
        .transpose()?;
    if let Some(id) = &id {
        caller.check_reach(id)?;
    }
    Ok(id)
}

/// Page size and number, checked: sizes from 1 to `max`, pages from 1.
pub fn paging(
    size: Option<i64>,
    number: Option<i64>,
    default_size: i64,
    max: i64,
) -> Result<(i64, i64), AppError> {
    let size = size.unwrap_or(default_size);
    if !(1..=max).contains(&size) {
        return Err(AppError::bad_request(
            "pageSize",
            format!("pageSize must be between 1 and {max}"),
        ));
    }
    let number = number.unwrap_or(1);
    if number < 1 {
        return Err(AppError::bad_request("pageNumber", "pageNumber starts at 1"));
    }
    Ok((size, number))
}

/// Flatfile's pagination block.
pub fn pagination(total: i64, size: i64, number: i64) -> serde_json::Value {
    json!({
        "currentPage": number,
        "pageCount": (total + size - 1) / size,
        "totalCount": total,
    })
}

/// Flatfile's `sortDirection`: whether it is `desc` (`asc` or none: ascending).
pub fn descending(given: Option<&str>) -> Result<bool, AppError> {
    match given {
        None | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(other) => Err(AppError::bad_request(
            "sortDirection",
            format!("sortDirection `{other}` is not asc or desc"),
        )),
    }
}

/// A `true`/`false` query flag (`includeLinks`, `byField`): false when not given, the last
/// when repeated.
pub fn flag(params: &[(String, String)], key: &str) -> Result<bool, AppError> {
    match params
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
    {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(AppError::bad_request(
            key,
            format!("{key} `{other}` is not true or false"),
        )),
    }
}

/// Largest JSON body: a batch of 10,000 records with ten fields fits with room to spare.
pub const JSON_LIMIT: usize = 64 * 1024 * 1024;

/// Reads a JSON request body up to [`JSON_LIMIT`], with the API's errors for a wrong
/// content type, a body that is too large, or one holding a NUL character.
pub async fn read_json_body<S>(
    req: &actix_web::HttpRequest,
    payload: S,
) -> Result<actix_web::web::BytesMut, AppError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The media type before any parameters (`; charset=utf-8`), in any case.
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"));
    if !json {
        return Err(AppError::bad_request(
            "body",
            "send JSON with `Content-Type: application/json`",
        ));
    }
    let body = read_body(req, payload).await?;
    refuse_lossy_numbers(&body)?;
    Ok(body)
}

/// A number the body holds that Wharf would keep as another (see `web::json_numbers`).
pub fn refuse_lossy_numbers(body: &[u8]) -> Result<(), AppError> {
    match crate::web::json_numbers::lossy_number(body) {
        Some((at, number)) => Err(AppError::invalid(
            "body",
            format!(
                "the number {number} (at byte {at}) has more digits than Wharf keeps (a double, or a whole number of 64 bits): send it as text, in quotes, to keep every digit"
            ),
        )),
        None => Ok(()),
    }
}

/// A request body up to [`JSON_LIMIT`], whatever its content type (gunzipped when sent so),
/// refused when it holds a NUL character.
pub async fn read_body<S>(
    req: &actix_web::HttpRequest,
    mut payload: S,
) -> Result<actix_web::web::BytesMut, AppError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let advice = smaller(req);
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "the body is over the limit of {JSON_LIMIT} bytes; {advice}"
        ))
    };
    let expected = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if expected.is_some_and(|n| n > JSON_LIMIT) {
        return Err(too_large());
    }
    // Room for what arrived, not for what a header promised: twelve stalled bodies that
    // claimed 64 MiB each held 720 MB.
    let mut body = actix_web::web::BytesMut::with_capacity(expected.unwrap_or(8192).min(1 << 20));
    let idle = req
        .app_data::<actix_web::web::Data<crate::app::AppState>>()
        .map_or(75, |state| state.settings.keep_alive_seconds);
    let mut pace = crate::web::upload_pace::Pace::new(std::time::Duration::from_secs(idle));
    let began = std::time::Instant::now();
    // Held with the request, until its answer: the body, then what it is parsed into.
    let mut hold = req
        .app_data::<actix_web::web::Data<crate::app::AppState>>()
        .map(|state| state.bodies.hold_for(req));
    while let Some(chunk) = pace.next(&mut payload).await? {
        let chunk =
            chunk.map_err(|e| AppError::bad_request("body", format!("the body could not be read: {e}")))?;
        pace.got(chunk.len());
        if body.len() + chunk.len() > JSON_LIMIT {
            return Err(too_large());
        }
        if let Some(hold) = hold.as_mut() {
            hold.grow(chunk.len())?;
        }
        body.extend_from_slice(&chunk);
    }
    // A key or token revoked while a slow body arrived writes nothing (probe 78b D3).
    if began.elapsed() >= crate::auth::recheck::ASK_AGAIN_AFTER {
        crate::auth::recheck::bearer_still_live(req).await?;
    }
    let body = match encoding_of(req)? {
        Encoding::Identity => body,
        Encoding::Gzip => {
            let inflated = gunzip(&body, advice)?;
            if let Some(hold) = hold.as_mut() {
                hold.grow(inflated.len())?;
            }
            inflated
        }
    };
    super::input::refuse_json_nul(&body)?;
    if let Some(mut hold) = hold {
        // What it is about to be parsed into is held too, before it is, whichever reader
        // parses it (probe 67h D3: a job's `complete` parsed 64 MiB of `{},` uncounted).
        hold.grow(crate::web::body_budget::parsed_cost(&body))?;
        actix_web::HttpMessage::extensions_mut(req).insert(hold);
    }
    Ok(body)
}

/// What to do about a body over the limit: records go in batches; anything else is
/// smaller than that.
fn smaller(req: &actix_web::HttpRequest) -> &'static str {
    match req.path().contains("/records") {
        true => "send records in smaller batches",
        false => "send a smaller body",
    }
}

enum Encoding {
    Identity,
    Gzip,
}

fn encoding_of(req: &actix_web::HttpRequest) -> Result<Encoding, AppError> {
    let Some(value) = req.headers().get("content-encoding") else {
        return Ok(Encoding::Identity);
    };
    match value.to_str().unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        other => Err(AppError::bad_request(
            "Content-Encoding",
            format!("Content-Encoding `{other}` is not supported; send the body plain or gzip"),
        )),
    }
}

/// Inflates a gzip body, refusing with 413 once the inflated text passes [`JSON_LIMIT`]
/// (a small bomb costs no more than the limit).
fn gunzip(body: &[u8], advice: &str) -> Result<actix_web::web::BytesMut, AppError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(body.len() * 4);
    let mut reader = flate2::read::MultiGzDecoder::new(body).take(JSON_LIMIT as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| AppError::bad_request("body", format!("the gzip body could not be inflated: {e}")))?;
    if out.len() > JSON_LIMIT {
        return Err(AppError::PayloadTooLarge(format!(
            "the body inflates to more than the limit of {JSON_LIMIT} bytes; {advice}"
        )));
    }
    Ok(actix_web::web::BytesMut::from(&out[..]))
}

/// Stored JSON text back to a value (an unreadable column shows as null, not a failure).
pub fn stored_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}
