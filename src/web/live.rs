//! Live updates: a write to a sheet is announced to every open grid of that sheet over
//! server-sent events, so people editing together see each other's changes.

use crate::ids::SheetId;
use actix_web::web::Bytes;
use tokio::sync::broadcast;

pub struct Live {
    tx: broadcast::Sender<SheetId>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(256).0,
        }
    }
}

impl Live {
    /// Announces that a sheet's records changed (no-op when nobody listens).
    pub fn publish(&self, sheet: &SheetId) {
        let _ = self.tx.send(sheet.clone());
    }

    /// An SSE stream of `changed` events for one sheet, with a keep-alive comment.
    pub fn stream(&self, sheet: SheetId) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let rx = self.tx.subscribe();
        futures_util::stream::unfold((rx, sheet, true), |(mut rx, sheet, first)| async move {
            if first {
                return Some((Ok(Bytes::from_static(b": connected\n\n")), (rx, sheet, false)));
            }
            loop {
                let tick = tokio::time::sleep(std::time::Duration::from_secs(20));
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok(id) if id == sheet => {
                            return Some((Ok(Bytes::from_static(b"event: changed\ndata: changed\n\n")), (rx, sheet, false)));
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            return Some((Ok(Bytes::from_static(b"event: changed\ndata: changed\n\n")), (rx, sheet, false)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = tick => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, sheet, false))),
                }
            }
        })
    }
}
