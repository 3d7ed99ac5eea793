//! Live updates between the Wharf processes of one PostgreSQL database: each change is
//! sent as a note with `NOTIFY` and every process `LISTEN`s. A note must stay under
//! PostgreSQL's 8,000-byte payload limit, so who is on a sheet is said in as many notes as
//! it takes (each person once, long names cut). A note the server refuses is dropped and
//! logged; only a lost connection is reconnected.

use super::live::{JobChange, SheetEvent};
use super::presence::{People, Person, Present};
use crate::ids::SheetId;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL channel notes travel on.
const CHANNEL: &str = "wharf_live";
/// The most a note may hold: PostgreSQL refuses payloads of 8,000 bytes or more.
pub const NOTE_LIMIT: usize = 7_900;
/// Names longer than this are cut in presence notes (they only label a person).
const NAME_CHARS: usize = 100;
/// How often the listener looks for notifications from other processes.
const LISTEN_POLL: Duration = Duration::from_millis(50);

/// A write to a sheet, and the grid (page) that made it, if any.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SheetNote {
    pub sheet: SheetId,
    pub origin: Option<String>,
}

/// Part `part` (of `parts`) of who is on a sheet through the process that sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PresenceNote {
    sheet: SheetId,
    part: u16,
    parts: u16,
    people: Vec<Person>,
}

/// What travels between processes, with the process that sent it (so it does not hear
/// its own notification).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Note {
    process: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sheet: Option<SheetNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job: Option<JobChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    presence: Option<PresenceNote>,
    /// Someone's access ended (signed out, removed): check the open streams now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    access: bool,
}

/// Hands this process's notes to the notifier thread, which sends them to the others.
#[derive(Clone)]
pub struct Outbox {
    process: String,
    tx: mpsc::Sender<String>,
}

impl Outbox {
    fn send(&self, note: Note) {
        if let Ok(payload) = serde_json::to_string(&Note {
            process: self.process.clone(),
            ..note
        }) {
            let _ = self.tx.send(payload);
        }
    }

    pub fn sheet(&self, change: SheetNote) {
        self.send(Note {
            sheet: Some(change),
            ..Default::default()
        });
    }

    pub fn job(&self, change: JobChange) {
        self.send(Note {
            job: Some(change),
            ..Default::default()
        });
    }

    pub fn access_changed(&self) {
        self.send(Note {
            access: true,
            ..Default::default()
        });
    }

    /// Who is on `sheet` through this process, in as many notes as it takes.
    pub fn presence(&self, sheet: &SheetId, people: &[Person]) {
        for payload in presence_notes(&self.process, sheet, people) {
            let _ = self.tx.send(payload);
        }
    }
}

/// Cuts a name to [`NAME_CHARS`] characters.
fn short(name: &str) -> String {
    match name.char_indices().nth(NAME_CHARS) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_string(),
    }
}

/// The notes that say who is on `sheet`: each under [`NOTE_LIMIT`] bytes, each person once.
fn presence_notes(process: &str, sheet: &SheetId, people: &[Person]) -> Vec<String> {
    let note = |part: usize, parts: usize, people: Vec<Person>| Note {
        process: process.to_string(),
        presence: Some(PresenceNote {
            sheet: sheet.clone(),
            part: u16::try_from(part).unwrap_or(u16::MAX),
            parts: u16::try_from(parts).unwrap_or(u16::MAX),
            people,
        }),
        ..Default::default()
    };
    // The largest an empty note can be (part numbers at their widest).
    let base = serde_json::to_string(&note(u16::MAX.into(), u16::MAX.into(), vec![]))
        .map(|s| s.len())
        .unwrap_or(NOTE_LIMIT);
    let mut parts: Vec<Vec<Person>> = vec![vec![]];
    let mut size = base;
    let mut seen = std::collections::HashSet::new();
    for p in people.iter().filter(|p| seen.insert(p.key.as_str())) {
        let p = Person {
            key: p.key.clone(),
            name: short(&p.name),
        };
        let len = serde_json::to_string(&p).map(|s| s.len()).unwrap_or(NOTE_LIMIT) + 1;
        let last = parts.last().map(Vec::len).unwrap_or_default();
        if size + len > NOTE_LIMIT && last > 0 {
            parts.push(vec![]);
            size = base;
        }
        size += len;
        if let Some(last) = parts.last_mut() {
            last.push(p);
        }
    }
    let n = parts.len().min(u16::MAX.into());
    parts
        .into_iter()
        .take(n)
        .enumerate()
        .filter_map(|(i, people)| serde_json::to_string(&note(i, n, people)).ok())
        .collect()
}

