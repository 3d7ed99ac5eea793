//! A file's stored bytes: served with a safe type, streamed out, and deleted.

use crate::app::AppState;
use crate::model::file::{self, File, FileChanges};
use crate::storage::{Asked, Span};
use crate::web::error::AppError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

/// A file's type by its name, when the upload did not say.
pub(super) fn mimetype_for(ext: &str) -> &'static str {
    match ext {
        "csv" => "text/csv",
        "tsv" | "tab" => "text/tab-separated-values",
        "txt" | "psv" => "text/plain",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => "application/octet-stream",
    }
}

/// The type a stored file is served with: the type it was uploaded with when that is one of
/// the data types above, else `application/octet-stream`. An uploader picks its part's
/// type; served as `text/html` or `application/javascript` from this origin, a guest's
/// upload would be a script the pages' `script-src 'self'` lets run.
fn served_type(stored: &str) -> &str {
    let essence = stored.split(';').next().unwrap_or("").trim();
    let known = ["csv", "tsv", "txt", "json", "jsonl", "xlsx", "xls", "ods"]
        .iter()
        .any(|ext| mimetype_for(ext).eq_ignore_ascii_case(essence));
    if known {
        stored
    } else {
        "application/octet-stream"
    }
}

/// Deletes stored objects in order (those already gone count as deleted); a store that
/// fails is a 502, and the objects after it stay.
pub async fn delete_bytes(storage: &crate::storage::Storage, keys: &[String]) -> Result<(), AppError> {
    for key in keys {
        storage.delete(key).await.map_err(AppError::storage)?;
    }
    Ok(())
}

/// Deletes a file's stored bytes: its rejected rows first, then its own, so that a store
/// failing between the two leaves a file that still downloads (its rejected rows, gone,
/// then count 0).
///
/// Bytes in another process's data folder are not here (nothing is deleted, as for bytes
/// already gone): the rows' delete hands them over to that process ([`file::hand_over`]).
pub async fn delete_file_bytes(state: &AppState, f: &File, actor: &str) -> Result<(), AppError> {
    // Asked as a delete's rows are, until the database takes it: a write holding it for
    // seconds made the mark answer 503 where the delete waited its turn and ended.
    let id = f.id.clone();
    let before = rows_after_bytes(state, move |conn| file::mark_deleting(conn, &id)).await?;
    let rejects_gone = delete_bytes(&state.storage, &[f.rejects_key()]).await;
    let rejects_ok = rejects_gone.is_ok();
    let deleted = match rejects_gone {
        Ok(()) => delete_bytes(&state.storage, std::slice::from_ref(&f.storage_key)).await,
        Err(e) => Err(e),
    };
    let Err(e) = deleted else {
        return Ok(());
    };
    // The file's bytes stayed: it says what it said before.
    if let Some(before) = before {
        let id = f.id.clone();
        if let Err(e) = state
            .db(move |conn| file::unmark_deleting(conn, &id, before))
            .await
        {
            tracing::warn!(error = %e, "putting back a file's status after a failed delete failed");
        }
    }
    if rejects_ok && f.reject_count > 0 {
        let (id, actor) = (f.id.clone(), actor.to_string());
        let none = FileChanges {
            reject_count: Some(0),
            ..Default::default()
        };
        if let Err(e) = state.db(move |conn| file::update(conn, &id, none, &actor)).await {
            tracing::warn!(error = %e, "noting a file's deleted rejected rows failed");
        }
    }
    Err(e)
}

/// Runs `work` to its end whether or not the request that asked for it still waits (a
/// client that leaves drops its request): a delete must not stop between its bytes and its
/// rows. Store calls inside it hold no database connection.
pub async fn to_the_end<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, AppError>> + Send + 'static,
) -> Result<T, AppError> {
    actix_web::rt::spawn(work)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a delete stopped: {e}")))?
}

