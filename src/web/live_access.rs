//! Who holds each open live stream, so a stream ends with its access: when its session
//! ends (sign-out, a removed person or guest) or its guest loses the space, the stream is
//! closed and its person leaves the sheet's presence. Changes of access are announced
//! (`Live::access_changed`, which crosses processes) and checked at once; every
//! [`RECHECK`] all open streams are checked anyway against the database, as a safety net
//! for changes nobody announced. Also caps the streams one session and one sheet may hold.

use super::presence::Person;
use crate::auth::Viewer;
use crate::db::Pool;
use crate::ids::{SheetId, SpaceId};
use actix_web::HttpResponse;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How often every open stream's access is checked again, announced or not.
pub const RECHECK: Duration = Duration::from_secs(5);

/// Streams one browser session may hold at once. A person with more tabs than this gets
/// 429 in the newest (rather than the oldest tab losing its updates): htmx's SSE
/// extension then retries with backoff, so the new tab connects by itself as soon as
/// another tab closes, and no two tabs take turns pushing each other out. Browsers allow
/// 6 connections per host over HTTP/1.1 and a stream holds one for good: with 6 streams
/// open, no other page of Wharf loads in that browser (seen with 6 grid tabs), so one is
/// always left for pages and saves. Pages hidden behind other tabs let their streams go
/// (`static/live_streams.js`), so this is reached only with several windows in view.
pub const PER_SESSION: usize = 5;
/// Streams one sheet may have in this process; more are answered 503 with Retry-After.
pub const PER_SHEET: usize = 500;

/// The session behind a stream: its token hash, for a team member or a guest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    Member(String),
    Guest(String),
}

/// Who opens a stream, and the space it shows (`None`: a job of no space).
#[derive(Debug, Clone)]
pub struct Opener {
    pub holder: Holder,
    pub person: Person,
    pub space: Option<SpaceId>,
}

impl Opener {
    pub fn of(viewer: &Viewer, space: Option<SpaceId>) -> Opener {
        let holder = match viewer {
            Viewer::User(u) => Holder::Member(u.session.token_hash.clone()),
            Viewer::Guest(g) => Holder::Guest(g.session.token_hash.clone()),
        };
        Opener {
            holder,
            person: Person {
                key: viewer.actor(),
                name: viewer.display_name(),
            },
            space,
        }
    }
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Session,
    Sheet,
}

impl Refusal {
    /// The answer a browser gets: 429 for its own many tabs, 503 for a crowded sheet.
    pub fn response(&self) -> HttpResponse {
        let (mut builder, retry, message) = match self {
            Refusal::Session => (
                HttpResponse::TooManyRequests(),
                5,
                format!(
                    "this browser already has {PER_SESSION} live pages open (grids, Files tabs, jobs); \
                     close one and this page connects by itself"
                ),
            ),
            Refusal::Sheet => (
                HttpResponse::ServiceUnavailable(),
                30,
                format!(
                    "this sheet already has {PER_SHEET} live pages open; this page connects again shortly"
                ),
            ),
        };
        builder
            .insert_header((actix_web::http::header::RETRY_AFTER, retry.to_string()))
            .json(json!({"errors": [{"key": "too_many_streams", "message": message}]}))
    }
}

struct Entry {
    holder: Holder,
    space: Option<SpaceId>,
    sheet: Option<SheetId>,
    end: oneshot::Sender<()>,
    poke: Arc<tokio::sync::Notify>,
}

/// The open streams of this process.
#[derive(Clone, Default)]
pub struct Streams {
    open: Arc<Mutex<HashMap<u64, Entry>>>,
    next: Arc<AtomicU64>,
}

/// An open stream's place; it ends when `ended` fires (access gone). Dropping it (the
/// stream ended) frees the place.
pub struct Admission {
    streams: Streams,
    id: u64,
    pub ended: oneshot::Receiver<()>,
    /// Asks the stream to send a keep-alive now (see [`Streams::poke_session`]).
    pub poke: Arc<tokio::sync::Notify>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.streams.lock().remove(&self.id);
    }
}

