//! How many uploads and downloads one caller (a person, a key, a guest) has going at once
//! through a bucket: the process's own places ([`crate::settings::Crowds`]) are shared, and
//! one guest token held all of them, shutting everyone else out (probe 55a 1).

use super::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One caller's uploads at once: a browser sends up to six side by side.
pub const UPLOADS_EACH: usize = 6;
/// One caller's downloads at once.
pub const DOWNLOADS_EACH: usize = 8;

#[derive(Default)]
pub struct CallerPlaces {
    held: Mutex<HashMap<String, usize>>,
}

/// A caller's place, given back when dropped.
pub struct CallerPlace {
    places: Arc<CallerPlaces>,
    who: String,
}

impl CallerPlaces {
    /// A place for `who`, unless it holds `most` already: then 503, saying so.
    pub fn take(self: &Arc<Self>, who: &str, most: usize, what: &str) -> Result<CallerPlace, AppError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(who.to_string()).or_default();
        if *n >= most {
            return Err(AppError::Crowded(format!(
                "you have {most} {what} under way on this server, as many as one caller may at once; \
                 try again once one has ended"
            )));
        }
        *n += 1;
        Ok(CallerPlace {
            places: self.clone(),
            who: who.to_string(),
        })
    }
}

impl Drop for CallerPlace {
    fn drop(&mut self) {
        let mut held = self.places.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.who) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.who);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_holds_at_most_its_share() {
        let places = Arc::new(CallerPlaces::default());
        let mine: Vec<_> = (0..2)
            .map(|_| places.take("ada", 2, "uploads").unwrap())
            .collect();
        assert!(places.take("ada", 2, "uploads").is_err());
        let other = places.take("bob", 2, "uploads");
        assert!(other.is_ok(), "another caller is not held up");
        drop(mine);
        assert!(places.take("ada", 2, "uploads").is_ok());
        assert!(
            places.held.lock().unwrap().get("ada").is_none(),
            "nothing kept once given back"
        );
    }
}
