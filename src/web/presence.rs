//! Presence: each open grid stream counts as one person on its sheet; when someone opens
//! or leaves it, the sheet's other grids get a `presence` event with the others' names.
//! With several processes on one PostgreSQL database, each tells the others who is on its
//! sheets (see `live`), again every few seconds; what another process said is kept until
//! it says otherwise or falls silent (it stopped), so a grid sees everyone on its sheet.

use crate::ids::SheetId;
use actix_web::web::Bytes;
use askama::Template;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The names another process has on a sheet, and when it said so.
type Remote = HashMap<SheetId, HashMap<String, (Vec<String>, Instant)>>;

/// Who has each sheet open: stream number -> name, here; process -> names, elsewhere.
#[derive(Default, Clone)]
pub struct Present {
    map: Arc<Mutex<HashMap<SheetId, HashMap<u64, String>>>>,
    next: Arc<AtomicU64>,
    remote: Arc<Mutex<Remote>>,
}

#[derive(Template)]
#[template(path = "grid/_presence.html")]
struct PresencePartial {
    names: Vec<String>,
}

/// A person on a sheet; dropping it (the stream ended: the page closed) takes them off.
pub struct Here {
    present: Present,
    sheet: SheetId,
    key: u64,
    on_leave: Box<dyn Fn(&SheetId) + Send>,
}

impl Drop for Here {
    fn drop(&mut self) {
        let mut map = self.present.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(on_sheet) = map.get_mut(&self.sheet) {
            on_sheet.remove(&self.key);
            if on_sheet.is_empty() {
                map.remove(&self.sheet);
            }
        }
        drop(map);
        (self.on_leave)(&self.sheet);
    }
}

impl Present {
    /// Puts `name` on a sheet until the returned guard drops; `on_leave` announces it then.
    pub fn arrive(&self, sheet: &SheetId, name: &str, on_leave: Box<dyn Fn(&SheetId) + Send>) -> Here {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(sheet.clone())
            .or_default()
            .insert(key, name.to_string());
        Here {
            present: self.clone(),
            sheet: sheet.clone(),
            key,
            on_leave,
        }
    }

    /// Names on a sheet through this process, sorted.
    pub fn local_names(&self, sheet: &SheetId) -> Vec<String> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = map
            .get(sheet)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Names on a sheet now, through any process, sorted.
    pub fn names(&self, sheet: &SheetId) -> Vec<String> {
        let mut names = self.local_names(sheet);
        let remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        for (others, _) in remote.get(sheet).into_iter().flat_map(HashMap::values) {
            names.extend(others.iter().cloned());
        }
        names.sort();
        names
    }

    /// The sheets someone has open through this process.
    pub fn local_sheets(&self) -> Vec<SheetId> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.keys().cloned().collect()
    }

    /// What another process says it has on a sheet; whether that changes what grids show.
    pub fn set_remote(&self, sheet: &SheetId, process: &str, names: Vec<String>) -> bool {
        let mut remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        let on_sheet = remote.entry(sheet.clone()).or_default();
        let before = on_sheet.get(process).map(|(n, _)| n.clone());
        if names.is_empty() {
            on_sheet.remove(process);
        } else {
            on_sheet.insert(process.to_string(), (names.clone(), Instant::now()));
        }
        if on_sheet.is_empty() {
            remote.remove(sheet);
        }
        before.unwrap_or_default() != names
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

    /// The `presence` event for one person: everyone else on the sheet, each name once.
    pub fn event(&self, sheet: &SheetId, me: &str) -> Bytes {
        let mut names: Vec<String> = self.names(sheet).into_iter().filter(|n| n != me).collect();
        names.dedup();
        let html = PresencePartial { names }.render().unwrap_or_default();
        let one_line = html.replace(['\r', '\n'], " ");
        Bytes::from(format!("event: presence\ndata: {one_line}\n\n"))
    }
}
