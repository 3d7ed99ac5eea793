//! The space's Activity tab: its events folded into lines a person reads, 50 a page.
//!
//! Folding: a job's events (created, ready, updated, completed...) are one line at its
//! creation, showing its state now; what a job wrote (an import's workbook and records, its
//! file's updates) belongs to that line; a run of record changes of one person in one sheet
//! is one line; commits and count updates say nothing new and are left out.

use super::activity_words::{self as words, Line};
use crate::db::AnyConnection;
use crate::ids::SpaceId;
use crate::model::activity::{self, Names, Wanted};
use crate::model::event::Event;
use chrono::NaiveDateTime;
use serde_json::Value;

/// Lines a page shows.
pub const LINES: usize = 50;
/// Events read at a time, and at most this many batches for one page, so a page stays
/// fast even where thousands of events fold into one line.
const BATCH: i64 = 200;
const MAX_BATCHES: usize = 25;

/// A page of the Activity.
pub struct Page {
    pub lines: Vec<Line>,
    /// The event to continue before, when there is more.
    pub older: Option<i64>,
    /// Not the newest page.
    pub paged: bool,
}

/// What one line stands for, before it is put in words.
pub enum Item {
    Job(String),
    Records {
        topic: String,
        sheet: String,
        actor: String,
        count: i64,
        /// Writes folded into the line (changes to one record count once per write).
        writes: usize,
    },
    Event(Box<Event>),
}

pub struct Entry {
    pub at: NaiveDateTime,
    pub item: Item,
}

impl Entry {
    /// Adds a record change of the same person, sheet and kind to this line.
    fn absorb(&mut self, next: &Item) -> bool {
        match (&mut self.item, next) {
            (
                Item::Records {
                    topic,
                    sheet,
                    actor,
                    count,
                    writes,
                },
                Item::Records {
                    topic: t,
                    sheet: s,
                    actor: a,
                    count: c,
                    ..
                },
            ) if topic == t && sheet == s && actor == a => {
                *count += c;
                *writes += 1;
                true
            }
            _ => false,
        }
    }
}

/// The page of lines of events before event `before` (the newest when `None`).
pub fn page(conn: &mut AnyConnection, space: &SpaceId, before: Option<i64>) -> diesel::QueryResult<Page> {
    let mut names = Names::default();
    let mut entries: Vec<Entry> = Vec::new();
    let mut cursor = before;
    let mut older = None;
    'scan: for round in 0..MAX_BATCHES {
        let batch = activity::events_before(conn, space, cursor, BATCH)?;
        names.load(conn, space, wanted(&batch))?;
        for e in &batch {
            if let Some(item) = classify(e, &names) {
                let merged = entries.last_mut().is_some_and(|last| last.absorb(&item));
                if !merged {
                    if entries.len() == LINES {
                        older = cursor;
                        break 'scan;
                    }
                    entries.push(Entry {
                        at: e.created_at,
                        item,
                    });
                }
            }
            cursor = Some(e.id);
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
        // Out of reading time for this page: the rest is on the next one.
        if round + 1 == MAX_BATCHES {
            older = cursor;
        }
    }
    let now = chrono::Utc::now().naive_utc();
    let lines = entries
        .iter()
        .map(|en| words::line(en, &names, space, &now))
        .collect();
    Ok(Page {
        lines,
        older,
        paged: before.is_some(),
    })
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The ids a batch of events names.
fn wanted(batch: &[Event]) -> Wanted {
    let mut w = Wanted::default();
    for e in batch {
        w.people.insert(e.actor.clone());
        if let Some(id) = &e.workbook_id {
            w.workbooks.insert(id.to_string());
            w.destinations.insert(id.to_string());
        }
        if let Some(id) = &e.sheet_id {
            w.sheets.insert(id.to_string());
        }
        let ctx = json(&e.context);
        if let Some(id) = ctx["jobId"].as_str() {
            w.jobs.insert(id.to_string());
        }
        if let Some(id) = ctx["fileId"].as_str() {
            w.files.insert(id.to_string());
        }
        if let Some(id) = json(&e.payload)["guestId"].as_str() {
            w.people.insert(id.to_string());
        }
    }
    w
}

/// What line an event makes; `None`: it is part of another line, or says nothing new.
pub fn classify(e: &Event, names: &Names) -> Option<Item> {
    if let Some(job) = json(&e.context)["jobId"].as_str() {
        return match e.topic.as_str() {
            "job:created" if names.jobs.contains_key(job) => Some(Item::Job(job.to_string())),
            t if t.starts_with("job:") => None,
            _ => Some(Item::Event(Box::new(e.clone()))),
        };
    }
    match e.topic.as_str() {
        "commit:created"
        | "commit:updated"
        | "commit:completed"
        | "sheet:counts-updated"
        | "sheet:calculation-updated"
        | "file:updated" => return None,
        // An import's upload is told by its extraction's line.
        "file:created" if is_import(e, names) => return None,
        _ => {}
    }
    if written_by_job(e, names) {
        return None;
    }
    match (e.topic.as_str(), &e.sheet_id) {
        ("records:created" | "records:updated" | "records:deleted", Some(sheet)) => Some(Item::Records {
            topic: e.topic.clone(),
            sheet: sheet.to_string(),
            actor: e.actor.clone(),
            count: json(&e.payload)["count"].as_i64().unwrap_or(0),
            writes: 1,
        }),
        _ => Some(Item::Event(Box::new(e.clone()))),
    }
}

fn is_import(e: &Event, names: &Names) -> bool {
    json(&e.context)["fileId"]
        .as_str()
        .and_then(|id| names.files.get(id))
        .is_some_and(|f| f.mode == "import")
}

/// Whether a job of the same person was writing into the event's workbook at the time:
/// an import's workbook and records are its line's, not lines of their own. From when the
/// job started running, not when it was made: a mapping left on its planning screen never
/// runs, and hid every later edit of its author there.
fn written_by_job(e: &Event, names: &Names) -> bool {
    let Some(wb) = &e.workbook_id else {
        return false;
    };
    names.jobs.values().any(|j| {
        // An import writes its destination; a delete or bulk change the workbook it is of.
        let writes = match (j.operation.as_str(), &j.destination) {
            ("delete-records" | "bulk-change", _) if j.job_type == "workbook" => Some(j.source.as_str()),
            (_, destination) => destination.as_deref(),
        };
        writes == Some(wb.as_str())
            && j.created_by == e.actor
            && j.started_at.is_some_and(|start| start <= e.created_at)
            && j.finished_at.is_none_or(|end| e.created_at <= end)
    })
}
