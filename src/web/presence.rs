//! Presence: each open grid stream counts as one person on its sheet; when someone opens
//! or leaves it, the sheet's other grids get a `presence` event with the others' names.
//! Kept per process: with several processes, a grid sees the people on its own.

use crate::ids::SheetId;
use actix_web::web::Bytes;
use askama::Template;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Who has each sheet open: stream number -> name.
#[derive(Default, Clone)]
pub struct Present {
    map: Arc<Mutex<HashMap<SheetId, HashMap<u64, String>>>>,
    next: Arc<AtomicU64>,
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

    /// Names on a sheet now, sorted.
    pub fn names(&self, sheet: &SheetId) -> Vec<String> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = map
            .get(sheet)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
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
