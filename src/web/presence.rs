//! Presence: who has each sheet open. A person counts once however many tabs they have
//! (keyed by who they are, not by name), and only a person arriving or leaving a sheet is
//! announced, so a second tab costs the sheet's other grids nothing. With several
//! processes on one PostgreSQL database, each tells the others who is on its sheets (see
//! `live_notes`), again every few seconds, in notes of bounded size; what another process
//! said is kept until it says otherwise or falls silent (it stopped).

use crate::ids::SheetId;
use actix_web::web::Bytes;
use askama::Template;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most this many names are shown; the rest are counted ("and 12 more").
const SHOWN: usize = 20;

/// Someone on a sheet: `key` says who (a user's or guest's id), `name` how others see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Person {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "k")]
    pub key: String,
}

/// Everyone on a sheet, sorted by name, each person once.
pub type People = Arc<Vec<Person>>;

/// What one part of another process's note said, and when.
type Remote = HashMap<SheetId, HashMap<(String, u16), (Vec<Person>, Instant)>>;

/// The people on a sheet through this process: person -> (name, open streams).
type Local = HashMap<String, (String, usize)>;

/// Who has each sheet open: people here; parts of notes elsewhere.
#[derive(Default, Clone)]
pub struct Present {
    map: Arc<Mutex<HashMap<SheetId, Local>>>,
    remote: Arc<Mutex<Remote>>,
}

#[derive(Template)]
#[template(path = "grid/_presence.html")]
struct PresencePartial<'a> {
    names: Vec<&'a str>,
    more: usize,
}

/// One stream of a person on a sheet; dropping it (the stream ended) takes the stream
/// off, and the person too when it was their last, which `on_leave` then announces.
pub struct Here {
    present: Present,
    sheet: SheetId,
    key: String,
    on_leave: Box<dyn Fn(&SheetId) + Send>,
}

impl Drop for Here {
    fn drop(&mut self) {
        let mut map = self.present.map.lock().unwrap_or_else(|p| p.into_inner());
        let mut left = false;
        if let Some(on_sheet) = map.get_mut(&self.sheet) {
            if let Some((_, streams)) = on_sheet.get_mut(&self.key) {
                *streams -= 1;
                if *streams == 0 {
                    on_sheet.remove(&self.key);
                    left = true;
                }
            }
            if on_sheet.is_empty() {
                map.remove(&self.sheet);
            }
        }
        drop(map);
        if left {
            (self.on_leave)(&self.sheet);
        }
    }
}

impl Present {
    /// Puts one stream of `person` on a sheet until the returned guard drops; `on_leave`
    /// announces their leaving then. Also says whether they just arrived (no other stream).
    pub fn arrive(
        &self,
        sheet: &SheetId,
        person: &Person,
        on_leave: Box<dyn Fn(&SheetId) + Send>,
    ) -> (Here, bool) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .entry(sheet.clone())
            .or_default()
            .entry(person.key.clone())
            .or_insert_with(|| (person.name.clone(), 0));
        entry.1 += 1;
        let arrived = entry.1 == 1;
        drop(map);
        let here = Here {
            present: self.clone(),
            sheet: sheet.clone(),
            key: person.key.clone(),
            on_leave,
        };
        (here, arrived)
    }

    /// People on a sheet through this process, sorted.
    pub fn local_people(&self, sheet: &SheetId) -> Vec<Person> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let mut people: Vec<Person> = map
            .get(sheet)
            .into_iter()
            .flatten()
            .map(|(key, (name, _))| Person {
                key: key.clone(),
                name: name.clone(),
            })
            .collect();
        people.sort();
        people
    }

    /// People on a sheet now, through any process, sorted, each once (someone here and
    /// elsewhere too goes by the name they have here: another process may have cut it).
    pub fn people(&self, sheet: &SheetId) -> People {
        let mut by_key: HashMap<String, Person> = HashMap::new();
        let remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        for (others, _) in remote.get(sheet).into_iter().flat_map(HashMap::values) {
            by_key.extend(others.iter().map(|p| (p.key.clone(), p.clone())));
        }
        drop(remote);
        by_key.extend(self.local_people(sheet).into_iter().map(|p| (p.key.clone(), p)));
        let mut people: Vec<Person> = by_key.into_values().collect();
        people.sort();
        Arc::new(people)
    }

    /// The sheets someone has open through this process.
    pub fn local_sheets(&self) -> Vec<SheetId> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.keys().cloned().collect()
    }

    /// Part `part` of `parts` of what another process says it has on a sheet (a process
    /// with many people there says it in several notes); whether that changes what grids
    /// show. Parts past `parts` are forgotten (fewer people now need fewer notes).
    pub fn set_remote(
        &self,
        sheet: &SheetId,
        process: &str,
        part: u16,
        parts: u16,
        people: Vec<Person>,
    ) -> bool {
        let mut remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        let on_sheet = remote.entry(sheet.clone()).or_default();
        let mut changed = false;
        on_sheet.retain(|(p, n), (people, _)| {
            let keep = p != process || *n < parts;
            changed |= !keep && !people.is_empty();
            keep
        });
        let key = (process.to_string(), part);
        let before = on_sheet.get(&key).map(|(p, _)| p.as_slice()).unwrap_or_default();
        changed |= before != people.as_slice();
        if people.is_empty() {
            on_sheet.remove(&key);
        } else {
            on_sheet.insert(key, (people, Instant::now()));
        }
        if on_sheet.is_empty() {
            remote.remove(sheet);
        }
        changed
    }

    /// Forgets what processes silent for `ttl` said (they stopped); returns the sheets
    /// whose people changed.
    pub fn expire_remote(&self, ttl: Duration) -> Vec<SheetId> {
        let mut remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = Vec::new();
        remote.retain(|sheet, on_sheet| {
            let before = on_sheet.len();
            on_sheet.retain(|_, (_, at)| at.elapsed() < ttl);
            if on_sheet.len() != before {
                changed.push(sheet.clone());
            }
            !on_sheet.is_empty()
        });
        changed
    }
}

