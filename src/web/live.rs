//! Live updates: a write to a sheet is announced to every open grid of that sheet over
//! server-sent events, so people editing together see each other's changes; a job's
//! progress is announced to the pages that show it. A grid is not told about its own
//! writes (it already shows them), so its focus and editor stay put.
//!
//! Grids also see who else has their sheet open (see `presence`), through any process.
//!
//! Inside one process broadcast channels fan changes out. On PostgreSQL, where several
//! Wharf processes may share one database, each change is also sent with `NOTIFY` and
//! every process `LISTEN`s, so a page open on one process sees changes made through another.

use super::presence::Present;
use crate::ids::{JobId, SheetId, SpaceId};
use actix_web::web::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL channel changes travel on between processes.
const CHANNEL: &str = "wharf_live";
/// How often an open stream proves it is alive; a browser that has gone is found out at
/// the next one, and its stream ends (and its person leaves the sheet's presence).
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How often the listener looks for notifications from other processes.
const LISTEN_POLL: Duration = Duration::from_millis(50);
/// How often a process tells the others who is on its sheets, and how long the others
/// believe it without hearing again (a process that stopped falls silent).
const PRESENCE_BEAT: Duration = Duration::from_secs(5);
const PRESENCE_TTL: Duration = Duration::from_secs(20);

const CHANGED: &[u8] = b"event: changed\ndata: changed\n\n";

/// A change to a sheet, and the grid (page) that made it, if any; or someone opening or
/// leaving it (`presence`; other processes hear of that as a `PresenceNote`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Change {
    sheet: SheetId,
    origin: Option<String>,
    #[serde(default)]
    presence: bool,
}

impl Change {
    /// Someone opened or left `sheet`.
    fn presence(sheet: SheetId) -> Change {
        Change {
            sheet,
            origin: None,
            presence: true,
        }
    }
}

/// A change to a job's status or progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobChange {
    job: JobId,
    space: Option<SpaceId>,
}

/// Who is on a sheet through the process that sends it (everyone there, not a change).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PresenceNote {
    sheet: SheetId,
    names: Vec<String>,
}

/// What travels between processes, with the process that sent it (so it does not hear
/// its own notification).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Note {
    process: String,
    sheet: Option<Change>,
    job: Option<JobChange>,
    #[serde(default)]
    presence: Option<PresenceNote>,
}

/// Hands a note to the notifier thread, which sends it to the other processes.
fn send_note(notify: &std::sync::mpsc::Sender<String>, note: &Note) {
    if let Ok(payload) = serde_json::to_string(note) {
        let _ = notify.send(payload);
    }
}

/// Tells this process's grids, and the other processes, who is on a sheet now.
#[derive(Clone)]
struct Announcer {
    sheets: broadcast::Sender<Change>,
    present: Present,
    process: String,
    notify: Option<std::sync::mpsc::Sender<String>>,
}

impl Announcer {
    fn announce(&self, sheet: &SheetId) {
        let _ = self.sheets.send(Change::presence(sheet.clone()));
        self.tell_others(sheet);
    }

    fn tell_others(&self, sheet: &SheetId) {
        let Some(notify) = &self.notify else { return };
        let presence = PresenceNote {
            sheet: sheet.clone(),
            names: self.present.local_names(sheet),
        };
        send_note(
            notify,
            &Note {
                process: self.process.clone(),
                presence: Some(presence),
                ..Default::default()
            },
        );
    }
}

