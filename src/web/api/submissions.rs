//! A Submit's `recordsUrl`: the frozen records of one sheet of a submission, as JSON Lines
//! (or CSV with `?format=csv`). The link is its own credential: signed by the server for
//! that submission and sheet, until its expiry; nothing is served otherwise.

use crate::app::AppState;
use crate::ids::SubmissionId;
use crate::model::submission::{self, LinkProblem};
use crate::web::error::AppError;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    expires: String,
    #[serde(default)]
    signature: String,
    #[serde(default)]
    format: Option<String>,
}

fn forbidden(message: &str) -> HttpResponse {
    HttpResponse::Forbidden().json(serde_json::json!({
        "errors": [{"key": "signature", "message": message}]
    }))
}

pub async fn records(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let (raw_id, sheet) = path.into_inner();
    let csv = match q.format.as_deref() {
        None | Some("jsonl") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(AppError::bad_request(
                "format",
                format!("format `{other}` is not one of jsonl, csv"),
            ))
        }
    };
    let Ok(expires) = q.expires.parse::<i64>() else {
        return Ok(forbidden(
            "this records link has no valid expiry; use the recordsUrl exactly as delivered",
        ));
    };
    let id = SubmissionId::parse(&raw_id).ok_or(AppError::NotFound("submission"))?;
    let (key, found) = {
        let id = id.clone();
        state
            .db(move |conn| {
                Ok::<_, diesel::result::Error>((submission::link_key(conn)?, submission::get(conn, &id)?))
            })
            .await?
    };
    // The signature first: nothing is said of a submission to a link not signed for it.
    match submission::check_link(&key, &id, &sheet, expires, &q.signature) {
        Ok(()) => {}
        Err(LinkProblem::BadSignature) => {
            return Ok(forbidden(
                "this records link's signature does not match; use the recordsUrl exactly as delivered",
            ))
        }
        Err(LinkProblem::Expired) => {
            return Ok(forbidden(
                "this records link has expired (they work for 24 hours); the next delivery of the submission carries a fresh one",
            ))
        }
    }
    let s = found.ok_or(AppError::NotFound("submission"))?;
    let frozen = s
        .frozen_sheets()
        .into_iter()
        .find(|f| f.id == sheet)
        .ok_or(AppError::NotFound("sheet in this submission"))?;
    if s.held_elsewhere(state.storage.holder().as_deref())
        && !super::file_bytes::readable_here(&state, &frozen.storage_key).await?
    {
        let holder = s.held_by.as_deref().unwrap_or_default();
        return Err(AppError::HeldElsewhere(match crate::storage::is_bucket(holder) {
            true => format!(
                "the records of submission {} are in the bucket {holder}, which this process \
                 does not use; fetch them through a process that uses that bucket (its \
                 WHARF_STORAGE_URL and endpoint), and give every process on this database that bucket",
                s.id
            ),
            false => format!(
                "the records of submission {} are in the data folder of the Wharf process that \
                 froze them, which this process cannot read; fetch them through that process, or \
                 give every process the same WHARF_STORAGE_URL (a bucket)",
                s.id
            ),
        }));
    }
    if !csv {
        let name = format!("{}.jsonl", frozen.slug);
        let object = crate::web::api::file_bytes::Object {
            key: &frozen.storage_key,
            content_type: "application/jsonl",
            download_name: &name,
            etag: None,
            missing: "submission records",
            who: &format!("submission {}", s.id),
        };
        return crate::web::api::file_bytes::stream_object(&state, &req, object).await;
    }
    // A local file to read from (a temp download from a bucket, kept while it is read).
    let (storage, key) = (state.storage.clone(), frozen.storage_key.clone());
    let copy = web::block(move || storage.local_copy(&key))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
        // Gone is 404; a store that failed is 502, as the JSON lines answer (a receiver
        // takes a 404 as final and stops asking).
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppError::NotFound("submission records"),
            _ => AppError::storage(e),
        })?;
    let file = std::fs::File::open(copy.path()).map_err(|_| AppError::NotFound("submission records"))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let _copy = copy;
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let input = std::io::BufReader::with_capacity(256 * 1024, file);
        if let Err(e) = crate::ops::submit::jsonl_to_csv(&frozen, input, &mut out) {
            tracing::warn!(error = %e, "a submission's CSV stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other("the records could not be read")));
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .streaming(stream))
}

const CHUNK: usize = 256 * 1024;

/// Bytes written go to the response in chunks (from a blocking thread).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the receiver went away"))
    }
}