/// How long a delete whose bytes are gone keeps asking for its rows' turn.
pub const ROWS_AFTER_BYTES_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The rows' part of a delete whose bytes are gone already: a database busy (a lock or
/// deadlock timeout beside an extraction, a field change rewriting a million records for
/// tens of seconds) is asked again until the rows go, for up to [`ROWS_AFTER_BYTES_WAIT`],
/// rather than leave rows whose bytes are deleted (after 10 s the space stayed, its files
/// listed without bytes: probe 53a D1). The request waits; a client that leaves meanwhile
/// does not stop it ([`to_the_end`]). Tries hold a place of
/// [`AppState::rows_after_bytes_gate`].
pub async fn rows_after_bytes<T, E>(
    state: &AppState,
    work: impl FnOnce(&mut crate::db::AnyConnection) -> Result<T, E> + Clone + Send + 'static,
) -> Result<T, AppError>
where
    T: Send + 'static,
    E: Into<AppError>,
{
    let mut pause = std::time::Duration::from_millis(50);
    let deadline = std::time::Instant::now() + ROWS_AFTER_BYTES_WAIT;
    loop {
        // Each try may wait its turn for seconds, holding a connection: only a few at once
        // (probe 53b N1: deletes behind a long write took the whole pool and `/health`
        // answered 503). Others wait here without one, in the order they came.
        let tried = {
            let _turn = state
                .rows_after_bytes_gate
                .acquire()
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            state.db(work.clone()).await
        };
        match tried {
            Err(AppError::Unavailable) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

/// [`stream_object`] of a file's original bytes, with a type safe to serve; its SHA-256 is
/// its `ETag`, so a download broken off resumes (`Range` with `If-Range`) on the same bytes.
pub async fn stream_file(
    state: &AppState,
    req: &HttpRequest,
    f: &crate::model::file::File,
    who: &str,
) -> Result<HttpResponse, AppError> {
    if f.status == crate::model::file::status::PURGED {
        return Err(AppError::NotFoundNamed(format!(
            "the bytes of file {} were deleted (a delete stopped half-way, status purged); delete the file to finish",
            f.id
        )));
    }
    if f.held_elsewhere(state.storage.holder().as_deref()) && !readable_here(state, &f.storage_key).await? {
        return Err(held_elsewhere(f));
    }
    let etag = (!f.sha256.is_empty()).then(|| format!("\"{}\"", f.sha256));
    let object = Object {
        key: &f.storage_key,
        content_type: served_type(&f.mimetype),
        download_name: &f.name,
        etag: etag.as_deref(),
        missing: "file contents",
        who,
    };
    stream_object(state, req, object).await
}

/// Whether this process reads `key` after all, for something recorded under another holder
/// (the same bucket under another endpoint's name, a shared folder): asked of the store
/// without holding the server's thread, and a store that does not answer is a 502, not a
/// bucket "this process does not use" (probe 54a M1).
pub async fn readable_here(state: &AppState, key: &str) -> Result<bool, AppError> {
    state.storage.holds(key).await.map_err(AppError::storage)
}

/// A file whose bytes this process cannot read: another's data folder holds them, or a
/// bucket this process does not use.
fn held_elsewhere(f: &File) -> AppError {
    let holder = f.held_by.as_deref().unwrap_or_default();
    AppError::HeldElsewhere(match crate::storage::is_bucket(holder) {
        true => format!(
            "the bytes of {} are in the bucket {holder}, which this process does not use; \
             download it through a process that uses that bucket (its WHARF_STORAGE_URL and \
             endpoint), and give every process on this database that bucket",
            f.name
        ),
        false => format!(
            "the bytes of {} are in the data folder of the Wharf process that received it, which \
             this process cannot read; download it through that process, or give every process \
             the same WHARF_STORAGE_URL (a bucket)",
            f.name
        ),
    })
}

/// The rows a file's extraction could not read, as CSV. An extraction again replaces them
/// under the same key, so their `ETag` is the stored object's version: a download resumed
/// across a re-extraction gets the new rows whole, never two versions spliced.
pub async fn stream_rejects(
    state: &AppState,
    req: &HttpRequest,
    f: &crate::model::file::File,
    who: &str,
) -> Result<HttpResponse, AppError> {
    let (name, key) = (format!("{} rejects.csv", f.name), f.rejects_key());
    if f.held_elsewhere(state.storage.holder().as_deref()) && !readable_here(state, &key).await? {
        return Err(held_elsewhere(f));
    }
    let object = Object {
        key: &key,
        content_type: "text/csv; charset=utf-8",
        download_name: &name,
        etag: None,
        missing: "rejected rows",
        who,
    };
    stream_object(state, req, object).await
}

/// A stored object as a download.
pub struct Object<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub download_name: &'a str,
    /// Its version, quoted, when it has one that never changes under the key; else the
    /// stored object's version is its `ETag`, read with the bytes it labels.
    pub etag: Option<&'a str>,
    /// What a 404 says is missing (`file contents`, `rejected rows`).
    pub missing: &'static str,
    /// Who asks (a person, a key, a guest, a submission's link): with a bucket, one caller
    /// reads at most [`crate::web::caller_places::DOWNLOADS_EACH`] at once.
    pub who: &'a str,
}

/// Streams a stored object in chunks, as an attachment, with its length; one span of it
/// when the request's `Range` asks for one (206; 416 when the object holds none of it).
pub async fn stream_object(
    state: &AppState,
    req: &HttpRequest,
    object: Object<'_>,
) -> Result<HttpResponse, AppError> {
    let asked = asked(req, object.etag);
    let head = req.method() == actix_web::http::Method::HEAD;
    // The caller's place, kept by the body until it ends (a HEAD reads no body).
    let place = match state.storage.shared() && !head {
        true => Some(state.downloads_by_caller.take(
            object.who,
            crate::web::caller_places::DOWNLOADS_EACH,
            "downloads",
        )?),
        false => None,
    };
    // A HEAD asks the size only: no body is read.
    let opened = match head {
        true => match state.storage.stat(object.key).await {
            Ok((size, version)) => {
                let span = asked.span_for(&version);
                crate::storage::wanted(span, size).map(|range| crate::storage::Opened {
                    size,
                    range,
                    spanned: span.is_some(),
                    version,
                    chunks: Box::pin(futures_util::stream::empty()),
                })
            }
            Err(e) => Err(e),
        },
        false => state.storage.open(object.key, asked).await,
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound(object.missing)),
        Err(e) => match crate::storage::unsatisfiable(&e) {
            Some(size) => {
                return Ok(HttpResponse::RangeNotSatisfiable()
                    .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                    .finish())
            }
            None => return Err(AppError::storage(e)),
        },
    };
    let (range, size) = (opened.range.clone(), opened.size);
    let mut response = match opened.spanned {
        true => {
            let mut partial = HttpResponse::PartialContent();
            let last = range.end.saturating_sub(1);
            partial.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{last}/{size}", range.start),
            ));
            partial
        }
        false => HttpResponse::Ok(),
    };
    match object.etag {
        Some(etag) => response.insert_header((header::ETAG, etag)),
        None => response.insert_header((header::ETAG, format!("\"{}\"", opened.version))),
    };
    let length = range.end - range.start;
    response
        .content_type(object.content_type.to_string())
        .insert_header(crate::web::export::attachment(object.download_name))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    // The length the body will have, which a HEAD's (empty) body does not.
    let chunks = futures_util::StreamExt::map(opened.chunks, move |chunk| {
        let _held = &place;
        chunk
    });
    Ok(response.body(actix_web::body::SizedStream::new(length, Box::pin(chunks))))
}

