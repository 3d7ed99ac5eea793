//! Live updates: a write to a sheet is announced to every open grid of that sheet over
//! server-sent events, so people editing together see each other's changes. A grid is not
//! told about its own writes (it already shows them), so its focus and editor stay put.
//!
//! Presence: each open stream counts as one person on the sheet; when someone opens or
//! leaves it, every grid of the sheet gets a `presence` event with the others' names.

use crate::ids::SheetId;
use actix_web::web::Bytes;
use askama::Template;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Records,
    Presence,
}

/// A change to a sheet, and the grid (page) that made it, if any.
#[derive(Debug, Clone)]
struct Change {
    sheet: SheetId,
    origin: Option<String>,
    kind: Kind,
}

/// Who has each sheet open: stream number -> name.
type Present = Arc<Mutex<HashMap<SheetId, HashMap<u64, String>>>>;

pub struct Live {
    tx: broadcast::Sender<Change>,
    present: Present,
    next: AtomicU64,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(256).0,
            present: Default::default(),
            next: AtomicU64::new(1),
        }
    }
}

const CHANGED: &[u8] = b"event: changed\ndata: changed\n\n";

/// A comment is sent this often on an idle stream: it keeps proxies from closing it, and
/// a write to a closed page is how the server notices that someone left (presence).
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Template)]
#[template(path = "grid/_presence.html")]
struct PresencePartial {
    names: Vec<String>,
}

/// Takes a stream's person off the sheet when the stream ends (the page closed).
struct Leave {
    present: Present,
    tx: broadcast::Sender<Change>,
    sheet: SheetId,
    key: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut map = self.present.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(on_sheet) = map.get_mut(&self.sheet) {
            on_sheet.remove(&self.key);
            if on_sheet.is_empty() {
                map.remove(&self.sheet);
            }
        }
        drop(map);
        let _ = self.tx.send(Change {
            sheet: self.sheet.clone(),
            origin: None,
            kind: Kind::Presence,
        });
    }
}

/// The `presence` event for one stream: everyone else on the sheet, each name once.
fn presence_event(present: &Present, sheet: &SheetId, me: &str) -> Bytes {
    let mut names: Vec<String> = {
        let map = present.lock().unwrap_or_else(|p| p.into_inner());
        map.get(sheet)
            .map(|m| m.values().filter(|n| n.as_str() != me).cloned().collect())
            .unwrap_or_default()
    };
    names.sort();
    names.dedup();
    let html = PresencePartial { names }.render().unwrap_or_default();
    let one_line = html.replace(['\r', '\n'], " ");
    Bytes::from(format!("event: presence\ndata: {one_line}\n\n"))
}

impl Live {
    /// Announces that a sheet's records changed (no-op when nobody listens). `origin` is the
    /// writing grid's client id (header `X-Wharf-Client`), when the write came from a grid.
    pub fn publish(&self, sheet: &SheetId, origin: Option<&str>) {
        let _ = self.tx.send(Change {
            sheet: sheet.clone(),
            origin: origin.map(String::from),
            kind: Kind::Records,
        });
    }

    /// Announces other sheets a write changed along the way (references re-checked).
    pub fn publish_each(&self, sheets: &[SheetId]) {
        for sheet in sheets {
            self.publish(sheet, None);
        }
    }

    /// Names on a sheet now (for tests and the first paint).
    pub fn present(&self, sheet: &SheetId) -> Vec<String> {
        let map = self.present.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = map
            .get(sheet)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// An SSE stream for one sheet and the person `name`: `changed` events, skipping the
    /// grid `client`'s own writes; `presence` events when someone opens or leaves the
    /// sheet; a keep-alive comment every 5 s.
    pub fn stream(
        &self,
        sheet: SheetId,
        client: Option<String>,
        name: String,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let rx = self.tx.subscribe();
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.present
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(sheet.clone())
            .or_default()
            .insert(key, name.clone());
        let _ = self.tx.send(Change {
            sheet: sheet.clone(),
            origin: None,
            kind: Kind::Presence,
        });
        let leave = Leave {
            present: self.present.clone(),
            tx: self.tx.clone(),
            sheet: sheet.clone(),
            key,
        };
        futures_util::stream::unfold(
            (rx, sheet, client, name, leave, true),
            |(mut rx, sheet, client, name, leave, first)| async move {
                if first {
                    let mut hello = b": connected\n\n".to_vec();
                    hello.extend_from_slice(&presence_event(&leave.present, &sheet, &name));
                    return Some((Ok(Bytes::from(hello)), (rx, sheet, client, name, leave, false)));
                }
                loop {
                    let tick = tokio::time::sleep(KEEP_ALIVE);
                    tokio::select! {
                        got = rx.recv() => match got {
                            Ok(c) if c.sheet == sheet && c.kind == Kind::Presence => {
                                let event = presence_event(&leave.present, &sheet, &name);
                                return Some((Ok(event), (rx, sheet, client, name, leave, false)));
                            }
                            Ok(c) if c.sheet == sheet && (c.origin.is_none() || c.origin != client) => {
                                return Some((Ok(Bytes::from_static(CHANGED)), (rx, sheet, client, name, leave, false)));
                            }
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                return Some((Ok(Bytes::from_static(CHANGED)), (rx, sheet, client, name, leave, false)));
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                        _ = tick => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, sheet, client, name, leave, false))),
                    }
                }
            },
        )
    }
}
