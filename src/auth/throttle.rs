//! Slows repeated failed sign-ins, per account and per address: after a few failures each
//! further attempt waits longer, up to a cap. Kept in memory: a restart forgives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Free failures before delays start.
const FREE: u32 = 3;
const MAX_DELAY: Duration = Duration::from_secs(30);
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// How long to wait before answering an attempt for these keys (email, address).
    pub fn delay(&self, keys: &[String]) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let worst = keys
            .iter()
            .filter_map(|k| map.get(k))
            .filter(|(_, at)| at.elapsed() < WINDOW)
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        if worst < FREE {
            return Duration::ZERO;
        }
        let exp = (worst - FREE).min(5);
        (Duration::from_millis(500) * 2u32.pow(exp)).min(MAX_DELAY)
    }

    pub fn failed(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            let entry = map.entry(k.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
            entry.1 = Instant::now();
        }
    }

    pub fn succeeded(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            map.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_a_few_failures_and_reset_on_success() {
        let t = Throttle::default();
        let keys = vec!["email:a@b.c".to_string(), "ip:127.0.0.1".to_string()];
        for _ in 0..3 {
            assert_eq!(t.delay(&keys), Duration::ZERO);
            t.failed(&keys);
        }
        assert_eq!(t.delay(&keys), Duration::from_millis(500));
        t.failed(&keys);
        assert_eq!(t.delay(&keys), Duration::from_secs(1));
        // Another account from the same address is slowed too.
        assert!(t.delay(&["email:x@y.z".to_string(), "ip:127.0.0.1".to_string()]) > Duration::ZERO);
        t.succeeded(&keys);
        assert_eq!(t.delay(&keys), Duration::ZERO);
    }
}
