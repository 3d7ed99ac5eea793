//! An Activity line in words: "Ada imported leads.csv into Leads: 2,500 records, 2,310
//! valid", "Submit to crm: 4,980 sent, 20 rejected — by Ada on Leads". Names are kept as
//! text parts (the template escapes them) and linked where there is a page to open.

use super::activity::{Entry, Item};
use crate::ids::{ApiKeyId, GuestId, SheetId, SpaceId, UserId, WorkbookId};
use crate::model::activity::Names;
use crate::model::event::Event;
use crate::model::job::{status, Job};
use crate::web::when::When;
use chrono::NaiveDateTime;
use serde_json::Value;

/// A piece of a line.
pub enum Part {
    Text(String),
    Link {
        href: String,
        text: String,
    },
    /// Someone, with their email on hover.
    Person {
        name: String,
        title: String,
    },
    Code(String),
}

pub struct Line {
    pub when: When,
    pub parts: Vec<Part>,
    /// A job's status (`complete`, `failed`, ...), empty for other lines.
    pub state: String,
    pub job_id: String,
    /// A job's operation (`submit`, `extract`, ...), empty for other lines.
    pub operation: String,
}

fn text(t: impl Into<String>) -> Part {
    Part::Text(t.into())
}

/// A name on one line: line breaks and other control characters read as spaces.
fn one_line(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// 2500 as "2,500".
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

fn records(n: i64) -> String {
    if n == 1 {
        "1 record".into()
    } else {
        format!("{} records", count(n))
    }
}

/// Who did it: a team member's name (email on hover), a guest's name, an API key, Wharf.
fn person(actor: &str, names: &Names) -> Part {
    if let Some(p) = names.people.get(actor) {
        let name = if p.name.trim().is_empty() {
            &p.email
        } else {
            &p.name
        };
        let suffix = if p.guest { " (guest)" } else { "" };
        return Part::Person {
            name: format!("{}{suffix}", one_line(name)),
            title: one_line(&p.email),
        };
    }
    let name = if actor.starts_with(UserId::PREFIX) {
        "A removed team member"
    } else if actor.starts_with(GuestId::PREFIX) {
        "A removed guest"
    } else if actor.starts_with(ApiKeyId::PREFIX) {
        "An API key"
    } else if actor == "wharf" || actor.is_empty() {
        "Wharf"
    } else if let Some(to) = actor.strip_prefix("submit:") {
        // The records a Submit's receiver rejected are marked in its name (probe 67f D4:
        // "submit:crm changed 1 record").
        return Part::Person {
            name: format!("The receiver of Submit to {}", one_line(to)),
            title: String::new(),
        };
    } else {
        actor
    };
    Part::Person {
        name: one_line(name),
        title: String::new(),
    }
}

fn workbook(id: &str, names: &Names, fallback: &str) -> Part {
    match names.workbooks.get(id) {
        Some(w) => Part::Link {
            href: format!("/workbooks/{}", w.id),
            text: one_line(&w.name),
        },
        None => text(fallback),
    }
}

fn sheet(id: &str, names: &Names) -> Part {
    match names.sheets.get(id) {
        Some(s) => Part::Link {
            href: format!("/workbooks/{}?sheet={}", s.workbook_id, s.id),
            text: one_line(&s.name),
        },
        None => text("a deleted sheet"),
    }
}

fn file(id: Option<&str>, names: &Names, space: &SpaceId) -> Part {
    match id.and_then(|id| names.files.get(id)) {
        Some(f) => Part::Link {
            href: format!("/spaces/{space}?tab=files#file-{}", f.id),
            text: one_line(&f.name),
        },
        None => text("a deleted file"),
    }
}

pub fn line(entry: &Entry, names: &Names, space: &SpaceId, now: &NaiveDateTime) -> Line {
    let mut line = Line {
        when: When::relative_to(&entry.at, now),
        parts: Vec::new(),
        state: String::new(),
        job_id: String::new(),
        operation: String::new(),
    };
    line.parts = match &entry.item {
        Item::Job(id) => match names.jobs.get(id) {
            Some(j) => {
                line.state = j.status.clone();
                line.job_id = j.id.to_string();
                line.operation = j.operation.clone();
                job_words(j, names, space)
            }
            None => vec![text("A job that no longer exists")],
        },
        Item::Records {
            topic,
            sheet: id,
            actor,
            count: n,
            writes,
        } => {
            let what = match topic.as_str() {
                "records:created" => format!(" added {} to ", records(*n)),
                "records:deleted" => format!(" deleted {} from ", records(*n)),
                // Several saves may change the same record: say changes, not records.
                _ if *writes > 1 => format!(" made {} record changes in ", count(*n)),
                _ => format!(" changed {} in ", records(*n)),
            };
            vec![person(actor, names), text(what), sheet(id, names)]
        }
        Item::Event(e) => event_words(e, names, space),
    };
    line
}

fn outcome_message(j: &Job) -> String {
    let outcome: Value = j
        .outcome
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    one_line(outcome["message"].as_str().unwrap_or_default())
}

/// How a job stands, after its subject: ": 4,980 sent, 20 rejected", ": failed: ...".
fn state_words(j: &Job) -> String {
    let message = outcome_message(j);
    match j.status.as_str() {
        status::COMPLETE if message.is_empty() => " (done)".into(),
        status::COMPLETE => format!(": {message}"),
        status::FAILED => {
            let why = if message.is_empty() {
                one_line(j.info.as_deref().unwrap_or("no reason given"))
            } else {
                message
            };
            format!(": failed: {why}")
        }
        status::CANCELED => " (canceled)".into(),
        status::EXECUTING => match j.info.as_deref() {
            Some(info) if !info.is_empty() => format!(": running, {}% ({})", j.progress, one_line(info)),
            _ => format!(": running, {}%", j.progress),
        },
        status::READY => ": waiting for a listener to take it".into(),
        other => format!(" ({other})"),
    }
}

fn job_words(j: &Job, names: &Names, space: &SpaceId) -> Vec<Part> {
    let who = person(&j.created_by, names);
    let dest = j.destination.as_deref().unwrap_or_default();
    match (j.job_type.as_str(), j.operation.as_str()) {
        ("file", "extract") => {
            let f = file(j.file_id.as_ref().map(|f| f.as_str()), names, space);
            let sheets = names.workbook_sheets.get(dest).filter(|s| !s.is_empty());
            match (j.status.as_str(), sheets) {
                (status::COMPLETE, Some(sheets)) => {
                    let total: i64 = sheets.iter().map(|s| s.total_count).sum();
                    let errors: i64 = sheets.iter().map(|s| s.error_count).sum();
                    vec![
                        who,
                        text(" imported "),
                        f,
                        text(" into "),
                        workbook(dest, names, "a deleted workbook"),
                        text(format!(": {}, {} valid", records(total), count(total - errors))),
                    ]
                }
                _ => vec![who, text(" imported "), f, text(state_words(j))],
            }
        }
        ("workbook", "map") => vec![
            who,
            text(" mapped "),
            workbook(&j.source, names, "a deleted workbook"),
            text(" into "),
            workbook(dest, names, "a deleted workbook"),
            text(state_words(j)),
        ],
        _ => {
            let (label, wb) = action_label(j, names);
            let mut parts = vec![
                text(label),
                text(state_words(j)),
                text(" — by "),
                mid_sentence(who),
            ];
            if let Some(wb) = wb {
                parts.push(text(" on "));
                parts.push(workbook(&wb, names, "a deleted workbook"));
            }
            parts
        }
    }
}

/// A job's label: its action's (`"Submit"`, with `deliverTo`: "Submit to crm"), else its
/// operation; and the workbook it works on.
fn action_label(j: &Job, names: &Names) -> (String, Option<String>) {
    let (wb, sheet_config) = if WorkbookId::parse(&j.source).is_some() {
        (Some(j.source.clone()), None)
    } else if SheetId::parse(&j.source).is_some() {
        let s = names.sheets.get(&j.source);
        (s.map(|s| s.workbook_id.to_string()), s.map(|s| s.config.clone()))
    } else {
        (None, None)
    };
    let mut actions: Vec<Value> = Vec::new();
    if let Some(config) = sheet_config {
        let config: Value = serde_json::from_str(&config).unwrap_or(Value::Null);
        actions.extend(config["actions"].as_array().cloned().unwrap_or_default());
    }
    if let Some(w) = wb.as_ref().and_then(|id| names.workbooks.get(id)) {
        let list: Value = serde_json::from_str(&w.actions).unwrap_or(Value::Null);
        actions.extend(list.as_array().cloned().unwrap_or_default());
    }
    let action = actions.iter().find(|a| {
        a["operation"].as_str().is_some_and(|op| {
            // Flatfile names a workbook action's operation as `operation` or `domain:operation`.
            op == j.operation || op.rsplit(':').next() == Some(j.operation.as_str())
        })
    });
    let mut label = action
        .and_then(|a| a["label"].as_str())
        .map(one_line)
        .unwrap_or_else(|| operation_words(&j.operation));
    if let Some(to) = action.and_then(|a| a["deliverTo"].as_str()) {
        label = format!("{label} to {}", one_line(to));
    }
    (label, wb)
}

/// "An API key" inside a sentence: "an API key" (names of people stay as they are).
fn mid_sentence(who: Part) -> Part {
    match who {
        Part::Person { name, title }
            if title.is_empty() && (name.starts_with("A ") || name.starts_with("An ")) =>
        {
            Part::Person {
                name: format!("a{}", &name[1..]),
                title,
            }
        }
        other => other,
    }
}

/// A job's operation as words: `delete-records` as "Delete records" (probe 67f D4).
fn operation_words(operation: &str) -> String {
    capitalized(&operation.replace(['-', '_'], " "))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn event_words(e: &Event, names: &Names, space: &SpaceId) -> Vec<Part> {
    let payload: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
    let ctx: Value = serde_json::from_str(&e.context).unwrap_or(Value::Null);
    let who = person(&e.actor, names);
    let wb = e.workbook_id.as_ref().map(|w| w.to_string()).unwrap_or_default();
    let sh = e.sheet_id.as_ref().map(|s| s.to_string()).unwrap_or_default();
    let named = |fallback: &str| match payload["name"].as_str() {
        Some(n) => text(one_line(n)),
        None => text(fallback),
    };
    let mut parts = vec![who];
    match e.topic.as_str() {
        "space:created" => parts.push(text(" created this space")),
        "space:updated" => parts.push(text(" changed this space")),
        "space:archived" => parts.push(text(" archived this space")),
        "space:unarchived" => parts.push(text(" brought this space back from the archive")),
        "space:expired" => {
            parts.clear();
            parts.push(text("This space expired"));
        }
        "workbook:created" => {
            parts.push(text(" added the workbook "));
            parts.push(workbook(&wb, names, "(since deleted)"));
        }
        "workbook:updated" => {
            parts.push(text(" changed the workbook "));
            parts.push(workbook(&wb, names, "(since deleted)"));
        }
        "workbook:deleted" => {
            parts.push(text(" deleted "));
            parts.push(workbook(&wb, names, "a workbook"));
        }
        "sheet:deleted" => {
            parts.push(text(" deleted the sheet "));
            parts.push(named(""));
        }
        "sheet:updated" => {
            let verb = if payload["locked"] == Value::Bool(true) {
                " locked "
            } else {
                " unlocked "
            };
            parts.push(text(verb));
            parts.push(sheet(&sh, names));
        }
        "file:created" => {
            parts.push(text(" uploaded "));
            parts.push(file(ctx["fileId"].as_str(), names, space));
        }
        "file:deleted" => parts.push(text(" deleted a file")),
        // Probe 72b D8: these read as their raw topics.
        "document:created" => parts.push(text(" added a document")),
        "document:updated" => parts.push(text(" changed a document")),
        "document:deleted" => parts.push(text(" deleted a document")),
        "secret:created" | "secret:updated" | "secret:deleted" => {
            let verb = match e.topic.as_str() {
                "secret:created" => " added the secret ",
                "secret:updated" => " changed the secret ",
                _ => " deleted the secret ",
            };
            parts.push(text(verb));
            parts.push(Part::Code(one_line(payload["name"].as_str().unwrap_or_default())));
        }
        "space:guestAdded" | "space:guestRemoved" => {
            let added = e.topic == "space:guestAdded";
            parts.push(text(if added { " invited " } else { " removed " }));
            parts.push(person(payload["guestId"].as_str().unwrap_or_default(), names));
            parts.push(text(if added {
                " to this space"
            } else {
                " from this space"
            }));
        }
        topic => {
            parts.push(text(": "));
            parts.push(Part::Code(topic.to_string()));
            if !sh.is_empty() {
                parts.push(text(" on "));
                parts.push(sheet(&sh, names));
            } else if !wb.is_empty() {
                parts.push(text(" on "));
                parts.push(workbook(&wb, names, "a deleted workbook"));
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(2500), "2,500");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-4980), "-4,980");
        assert_eq!(records(1), "1 record");
        assert_eq!(records(2310), "2,310 records");
    }

    #[test]
    fn a_name_stays_on_one_line() {
        assert_eq!(one_line("Ada\nLovelace\r\t<b>"), "Ada Lovelace  <b>");
    }

    #[test]
    fn people_who_left_are_still_named() {
        let names = Names::default();
        let name = |actor: &str| match person(actor, &names) {
            Part::Person { name, .. } => name,
            _ => unreachable!(),
        };
        assert_eq!(name("us_usr_gone1234"), "A removed team member");
        assert_eq!(name("us_key_abcdefgh"), "An API key");
        assert_eq!(name("wharf"), "Wharf");
        // A Submit's receiver marking the records it rejected (probe 67f D4).
        assert_eq!(name("submit:crm"), "The receiver of Submit to crm");
    }

    #[test]
    fn an_operation_reads_as_words() {
        assert_eq!(operation_words("delete-records"), "Delete records");
        assert_eq!(operation_words("export_crm"), "Export crm");
    }
}
