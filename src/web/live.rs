//! Live updates: a write to a sheet is announced to every open grid of that sheet over
//! server-sent events, so people editing together see each other's changes; a job's
//! progress is announced to the pages that show it. A grid is not told about its own
//! writes (it already shows them), so its focus and editor stay put.
//!
//! Grids also see who else has their sheet open (see `presence`), through any process.
//! A stream lasts only as long as its access (see `live_access`): signing out, removing a
//! person or a guest's space ends it, and its person leaves the sheet's presence.
//!
//! Inside one process broadcast channels fan changes out. On PostgreSQL, where several
//! Wharf processes may share one database, each change is also sent to the others (see
//! `live_notes`), so a page open on one process sees changes made through another.

use super::live_access::{self, Admission, Opener, Refusal, Streams};
use super::live_notes::{self, Heard, Outbox, SheetNote};
use super::presence::{self, People, Present};
use crate::db::Pool;
use crate::ids::{JobId, SheetId, SpaceId};
use actix_web::web::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// How often an open stream proves it is alive; a browser that has gone is found out at
/// the next one, and its stream ends (and its person leaves the sheet's presence).
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How often a process tells the others who is on its sheets, and how long the others
/// believe it without hearing again (a process that stopped falls silent).
const PRESENCE_BEAT: Duration = Duration::from_secs(5);
const PRESENCE_TTL: Duration = Duration::from_secs(20);

const CHANGED: &[u8] = b"event: changed\ndata: changed\n\n";
const KEPT_ALIVE: &[u8] = b": keep-alive\n\n";

/// What this process's grids hear: a sheet's records changed (and the grid that changed
/// them, if any), or who is on a sheet changed (everyone there now).
#[derive(Debug, Clone)]
pub enum SheetEvent {
    Records { sheet: SheetId, origin: Option<String> },
    Presence { sheet: SheetId, people: People },
}

/// When each sheet's records last changed, in milliseconds since the epoch, as this
/// process heard it: a grid whose stream opens after a change its page did not show is
/// told at once (the change fell between the page's read and the stream's start).
#[derive(Clone, Default)]
pub struct LastChanges(Arc<Mutex<std::collections::HashMap<SheetId, u64>>>);

impl LastChanges {
    pub fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    pub fn note(&self, sheet: &SheetId) {
        let now = Self::now_ms();
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Only the last minute matters (a page opens its stream within seconds).
        if all.len() > 10_000 {
            all.retain(|_, at| now.saturating_sub(*at) < 60_000);
        }
        all.insert(sheet.clone(), now);
    }

    fn since(&self, sheet: &SheetId, since: u64) -> bool {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.get(sheet).is_some_and(|at| *at >= since)
    }
}

/// A change to a job's status or progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobChange {
    job: JobId,
    space: Option<SpaceId>,
}

/// Tells this process's grids, and the other processes, who is on a sheet now.
#[derive(Clone)]
struct Announcer {
    sheets: broadcast::Sender<SheetEvent>,
    present: Present,
    notes: Option<Outbox>,
}

impl Announcer {
    fn announce(&self, sheet: &SheetId) {
        let people = self.present.people(sheet);
        let _ = self.sheets.send(SheetEvent::Presence {
            sheet: sheet.clone(),
            people,
        });
        self.tell_others(sheet);
    }

    fn tell_others(&self, sheet: &SheetId) {
        if let Some(notes) = &self.notes {
            notes.presence(sheet, &self.present.local_people(sheet));
        }
    }
}

