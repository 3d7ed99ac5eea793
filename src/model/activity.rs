//! What the space's Activity needs beside its events: the people, workbooks, sheets, files
//! and jobs they name, each looked up once per page (a query per kind, never per event).

use super::event::Event;
use super::file::File;
use super::job::Job;
use super::sheet::Sheet;
use super::workbook::Workbook;
use crate::db::schema::{events, files, guests, jobs, sheets, users, workbooks};
use crate::db::AnyConnection;
use crate::ids::SpaceId;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// Events of a space, newest first (by id: the `events_space` index), before event `before`.
pub fn events_before(
    conn: &mut AnyConnection,
    space: &SpaceId,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    let mut q = events::table
        .filter(events::space_id.eq(space))
        .select(Event::as_select())
        .order(events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(events::id.lt(before));
    }
    q.load(conn)
}

/// Someone who did something: a team member or a guest.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
    pub guest: bool,
}

/// Everything a page of events names, by id.
#[derive(Debug, Default)]
pub struct Names {
    pub people: HashMap<String, Person>,
    pub workbooks: HashMap<String, Workbook>,
    pub sheets: HashMap<String, Sheet>,
    /// Each workbook's sheets, for its counts (only workbooks that jobs made or filled).
    pub workbook_sheets: HashMap<String, Vec<Sheet>>,
    pub files: HashMap<String, File>,
    pub jobs: HashMap<String, Job>,
    /// Workbooks whose jobs were looked up already.
    destinations: BTreeSet<String>,
}

/// The ids a page of events names, collected before one lookup per kind.
#[derive(Debug, Default)]
pub struct Wanted {
    pub people: BTreeSet<String>,
    pub workbooks: BTreeSet<String>,
    pub sheets: BTreeSet<String>,
    pub files: BTreeSet<String>,
    pub jobs: BTreeSet<String>,
    /// Workbooks whose writes may be a job's (an import's records): the jobs that wrote
    /// into them are looked up too.
    pub destinations: BTreeSet<String>,
}

impl Names {
    /// Looks up what `want` names and is not known yet; then the jobs' files, workbooks
    /// and sheets, so a job's line can name them.
    pub fn load(&mut self, conn: &mut AnyConnection, space: &SpaceId, mut want: Wanted) -> QueryResult<()> {
        let mut jobs: Vec<Job> = jobs::table
            .filter(jobs::space_id.eq(space))
            .filter(jobs::id.eq_any(missing(&want.jobs, &self.jobs)))
            .select(Job::as_select())
            .load(conn)?;
        let destinations: Vec<&String> = want.destinations.difference(&self.destinations).collect();
        if !destinations.is_empty() {
            jobs.extend(
                jobs::table
                    .filter(jobs::space_id.eq(space))
                    .filter(jobs::destination.eq_any(destinations))
                    .select(Job::as_select())
                    .load(conn)?,
            );
            self.destinations.extend(want.destinations.iter().cloned());
        }
        for j in jobs {
            want.people.insert(j.created_by.clone());
            if let Some(f) = &j.file_id {
                want.files.insert(f.to_string());
            }
            for id in [Some(&j.source), j.destination.as_ref()].into_iter().flatten() {
                want.workbooks.insert(id.clone());
                want.sheets.insert(id.clone());
            }
            self.jobs.insert(j.id.to_string(), j);
        }
        let files: Vec<File> = files::table
            .filter(files::space_id.eq(space))
            .filter(files::id.eq_any(missing(&want.files, &self.files)))
            .select(File::as_select())
            .load(conn)?;
        for f in files {
            if let Some(w) = &f.workbook_id {
                want.workbooks.insert(w.to_string());
            }
            self.files.insert(f.id.to_string(), f);
        }
        let found: Vec<Sheet> = sheets::table
            .filter(sheets::id.eq_any(missing(&want.sheets, &self.sheets)))
            .select(Sheet::as_select())
            .load(conn)?;
        for s in found {
            want.workbooks.insert(s.workbook_id.to_string());
            self.sheets.insert(s.id.to_string(), s);
        }
        let found: Vec<Workbook> = workbooks::table
            .filter(workbooks::space_id.eq(space))
            .filter(workbooks::id.eq_any(missing(&want.workbooks, &self.workbooks)))
            .select(Workbook::as_select())
            .load(conn)?;
        for w in found {
            self.workbooks.insert(w.id.to_string(), w);
        }
        self.load_counts(conn)?;
        self.load_people(conn, &want.people)
    }

    /// The sheets of the workbooks jobs wrote into, for "2,500 records, 2,310 valid".
    fn load_counts(&mut self, conn: &mut AnyConnection) -> QueryResult<()> {
        let targets: BTreeSet<String> = self
            .jobs
            .values()
            .filter_map(|j| j.destination.clone())
            .filter(|d| self.workbooks.contains_key(d) && !self.workbook_sheets.contains_key(d))
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let found: Vec<Sheet> = sheets::table
            .filter(sheets::workbook_id.eq_any(&targets))
            .order(sheets::position.asc())
            .select(Sheet::as_select())
            .load(conn)?;
        for t in targets {
            self.workbook_sheets.entry(t).or_default();
        }
        for s in found {
            self.workbook_sheets
                .entry(s.workbook_id.to_string())
                .or_default()
                .push(s);
        }
        Ok(())
    }

    fn load_people(&mut self, conn: &mut AnyConnection, want: &BTreeSet<String>) -> QueryResult<()> {
        let ids = missing(want, &self.people);
        let team: Vec<(String, String, String)> = users::table
            .filter(users::id.eq_any(&ids))
            .select((users::id, users::name, users::email))
            .load(conn)?;
        let outside: Vec<(String, String, String)> = guests::table
            .filter(guests::id.eq_any(&ids))
            .select((guests::id, guests::name, guests::email))
            .load(conn)?;
        for (rows, guest) in [(team, false), (outside, true)] {
            for (id, name, email) in rows {
                self.people.insert(id, Person { name, email, guest });
            }
        }
        Ok(())
    }
}

fn missing<V>(want: &BTreeSet<String>, known: &HashMap<String, V>) -> Vec<String> {
    want.iter()
        .filter(|id| !known.contains_key(*id))
        .cloned()
        .collect()
}