/// The one span of bytes a request asks for (none for several spans: the whole object is
/// served), and the version its `If-Range` holds it for. Against a fixed `etag` that is
/// decided here; else the store compares it with the version of the bytes it reads. An
/// `If-Range` that is a date, or weak, never matches: nothing here keeps dates.
fn asked<'a>(req: &'a HttpRequest, etag: Option<&str>) -> Asked<'a> {
    use actix_web::http::header::{ByteRangeSpec, Header, Range};
    let Ok(Range::Bytes(specs)) = Range::parse(req) else {
        return Asked::default();
    };
    let span = match specs.as_slice() {
        [ByteRangeSpec::FromTo(a, b)] => Some(Span::Between(*a, *b)),
        [ByteRangeSpec::From(a)] => Some(Span::From(*a)),
        [ByteRangeSpec::Last(n)] => Some(Span::Last(*n)),
        _ => None,
    };
    let Some(if_range) = req.headers().get(header::IF_RANGE) else {
        return Asked {
            span,
            if_version: None,
        };
    };
    let if_range = if_range.to_str().unwrap_or("");
    match etag {
        Some(etag) => Asked {
            span: span.filter(|_| if_range == etag),
            if_version: None,
        },
        None => Asked {
            span,
            // Quoted, as the ETag went out; anything else (never empty) names no version of ours.
            if_version: Some(
                if_range
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(""),
            ),
        },
    }
}