pub struct Live {
    sheets: broadcast::Sender<SheetEvent>,
    jobs: broadcast::Sender<JobChange>,
    present: Present,
    streams: Streams,
    last_changes: LastChanges,
    process: String,
    /// Notes to the other processes (PostgreSQL only); the notifier ends with it.
    notes: Option<Outbox>,
    /// Wakes the check of the open streams' access; `watch` takes the receiving end.
    wake: mpsc::Sender<()>,
    woken: Mutex<Option<mpsc::Receiver<()>>>,
    /// The database the access is checked against (from `watch`).
    pool: std::sync::OnceLock<Pool>,
    /// Cleared when this process's live updates end, so its threads stop too.
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
        let (wake, woken) = mpsc::channel();
        Live {
            sheets: broadcast::channel(256).0,
            jobs: broadcast::channel(256).0,
            present: Default::default(),
            streams: Default::default(),
            last_changes: Default::default(),
            process: Alphanumeric.sample_string(&mut rand::thread_rng(), 12),
            notes: None,
            wake,
            woken: Mutex::new(Some(woken)),
            pool: Default::default(),
            listening: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Live {
    /// Live updates shared with the other Wharf processes of a PostgreSQL database.
    pub fn across_processes(database_url: &str) -> Live {
        let mut live = Live::default();
        live.notes = Some(live_notes::start_notifier(database_url, &live.process));
        let beat = live.announcer();
        let listening = live.listening.clone();
        std::thread::spawn(move || presence_beat(&beat, &listening));
        live_notes::start_listener(
            database_url,
            Heard {
                sheets: live.sheets.clone(),
                jobs: live.jobs.clone(),
                present: live.present.clone(),
                last_changes: live.last_changes.clone(),
                me: live.process.clone(),
                listening: live.listening.clone(),
                wake: live.wake.clone(),
            },
        );
        live
    }

    /// Starts checking open streams' access against the database (once; later calls do
    /// nothing).
    pub fn watch(&self, pool: Pool) {
        if let Some(woken) = self.woken.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = self.pool.set(pool.clone());
            live_access::watch(self.streams.clone(), pool, woken);
        }
    }

    /// Someone's access may have ended (signed out, removed, a space taken away): this
    /// process's streams that lost it have ended when this returns (so they hear nothing
    /// written after it), and the other processes are told to check theirs.
    pub async fn access_changed(&self) {
        if let Some(notes) = &self.notes {
            notes.access_changed();
        }
        let Some(pool) = self.pool.get().cloned() else {
            let _ = self.wake.send(());
            return;
        };
        let streams = self.streams.clone();
        if actix_web::web::block(move || streams.check(&pool)).await.is_err() {
            let _ = self.wake.send(());
        }
    }

    fn announcer(&self) -> Announcer {
        Announcer {
            sheets: self.sheets.clone(),
            present: self.present.clone(),
            notes: self.notes.clone(),
        }
    }

    /// Announces that a sheet's records changed (no-op when nobody listens). `origin` is the
    /// writing grid's client id (header `X-Wharf-Client`), when the write came from a grid.
    pub fn publish(&self, sheet: &SheetId, origin: Option<&str>) {
        // A grid's id is short; a longer one would only make the note too large to send.
        let origin = origin.filter(|o| o.len() <= 64);
        if let Some(notes) = &self.notes {
            notes.sheet(SheetNote {
                sheet: sheet.clone(),
                origin: origin.map(String::from),
            });
        }
        self.last_changes.note(sheet);
        let _ = self.sheets.send(SheetEvent::Records {
            sheet: sheet.clone(),
            origin: origin.map(String::from),
        });
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
        if let Some(notes) = &self.notes {
            notes.job(change.clone());
        }
        let _ = self.jobs.send(change);
    }

    /// Names on a sheet now (for tests and the first paint).
    pub fn present(&self, sheet: &SheetId) -> Vec<String> {
        self.present
            .people(sheet)
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    /// A place for a stream of `opener` (on `sheet`, for a grid), unless a cap is reached.
    /// At the session's cap, its streams are first made to write, so those of pages left
    /// moments ago end and free their places (clicking through six live pages in one tab
    /// had the sixth refused for pages already left: probe 64c D1).
    pub async fn admit(&self, opener: &Opener, sheet: Option<&SheetId>) -> Result<Admission, Refusal> {
        let mut tries = 0;
        loop {
            match self.streams.admit(opener, sheet) {
                Err(Refusal::Session) if tries < 3 => {
                    tries += 1;
                    self.streams.poke_session(&opener.holder);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                admitted => return admitted,
            }
        }
    }

    /// An SSE stream for one sheet and the person who opened it: `changed` events,
    /// skipping the grid `client`'s own writes, and `presence` events when someone opens
    /// or leaves the sheet. It ends when `admission` says the access ended.
    /// `since`: when the page read what it shows (ms since the epoch); a change after it
    /// is announced as the stream opens.
    pub fn stream(
        &self,
        sheet: SheetId,
        (client, since): (Option<String>, Option<u64>),
        opener: &Opener,
        admission: Admission,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let rx = self.sheets.subscribe();
        let announcer = self.announcer();
        let (here, arrived) = self.present.arrive(
            &sheet,
            &opener.person,
            Box::new(move |s: &SheetId| announcer.announce(s)),
        );
        if arrived {
            self.announcer().announce(&sheet);
        }
        let me = opener.person.key.clone();
        let mut hello = b": connected\n\n".to_vec();
        hello.extend_from_slice(&presence::event(&self.present.people(&sheet), &me));
        if since.is_some_and(|since| self.last_changes.since(&sheet, since)) {
            hello.extend_from_slice(CHANGED);
        }
        let state = Tail {
            rx,
            admission,
            _here: Some(here),
            opening: Some(Bytes::from(hello)),
        };
        futures_util::stream::unfold(state, move |mut s| {
            let (sheet, client, me) = (sheet.clone(), client.clone(), me.clone());
            async move {
                if let Some(first) = s.opening.take() {
                    return Some((Ok(first), s));
                }
                let out = s
                    .next(|e| match e {
                        SheetEvent::Presence { sheet: on, people } if *on == sheet => {
                            Some(presence::event(people, &me))
                        }
                        SheetEvent::Records { sheet: on, origin }
                            if *on == sheet && (origin.is_none() || *origin != client) =>
                        {
                            Some(Bytes::from_static(CHANGED))
                        }
                        _ => None,
                    })
                    .await?;
                Some((Ok(out), s))
            }
        })
    }

    /// An SSE stream of `changed` events for the jobs `wanted` picks (by job and space).
    /// It opens with one, since a page may have been rendered before a change it missed,
    /// and ends when `admission` says the access ended.
    pub fn job_stream(
        &self,
        wanted: impl Fn(&JobId, Option<&SpaceId>) -> bool + 'static,
        admission: Admission,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let state = Tail {
            rx: self.jobs.subscribe(),
            admission,
            _here: None,
            opening: Some(Bytes::from_static(CHANGED)),
        };
        let wanted = Arc::new(wanted);
        futures_util::stream::unfold(state, move |mut s| {
            let wanted = wanted.clone();
            async move {
                if let Some(first) = s.opening.take() {
                    return Some((Ok(first), s));
                }
                let out = s
                    .next(|c: &JobChange| {
                        wanted(&c.job, c.space.as_ref()).then(|| Bytes::from_static(CHANGED))
                    })
                    .await?;
                Some((Ok(out), s))
            }
        })
    }
}

/// An open stream's state: what it listens to, its place (which ends it when its access
/// ends), its person on the sheet (grids), and its first message, until sent.
struct Tail<T> {
    rx: broadcast::Receiver<T>,
    admission: Admission,
    _here: Option<presence::Here>,
    opening: Option<Bytes>,
}

impl<T: Clone> Tail<T> {
    /// The next message to send: what `pick` makes of the channel's next message it wants,
    /// `changed` after a lag (which may have dropped one), a keep-alive comment every
    /// [`KEEP_ALIVE`] whatever else the channel carries; `None` (the stream ends) when the
    /// access ended or the channel closed.
    async fn next(&mut self, pick: impl Fn(&T) -> Option<Bytes>) -> Option<Bytes> {
        let deadline = tokio::time::Instant::now() + KEEP_ALIVE;
        loop {
            tokio::select! {
                // An ended access goes first: nothing more is sent once it ended.
                biased;
                _ = &mut self.admission.ended => return None,
                _ = self.admission.poke.notified() => return Some(Bytes::from_static(KEPT_ALIVE)),
                got = self.rx.recv() => match got {
                    Ok(m) => match pick(&m) {
                        Some(out) => return Some(out),
                        None => continue,
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => return Some(Bytes::from_static(CHANGED)),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep_until(deadline) => return Some(Bytes::from_static(KEPT_ALIVE)),
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
            let people = beat.present.people(&sheet);
            let _ = beat.sheets.send(SheetEvent::Presence { sheet, people });
        }
    }
}
