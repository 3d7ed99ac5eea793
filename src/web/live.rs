//! Live updates: a write to a sheet is announced to every open grid of that sheet over
//! server-sent events, so people editing together see each other's changes. A grid is not
//! told about its own writes (it already shows them), so its focus and editor stay put.

use crate::ids::{JobId, SheetId, SpaceId};
use actix_web::web::Bytes;
use tokio::sync::broadcast;

/// A change to a sheet, and the grid (page) that made it, if any.
#[derive(Debug, Clone)]
struct Change {
    sheet: SheetId,
    origin: Option<String>,
}

pub struct Live {
    tx: broadcast::Sender<Change>,
    jobs: broadcast::Sender<(JobId, Option<SpaceId>)>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(256).0,
            jobs: broadcast::channel(256).0,
        }
    }
}

const CHANGED: &[u8] = b"event: changed\ndata: changed\n\n";

impl Live {
    /// Announces that a job's status or progress changed.
    pub fn publish_job(&self, job: &JobId, space: Option<&SpaceId>) {
        let _ = self.jobs.send((job.clone(), space.cloned()));
    }

    /// An SSE stream of `changed` events for the jobs `wanted` picks (by job and space),
    /// with a keep-alive comment every 20 s.
    pub fn job_stream(
        &self,
        wanted: impl Fn(&JobId, Option<&SpaceId>) -> bool + 'static,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let rx = self.jobs.subscribe();
        futures_util::stream::unfold((rx, wanted, true), |(mut rx, wanted, first)| async move {
            // A page may have been rendered before a change it then missed: the first
            // event makes it look again.
            if first {
                return Some((Ok(Bytes::from_static(CHANGED)), (rx, wanted, false)));
            }
            loop {
                let tick = tokio::time::sleep(std::time::Duration::from_secs(20));
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok((job, space)) if wanted(&job, space.as_ref()) => {
                            return Some((Ok(Bytes::from_static(CHANGED)), (rx, wanted, false)));
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            return Some((Ok(Bytes::from_static(CHANGED)), (rx, wanted, false)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = tick => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, wanted, false))),
                }
            }
        })
    }

    /// Announces that a sheet's records changed (no-op when nobody listens). `origin` is the
    /// writing grid's client id (header `X-Wharf-Client`), when the write came from a grid.
    pub fn publish(&self, sheet: &SheetId, origin: Option<&str>) {
        let _ = self.tx.send(Change {
            sheet: sheet.clone(),
            origin: origin.map(String::from),
        });
    }

    /// An SSE stream of `changed` events for one sheet, skipping the grid `client`'s own
    /// writes, with a keep-alive comment every 20 s.
    pub fn stream(
        &self,
        sheet: SheetId,
        client: Option<String>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let rx = self.tx.subscribe();
        futures_util::stream::unfold(
            (rx, sheet, client, true),
            |(mut rx, sheet, client, first)| async move {
                if first {
                    return Some((
                        Ok(Bytes::from_static(b": connected\n\n")),
                        (rx, sheet, client, false),
                    ));
                }
                loop {
                    let tick = tokio::time::sleep(std::time::Duration::from_secs(20));
                    tokio::select! {
                        got = rx.recv() => match got {
                            Ok(c) if c.sheet == sheet && (c.origin.is_none() || c.origin != client) => {
                                return Some((Ok(Bytes::from_static(CHANGED)), (rx, sheet, client, false)));
                            }
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                return Some((Ok(Bytes::from_static(CHANGED)), (rx, sheet, client, false)));
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                        _ = tick => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, sheet, client, false))),
                    }
                }
            },
        )
    }
}
