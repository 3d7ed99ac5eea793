//! How much of the request bodies being read (and then handled) one process holds at once,
//! in all and per caller: each body may be up to 64 MiB, and forty guests sending such
//! bodies at once held 2.6 GB; eighty took a 4 GB server down (probe 67a D3). Past either
//! budget a body is refused with 503 and `Retry-After`: record writes come in batches of
//! a few megabytes, so only a crowd of the biggest bodies meets it.

use super::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most bytes of bodies held at once by the process.
pub const MOST_HELD: usize = 768 * 1024 * 1024;
/// Most bytes of bodies one caller (a key, a token, a session) holds at once: two of the
/// biggest bodies.
pub const MOST_HELD_EACH: usize = 128 * 1024 * 1024;

#[derive(Default)]
pub struct BodyBudget {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    all: usize,
    by_caller: HashMap<u64, usize>,
}

/// Bytes of one request's body held, given back when dropped (with the request).
pub struct BodyHold {
    budget: Arc<BodyBudget>,
    caller: u64,
    bytes: usize,
}

impl BodyBudget {
    /// An empty hold for the caller of `req` (by its credentials: the same key or session
    /// shares one budget).
    pub fn hold_for(self: &Arc<Self>, req: &actix_web::HttpRequest) -> BodyHold {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for name in ["authorization", "x-api-key", "cookie"] {
            if let Some(v) = req.headers().get(name) {
                v.as_bytes().hash(&mut h);
            }
        }
        BodyHold {
            budget: self.clone(),
            caller: h.finish(),
            bytes: 0,
        }
    }
}

impl BodyHold {
    /// Holds `n` more bytes, unless that passes the process's or the caller's budget.
    pub fn grow(&mut self, n: usize) -> Result<(), AppError> {
        let mut held = self.budget.held.lock().unwrap_or_else(|p| p.into_inner());
        let mine = held.by_caller.get(&self.caller).copied().unwrap_or(0);
        if mine + n > MOST_HELD_EACH {
            return Err(AppError::Crowded(format!(
                "you are sending more than {} MiB of request bodies to this server at once; send fewer at a time, or smaller batches",
                MOST_HELD_EACH >> 20
            )));
        }
        if held.all + n > MOST_HELD {
            return Err(AppError::Crowded(
                "the server is reading many large request bodies at once; try again in a moment".into(),
            ));
        }
        held.all += n;
        *held.by_caller.entry(self.caller).or_insert(0) += n;
        self.bytes += n;
        Ok(())
    }
}

impl Drop for BodyHold {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut held = self.budget.held.lock().unwrap_or_else(|p| p.into_inner());
        held.all -= self.bytes;
        if let Some(mine) = held.by_caller.get_mut(&self.caller) {
            *mine -= self.bytes;
            if *mine == 0 {
                held.by_caller.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_held_within_both_budgets_and_given_back() {
        let budget = Arc::new(BodyBudget::default());
        let req = |key: &str| {
            actix_web::test::TestRequest::default()
                .insert_header(("authorization", format!("Bearer {key}")))
                .to_http_request()
        };
        let mut one = budget.hold_for(&req("a"));
        one.grow(MOST_HELD_EACH).unwrap();
        let mut again = budget.hold_for(&req("a"));
        assert!(again.grow(1).is_err(), "the caller's budget is spent");
        let mut others: Vec<BodyHold> = Vec::new();
        for i in 0..(MOST_HELD / MOST_HELD_EACH - 1) {
            let mut h = budget.hold_for(&req(&format!("k{i}")));
            h.grow(MOST_HELD_EACH).unwrap();
            others.push(h);
        }
        let mut late = budget.hold_for(&req("late"));
        assert!(late.grow(1).is_err(), "the process's budget is spent");
        drop(one);
        again.grow(MOST_HELD_EACH).unwrap();
        drop(again);
        drop(others);
        assert_eq!(budget.held.lock().unwrap().all, 0);
        assert!(budget.held.lock().unwrap().by_caller.is_empty());
    }
}