impl Streams {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a stream of `opener` (on `sheet`, for a grid), unless a cap is reached.
    pub fn admit(&self, opener: &Opener, sheet: Option<&SheetId>) -> Result<Admission, Refusal> {
        let mut open = self.lock();
        if open.values().filter(|e| e.holder == opener.holder).count() >= PER_SESSION {
            return Err(Refusal::Session);
        }
        if sheet.is_some() && open.values().filter(|e| e.sheet.as_ref() == sheet).count() >= PER_SHEET {
            return Err(Refusal::Sheet);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (end, ended) = oneshot::channel();
        let poke = Arc::new(tokio::sync::Notify::new());
        open.insert(
            id,
            Entry {
                holder: opener.holder.clone(),
                space: opener.space.clone(),
                sheet: sheet.cloned(),
                end,
                poke: poke.clone(),
            },
        );
        Ok(Admission {
            streams: self.clone(),
            id,
            ended,
            poke,
        })
    }

    /// Has every stream of `holder` send a keep-alive now: a page left moments ago is seen
    /// gone by the write, which a quiet stream otherwise waits for until its next one.
    pub fn poke_session(&self, holder: &Holder) {
        for e in self.lock().values().filter(|e| &e.holder == holder) {
            e.poke.notify_one();
        }
    }

    /// Ends every stream whose access no longer holds, by one look at the database.
    pub fn check(&self, pool: &Pool) {
        let (mut members, mut guests, mut spaces) = (HashSet::new(), HashSet::new(), HashSet::new());
        // Only streams open now are judged: one opened during the look was not asked about.
        let mut asked = HashSet::new();
        for (id, e) in self.lock().iter() {
            asked.insert(*id);
            match &e.holder {
                Holder::Member(h) => members.insert(h.clone()),
                Holder::Guest(h) => guests.insert(h.clone()),
            };
            spaces.extend(e.space.clone());
        }
        if members.is_empty() && guests.is_empty() {
            return;
        }
        let (members, guests, spaces): (Vec<_>, Vec<_>, Vec<_>) = (
            members.into_iter().collect(),
            guests.into_iter().collect(),
            spaces.into_iter().collect(),
        );
        let looked = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
            crate::model::stream_access::still(&mut c, &members, &guests, &spaces).map_err(|e| e.to_string())
        });
        // A database that cannot answer now ends nobody's stream; the next check asks again.
        let still = match looked {
            Ok(s) => s,
            Err(e) => return tracing::warn!(error = %e, "live updates: cannot check streams' access"),
        };
        let allowed = |e: &Entry| {
            let space_ok = e.space.as_ref().is_none_or(|s| still.spaces.contains(s));
            match &e.holder {
                Holder::Member(h) => still.member_sessions.contains(h) && space_ok,
                Holder::Guest(h) => match (still.guest_sessions.get(h), &e.space) {
                    (Some(g), Some(s)) => still.guest_spaces.contains(&(g.clone(), s.clone())) && space_ok,
                    _ => false,
                },
            }
        };
        let mut open = self.lock();
        let gone: Vec<u64> = open
            .iter()
            .filter(|(id, e)| asked.contains(*id) && !allowed(e))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(e) = open.remove(&id) {
                let _ = e.end.send(());
            }
        }
    }
}

/// Checks the streams' access every [`RECHECK`], and at once when woken (an access
/// changed here or in another process). Stops when every waker is gone (`Live` dropped).
pub fn watch(streams: Streams, pool: Pool, wake: mpsc::Receiver<()>) {
    std::thread::spawn(move || loop {
        match wake.recv_timeout(RECHECK) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {
                while wake.try_recv().is_ok() {}
                streams.check(&pool);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opener(session: &str) -> Opener {
        Opener {
            holder: Holder::Guest(session.into()),
            person: Person {
                key: session.into(),
                name: session.into(),
            },
            space: None,
        }
    }

    #[test]
    fn one_session_holds_at_most_its_share_and_gets_a_place_back() {
        let streams = Streams::default();
        let mut held: Vec<Admission> = (0..PER_SESSION)
            .map(|_| streams.admit(&opener("a"), None).unwrap())
            .collect();
        assert_eq!(streams.admit(&opener("a"), None).err(), Some(Refusal::Session));
        assert!(
            streams.admit(&opener("b"), None).is_ok(),
            "another session is not held back"
        );
        held.pop();
        assert!(
            streams.admit(&opener("a"), None).is_ok(),
            "a closed tab frees its place"
        );
    }

    #[test]
    fn a_sheet_holds_at_most_its_share() {
        let streams = Streams::default();
        let sheet = SheetId("us_sh_1".into());
        let other = SheetId("us_sh_2".into());
        let _held: Vec<Admission> = (0..PER_SHEET)
            .map(|i| streams.admit(&opener(&format!("s{i}")), Some(&sheet)).unwrap())
            .collect();
        let refused = streams.admit(&opener("late"), Some(&sheet)).err();
        assert_eq!(refused, Some(Refusal::Sheet));
        assert_eq!(Refusal::Sheet.response().status(), 503);
        assert!(Refusal::Sheet.response().headers().contains_key("retry-after"));
        assert!(streams.admit(&opener("late"), Some(&other)).is_ok());
    }
}
