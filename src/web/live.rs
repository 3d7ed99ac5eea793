//! Live updates: a write to a sheet is announced to every open grid of that sheet over
//! server-sent events, so people editing together see each other's changes. A grid is not
//! told about its own writes (it already shows them), so its focus and editor stay put.
//!
//! Inside one process a broadcast channel fans changes out. On PostgreSQL, where several
//! Wharf processes may share one database, each change is also sent with `NOTIFY` and
//! every process `LISTEN`s, so a grid open on one process sees writes made through another.

use crate::ids::SheetId;
use actix_web::web::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL channel changes travel on between processes.
const CHANNEL: &str = "wharf_live";
/// How often an open stream proves it is alive; a browser that has gone is found out at
/// the next one, and its stream ends.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often the listener looks for notifications from other processes.
const LISTEN_POLL: Duration = Duration::from_millis(50);

/// A change to a sheet, and the grid (page) that made it, if any.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Change {
    sheet: SheetId,
    origin: Option<String>,
    /// The process that made the change, so it does not hear its own notification.
    process: String,
}

pub struct Live {
    tx: broadcast::Sender<Change>,
    process: String,
    /// Changes to send to other processes (PostgreSQL only); the notifier ends with it.
    notify: Option<std::sync::mpsc::Sender<String>>,
    /// Cleared when this process's live updates end, so the listener stops too.
    listening: Arc<AtomicBool>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.listening.store(false, Ordering::Relaxed);
    }
}

impl Default for Live {
    fn default() -> Self {
        use rand::distributions::{Alphanumeric, DistString};
        Live {
            tx: broadcast::channel(256).0,
            process: Alphanumeric.sample_string(&mut rand::thread_rng(), 12),
            notify: None,
            listening: Arc::new(AtomicBool::new(true)),
        }
    }
}

const CHANGED: &[u8] = b"event: changed\ndata: changed\n\n";

impl Live {
    /// Live updates shared with the other Wharf processes of a PostgreSQL database.
    pub fn across_processes(database_url: &str) -> Live {
        let mut live = Live::default();
        let (notify_tx, notify_rx) = std::sync::mpsc::channel::<String>();
        live.notify = Some(notify_tx);
        let url = database_url.to_string();
        std::thread::spawn(move || notifier(&url, notify_rx));
        let (url, tx, me) = (database_url.to_string(), live.tx.clone(), live.process.clone());
        let listening = live.listening.clone();
        std::thread::spawn(move || listener(&url, &tx, &me, &listening));
        live
    }

    /// Announces that a sheet's records changed (no-op when nobody listens). `origin` is the
    /// writing grid's client id (header `X-Wharf-Client`), when the write came from a grid.
    pub fn publish(&self, sheet: &SheetId, origin: Option<&str>) {
        let change = Change {
            sheet: sheet.clone(),
            origin: origin.map(String::from),
            process: self.process.clone(),
        };
        if let Some(notify) = &self.notify {
            if let Ok(payload) = serde_json::to_string(&change) {
                let _ = notify.send(payload);
            }
        }
        let _ = self.tx.send(change);
    }

    /// Announces other sheets a write changed along the way (references re-checked).
    pub fn publish_each(&self, sheets: &[SheetId]) {
        for sheet in sheets {
            self.publish(sheet, None);
        }
    }

    /// An SSE stream of `changed` events for one sheet, skipping the grid `client`'s own
    /// writes, with a keep-alive comment every [`KEEP_ALIVE`] whatever other sheets do.
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
                let deadline = tokio::time::Instant::now() + KEEP_ALIVE;
                loop {
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
                        _ = tokio::time::sleep_until(deadline) => {
                            return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, sheet, client, false)));
                        }
                    }
                }
            },
        )
    }
}

/// Sends this process's changes to the others, reconnecting after a failure.
fn notifier(url: &str, changes: std::sync::mpsc::Receiver<String>) {
    use diesel::prelude::*;
    let mut conn: Option<PgConnection> = None;
    while let Ok(payload) = changes.recv() {
        for _attempt in 0..2 {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match PgConnection::establish(url) {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "live updates: cannot reach PostgreSQL to notify");
                        break;
                    }
                },
            };
            let sent = diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Text, _>(&payload)
                .execute(c);
            match sent {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: notify failed; reconnecting");
                    conn = None;
                }
            }
        }
    }
}

/// Hears the other processes' changes and hands them to this process's open grids.
fn listener(url: &str, tx: &broadcast::Sender<Change>, me: &str, listening: &AtomicBool) {
    use diesel::prelude::*;
    while listening.load(Ordering::Relaxed) {
        let connected = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                diesel::sql_query(format!("LISTEN {CHANNEL}"))
                    .execute(&mut c)
                    .map(|_| c)
                    .map_err(|e| e.to_string())
            });
        let mut conn = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "live updates: cannot listen on PostgreSQL; retrying");
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        'poll: while listening.load(Ordering::Relaxed) {
            for note in conn.notifications_iter() {
                match note {
                    Ok(n) => {
                        if let Ok(change) = serde_json::from_str::<Change>(&n.payload) {
                            if change.process != me {
                                let _ = tx.send(change);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live updates: listening connection lost; reconnecting");
                        break 'poll;
                    }
                }
            }
            std::thread::sleep(LISTEN_POLL);
        }
    }
}