pub struct Live {
    sheets: broadcast::Sender<Change>,
    jobs: broadcast::Sender<JobChange>,
    present: Present,
    process: String,
    /// Notes to send to other processes (PostgreSQL only); the notifier ends with it.
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
            sheets: broadcast::channel(256).0,
            jobs: broadcast::channel(256).0,
            present: Default::default(),
            process: Alphanumeric.sample_string(&mut rand::thread_rng(), 12),
            notify: None,
            listening: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Live {
    /// Live updates shared with the other Wharf processes of a PostgreSQL database.
    pub fn across_processes(database_url: &str) -> Live {
        let mut live = Live::default();
        let (notify_tx, notify_rx) = std::sync::mpsc::channel::<String>();
        live.notify = Some(notify_tx);
        let url = database_url.to_string();
        std::thread::spawn(move || notifier(&url, notify_rx));
        let beat = live.announcer();
        let listening = live.listening.clone();
        std::thread::spawn(move || presence_beat(&beat, &listening));
        let heard = Heard {
            sheets: live.sheets.clone(),
            jobs: live.jobs.clone(),
            present: live.present.clone(),
            me: live.process.clone(),
            listening: live.listening.clone(),
        };
        let url = database_url.to_string();
        std::thread::spawn(move || listener(&url, &heard));
        live
    }

    fn tell_others(&self, sheet: Option<Change>, job: Option<JobChange>) {
        let Some(notify) = &self.notify else { return };
        let note = Note {
            process: self.process.clone(),
            sheet,
            job,
            presence: None,
        };
        send_note(notify, &note);
    }

    fn announcer(&self) -> Announcer {
        Announcer {
            sheets: self.sheets.clone(),
            present: self.present.clone(),
            process: self.process.clone(),
            notify: self.notify.clone(),
        }
    }

    /// Announces that a sheet's records changed (no-op when nobody listens). `origin` is the
    /// writing grid's client id (header `X-Wharf-Client`), when the write came from a grid.
    pub fn publish(&self, sheet: &SheetId, origin: Option<&str>) {
        let change = Change {
            sheet: sheet.clone(),
            origin: origin.map(String::from),
            presence: false,
        };
        self.tell_others(Some(change.clone()), None);
        let _ = self.sheets.send(change);
    }

    /// Announces other sheets a write changed along the way (references re-checked).
    pub fn publish_each(&self, sheets: &[SheetId]) {
        for sheet in sheets {
            self.publish(sheet, None);
        }
    }

    /// Announces that a job's status or progress changed.
    pub fn publish_job(&self, job: &JobId, space: Option<&SpaceId>) {
        let change = JobChange {
            job: job.clone(),
            space: space.cloned(),
        };
        self.tell_others(None, Some(change.clone()));
        let _ = self.jobs.send(change);
    }

    /// Names on a sheet now (for tests and the first paint).
    pub fn present(&self, sheet: &SheetId) -> Vec<String> {
        self.present.names(sheet)
    }

    /// An SSE stream for one sheet and the person `name`: `changed` events, skipping the
    /// grid `client`'s own writes, and `presence` events when someone opens or leaves the
    /// sheet.
    pub fn stream(
        &self,
        sheet: SheetId,
        client: Option<String>,
        name: String,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let rx = self.sheets.subscribe();
        let announcer = self.announcer();
        let here = self
            .present
            .arrive(&sheet, &name, Box::new(move |s: &SheetId| announcer.announce(s)));
        self.announcer().announce(&sheet);
        let present = self.present.clone();
        let mut hello = b": connected\n\n".to_vec();
        hello.extend_from_slice(&present.event(&sheet, &name));
        let opening = Bytes::from(hello);
        futures_util::stream::unfold((rx, here, Some(opening)), move |(mut rx, here, opening)| {
            let (sheet, client, name, present) =
                (sheet.clone(), client.clone(), name.clone(), present.clone());
            async move {
                if let Some(first) = opening {
                    return Some((Ok(first), (rx, here, None)));
                }
                let deadline = tokio::time::Instant::now() + KEEP_ALIVE;
                loop {
                    tokio::select! {
                        got = rx.recv() => match got {
                            Ok(c) if c.sheet == sheet && c.presence => {
                                return Some((Ok(present.event(&sheet, &name)), (rx, here, None)));
                            }
                            Ok(c) if c.sheet == sheet && (c.origin.is_none() || c.origin != client) => {
                                return Some((Ok(Bytes::from_static(CHANGED)), (rx, here, None)));
                            }
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                return Some((Ok(Bytes::from_static(CHANGED)), (rx, here, None)));
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                        _ = tokio::time::sleep_until(deadline) => {
                            return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, here, None)));
                        }
                    }
                }
            }
        })
    }

    /// An SSE stream of `changed` events for the jobs `wanted` picks (by job and space).
    /// It opens with one, since a page may have been rendered before a change it missed.
    pub fn job_stream(
        &self,
        wanted: impl Fn(&JobId, Option<&SpaceId>) -> bool + 'static,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        events(self.jobs.subscribe(), CHANGED, move |c: &JobChange| {
            wanted(&c.job, c.space.as_ref())
        })
    }
}

/// `first`, then `changed` for each message `wanted` picks (and after a lag, which may
/// have dropped one), with a keep-alive comment every [`KEEP_ALIVE`] whatever else the
/// channel carries.
fn events<T: Clone + Send + 'static>(
    rx: broadcast::Receiver<T>,
    first: &'static [u8],
    wanted: impl Fn(&T) -> bool + 'static,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold((rx, wanted, true), move |(mut rx, wanted, opening)| async move {
        if opening {
            return Some((Ok(Bytes::from_static(first)), (rx, wanted, false)));
        }
        let deadline = tokio::time::Instant::now() + KEEP_ALIVE;
        loop {
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(m) if wanted(&m) => return Some((Ok(Bytes::from_static(CHANGED)), (rx, wanted, false))),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(Bytes::from_static(CHANGED)), (rx, wanted, false)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, wanted, false)));
                }
            }
        }
    })
}

/// Sends this process's notes to the others, reconnecting after a failure.
fn notifier(url: &str, notes: std::sync::mpsc::Receiver<String>) {
    use diesel::prelude::*;
    let mut conn: Option<PgConnection> = None;
    while let Ok(payload) = notes.recv() {
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

/// Every [`PRESENCE_BEAT`], tells the other processes who is on this one's sheets, and
/// forgets what processes silent for [`PRESENCE_TTL`] said.
fn presence_beat(beat: &Announcer, listening: &AtomicBool) {
    while listening.load(Ordering::Relaxed) {
        std::thread::sleep(PRESENCE_BEAT);
        for sheet in beat.present.local_sheets() {
            beat.tell_others(&sheet);
        }
        for sheet in beat.present.expire_remote(PRESENCE_TTL) {
            let _ = beat.sheets.send(Change::presence(sheet));
        }
    }
}

/// Where the other processes' notes go in this one.
struct Heard {
    sheets: broadcast::Sender<Change>,
    jobs: broadcast::Sender<JobChange>,
    present: Present,
    me: String,
    listening: Arc<AtomicBool>,
}

/// Hears the other processes' notes and hands them to this process's open pages.
fn listener(url: &str, heard: &Heard) {
    use diesel::prelude::*;
    while heard.listening.load(Ordering::Relaxed) {
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
        'poll: while heard.listening.load(Ordering::Relaxed) {
            for got in conn.notifications_iter() {
                match got {
                    Ok(n) => match serde_json::from_str::<Note>(&n.payload) {
                        Ok(note) if note.process != heard.me => {
                            if let Some(c) = note.sheet {
                                let _ = heard.sheets.send(c);
                            }
                            if let Some(j) = note.job {
                                let _ = heard.jobs.send(j);
                            }
                            if let Some(p) = note.presence {
                                if heard.present.set_remote(&p.sheet, &note.process, p.names) {
                                    let _ = heard.sheets.send(Change::presence(p.sheet));
                                }
                            }
                        }
                        _ => {}
                    },
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
