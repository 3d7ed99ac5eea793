//! A file's stored bytes: served with a safe type, streamed out, and deleted.

use crate::app::AppState;
use crate::web::error::AppError;
use actix_web::HttpResponse;

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

/// [`stream_object`] of a file's original bytes, with a type safe to serve.
pub async fn stream_file(state: &AppState, f: &crate::model::file::File) -> Result<HttpResponse, AppError> {
    stream_object(state, &f.storage_key, served_type(&f.mimetype), &f.name).await
}

/// Streams a stored object in chunks, as an attachment named `download_name`.
pub async fn stream_object(
    state: &AppState,
    key: &str,
    content_type: &str,
    download_name: &str,
) -> Result<HttpResponse, AppError> {
    let body = match state.storage.open(key).await {
        Ok(chunks) => chunks,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::NotFound("file contents"))
        }
        Err(e) => return Err(AppError::storage(e)),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type.to_string())
        .insert_header(crate::web::export::attachment(download_name))
        .streaming(body))
}
