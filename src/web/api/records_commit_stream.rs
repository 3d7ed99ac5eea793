//! A big commit's records read without a page size, streamed: a record hook reads its
//! `dataUrl` once (the published `@flatfile/plugin-record-hook` never pages), and a bulk
//! change of more than 50,000 records is one commit, which an answer held in memory could
//! not carry (probe 62d D3: the plugin got a 422 and completed the commit unchanged, so the
//! team's rules never ran on that change). Records go out a few thousand at a time, a
//! connection taken for each part and given back before it is sent.

use super::record_view::RecordsEnvelope;
use crate::db::Pool;
use crate::model::record::{self, RecordQuery};
use crate::model::sheet::{self, SheetContext};
use actix_web::web::Bytes;
use actix_web::HttpResponse;

/// Records a part reads.
const PART: usize = 2000;

/// Streams `{"data": {"success": true, "records": [...]}}` for the commit's `ids` that `q`
/// selects, each record as a page would show it (`only`: the fields asked for). A field
/// change during the read cuts the answer off rather than send values under other keys.
pub fn respond(
    pool: Pool,
    ctx: SheetContext,
    q: RecordQuery,
    ids: Vec<i64>,
    only: Option<Vec<bool>>,
) -> HttpResponse {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let send = |text: String| tx.blocking_send(Ok(Bytes::from(text))).is_ok();
        if !send(r#"{"data":{"success":true,"records":["#.to_string()) {
            return;
        }
        let mut first = true;
        for part in ids.chunks(PART) {
            let mut pq = q.clone();
            pq.ids = Some(super::records_commit::within(part.to_vec(), q.ids.clone()));
            pq.page_size = part.len() as i64;
            pq.page_number = 1;
            pq.peek = false;
            let read = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                crate::db::read_snapshot(&mut conn, |conn| {
                    sheet::check_fresh(conn, &ctx)?;
                    Ok::<_, crate::model::ModelError>(record::query(conn, &ctx, &pq)?)
                })
                .map_err(|e| e.to_string())
            });
            let rows = match read {
                Ok(rows) => rows,
                Err(why) => {
                    tracing::error!(error = %why, "a commit's records stopped being read");
                    let _ = tx.blocking_send(Err(std::io::Error::other("the read failed")));
                    return;
                }
            };
            if rows.is_empty() {
                continue;
            }
            let envelope = RecordsEnvelope::new(&rows, &ctx.config).only(only.as_deref());
            let list = serde_json::to_string(&envelope.data.records).unwrap_or_else(|_| "[]".into());
            let inner = &list[1..list.len() - 1];
            let sep = if first { "" } else { "," };
            first = false;
            if !send(format!("{sep}{inner}")) {
                return;
            }
        }
        send("]}}".to_string());
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream)
}