/// Starts the notifier (sending this process's notes); returns where notes go.
pub fn start_notifier(url: &str, process: &str) -> Outbox {
    let (tx, rx) = mpsc::channel::<String>();
    let url = url.to_string();
    std::thread::spawn(move || notifier(&url, rx));
    Outbox {
        process: process.to_string(),
        tx,
    }
}

/// Sends this process's notes to the others. A note the server refuses (the connection
/// still works) is dropped; a lost connection is made again and the note tried once more.
fn notifier(url: &str, notes: mpsc::Receiver<String>) {
    use diesel::prelude::*;
    use diesel::result::{DatabaseErrorKind, Error};
    let mut conn: Option<PgConnection> = None;
    while let Ok(payload) = notes.recv() {
        if payload.len() > NOTE_LIMIT {
            tracing::warn!(
                bytes = payload.len(),
                "live updates: a note too large to send was dropped"
            );
            continue;
        }
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
                Err(Error::DatabaseError(kind, info))
                    if !matches!(kind, DatabaseErrorKind::ClosedConnection) =>
                {
                    tracing::warn!(
                        error = info.message(),
                        "live updates: a note was refused and dropped"
                    );
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: notify failed; reconnecting");
                    conn = None;
                }
            }
        }
    }
}

/// Where the other processes' notes go in this one.
pub struct Heard {
    pub sheets: broadcast::Sender<SheetEvent>,
    pub jobs: broadcast::Sender<JobChange>,
    pub present: Present,
    pub last_changes: super::live::LastChanges,
    pub me: String,
    pub listening: Arc<AtomicBool>,
    /// Wakes the check of the open streams' access.
    pub wake: mpsc::Sender<()>,
}

impl Heard {
    fn take(&self, note: Note) {
        if let Some(c) = note.sheet {
            self.last_changes.note(&c.sheet);
            let _ = self.sheets.send(SheetEvent::Records {
                sheet: c.sheet,
                origin: c.origin,
            });
        }
        if let Some(j) = note.job {
            let _ = self.jobs.send(j);
        }
        if let Some(p) = note.presence {
            if self
                .present
                .set_remote(&p.sheet, &note.process, p.part, p.parts, p.people)
            {
                let people: People = self.present.people(&p.sheet);
                let _ = self.sheets.send(SheetEvent::Presence {
                    sheet: p.sheet,
                    people,
                });
            }
        }
        if note.access {
            let _ = self.wake.send(());
        }
    }
}

/// Starts the listener: hears the other processes' notes and hands them to this
/// process's open pages, until `heard.listening` is cleared.
pub fn start_listener(url: &str, heard: Heard) {
    let url = url.to_string();
    std::thread::spawn(move || listener(&url, &heard));
}

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
                        Ok(note) if note.process != heard.me => heard.take(note),
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "live updates: a note not understood"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_long_names_go_in_several_notes_each_under_the_limit_each_person_once() {
        let people: Vec<Person> = (0..150)
            .flat_map(|i| {
                let p = Person {
                    key: format!("us_g_{i:026}"),
                    name: format!("{i} {} \"quoted\" \u{1}", "Bartholomew-Maximilian ".repeat(8)),
                };
                [p.clone(), p]
            })
            .collect();
        let notes = presence_notes("process", &SheetId("us_sh_1".into()), &people);
        assert!(notes.len() > 1, "one note could not hold them");
        let mut keys = Vec::new();
        for (i, payload) in notes.iter().enumerate() {
            assert!(payload.len() <= NOTE_LIMIT, "{}", payload.len());
            let note: Note = serde_json::from_str(payload).unwrap();
            let p = note.presence.unwrap();
            assert_eq!((usize::from(p.part), usize::from(p.parts)), (i, notes.len()));
            keys.extend(p.people.into_iter().map(|p| p.key));
        }
        assert_eq!(keys.len(), 150, "each person once");
    }

    #[test]
    fn nobody_there_is_one_empty_note() {
        let notes = presence_notes("process", &SheetId("us_sh_1".into()), &[]);
        assert_eq!(notes.len(), 1);
    }
}