/// The `presence` event for the person `me`: everyone else on the sheet, the first
/// [`SHOWN`] by name and how many more. A guest sees the team's people as "Team member":
/// their names are their email addresses, which are not a guest's to see.
pub fn event(people: &[Person], me: &str) -> Bytes {
    let to_guest = crate::ids::GuestId::parse(me).is_some();
    let others = people.iter().filter(|p| p.key != me);
    let total = others.clone().count();
    let names: Vec<&str> = others
        .take(SHOWN)
        .map(
            |p| match to_guest && crate::ids::GuestId::parse(&p.key).is_none() {
                true => "Team member",
                false => p.name.as_str(),
            },
        )
        .collect();
    let more = total - names.len();
    let html = PresencePartial { names, more }.render().unwrap_or_default();
    let one_line = html.replace(['\r', '\n'], " ");
    Bytes::from(format!("event: presence\ndata: {one_line}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(key: &str, name: &str) -> Person {
        Person {
            key: key.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_person_with_several_tabs_counts_once_and_leaves_with_the_last() {
        let present = Present::default();
        let sheet = SheetId("us_sh_1".into());
        let left = Arc::new(Mutex::new(0));
        let on_leave = || {
            let left = left.clone();
            Box::new(move |_: &SheetId| *left.lock().unwrap() += 1) as Box<dyn Fn(&SheetId) + Send>
        };
        let ada = person("us_usr_a", "ada@example.com");
        let (first, arrived) = present.arrive(&sheet, &ada, on_leave());
        assert!(arrived);
        let (second, arrived) = present.arrive(&sheet, &ada, on_leave());
        assert!(!arrived, "a second tab is no arrival");
        assert_eq!(present.people(&sheet).len(), 1);
        drop(first);
        assert_eq!(*left.lock().unwrap(), 0, "one tab still open");
        drop(second);
        assert_eq!(*left.lock().unwrap(), 1);
        assert!(present.people(&sheet).is_empty());
    }

    #[test]
    fn a_guest_sees_the_team_without_its_addresses() {
        let people = vec![
            person("us_usr_a", "ada@example.com"),
            person("us_g_b", "Bea (guest)"),
            person("us_g_c", "Cy (guest)"),
        ];
        let to_guest = String::from_utf8(event(&people, "us_g_c").to_vec()).unwrap();
        assert!(!to_guest.contains("ada@example.com"), "{to_guest}");
        assert!(
            to_guest.contains(">Team member<") && to_guest.contains(">Bea (guest)<"),
            "{to_guest}"
        );
        let to_team = String::from_utf8(event(&people, "us_usr_z").to_vec()).unwrap();
        assert!(to_team.contains(">ada@example.com<"), "{to_team}");
    }

    #[test]
    fn the_event_names_the_others_and_counts_the_rest() {
        let people: Vec<Person> = (0..30)
            .map(|i| person(&format!("k{i:02}"), &format!("n{i:02}")))
            .collect();
        let shown = String::from_utf8(event(&people, "k00").to_vec()).unwrap();
        assert!(!shown.contains(">n00<"), "not oneself: {shown}");
        assert!(shown.contains(">n01<") && shown.contains(">n20<"), "{shown}");
        assert!(!shown.contains(">n21<"), "{shown}");
        assert!(shown.contains("and 9 more"), "{shown}");
    }

    #[test]
    fn someone_here_and_elsewhere_counts_once() {
        let present = Present::default();
        let sheet = SheetId("us_sh_1".into());
        let (_here, _) = present.arrive(&sheet, &person("k", "Zed"), Box::new(|_| {}));
        let there = vec![person("a", "Amy"), person("m", "Zed Junior"), person("k", "Ze…")];
        present.set_remote(&sheet, "p", 0, 1, there);
        let names: Vec<String> = present.people(&sheet).iter().map(|p| p.name.clone()).collect();
        assert_eq!(names, ["Amy", "Zed", "Zed Junior"]);
    }

    #[test]
    fn fewer_parts_from_a_process_forget_the_rest() {
        let present = Present::default();
        let sheet = SheetId("us_sh_1".into());
        assert!(present.set_remote(&sheet, "p", 0, 2, vec![person("a", "A")]));
        assert!(present.set_remote(&sheet, "p", 1, 2, vec![person("b", "B")]));
        assert_eq!(present.people(&sheet).len(), 2);
        assert!(
            !present.set_remote(&sheet, "p", 0, 2, vec![person("a", "A")]),
            "nothing new"
        );
        assert!(present.set_remote(&sheet, "p", 0, 1, vec![person("a", "A")]));
        assert_eq!(present.people(&sheet).len(), 1);
    }
}
