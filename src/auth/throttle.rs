//! Limits sign-in attempts per account and per address, and refuses at once over a limit
//! (the page answers 429 with `Retry-After`) rather than making anyone wait.
//!
//! Every attempt is counted *before* its password is checked, so a burst of parallel guesses
//! cannot all slip through, and a refusal costs no password hash. A correct password forgives
//! the account's failures and gives its attempt back to the address. An account's budget is
//! small, so guessing one password stops quickly; an address's is ten times larger, so one
//! person guessing at one account does not lock out everyone else behind the same address (an
//! office, a NAT), while someone cycling through many accounts from one address is stopped.
//! Attempts are kept in memory for one window: a restart forgives.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many attempts an account and an address get within a sliding window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_account: 10,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Keys kept before expired ones are swept out (bounds memory under a flood of emails).
const SWEEP_ABOVE: usize = 10_000;

pub struct Throttle {
    limits: Limits,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(Limits::default())
    }
}

/// An attempt that was allowed and counted; [`Throttle::succeeded`] gives it back.
#[derive(Debug)]
pub struct Attempt {
    account: String,
    address: String,
    at: Instant,
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle {
            limits,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt to sign into `account` (a normalised email) from `address`, or
    /// answers how long until the next attempt will be allowed.
    pub fn begin(&self, account: &str, address: &str) -> Result<Attempt, Duration> {
        let now = Instant::now();
        let window = self.limits.window;
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let keys = [
            (account_key(account), self.limits.per_account),
            (address_key(address), self.limits.per_address),
        ];
        let mut wait = Duration::ZERO;
        for (key, limit) in &keys {
            if let Some(times) = map.get_mut(key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
                    times.pop_front();
                }
                if times.len() >= *limit {
                    // The oldest counted attempt leaves the window first.
                    let oldest = times.front().copied().unwrap_or(now);
                    wait = wait.max(window.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for (key, _) in keys {
            map.entry(key).or_default().push_back(now);
        }
        Ok(Attempt {
            account: account.to_string(),
            address: address.to_string(),
            at: now,
        })
    }

    /// The password was right: the account's failures are forgiven, and the address gets
    /// this attempt back (signing in is not guessing).
    pub fn succeeded(&self, attempt: Attempt) {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&account_key(&attempt.account));
        let key = address_key(&attempt.address);
        if let Some(times) = map.get_mut(&key) {
            if let Some(i) = times.iter().position(|t| *t == attempt.at) {
                times.remove(i);
            }
            if times.is_empty() {
                map.remove(&key);
            }
        }
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Throttle {
        Throttle::new(Limits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_account_over_its_budget_is_refused_only_for_itself() {
        let t = small();
        for _ in 0..3 {
            t.begin("ada@x.io", "10.0.0.1").expect("within the budget");
        }
        let wait = t
            .begin("ada@x.io", "10.0.0.1")
            .expect_err("over the account budget");
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        // From another address too: the budget is the account's.
        assert!(t.begin("ada@x.io", "10.0.0.2").is_err());
        // Refusals are not counted: someone else behind the same address still signs in.
        for _ in 0..10 {
            assert!(t.begin("ada@x.io", "10.0.0.1").is_err());
        }
        let bob = t
            .begin("bob@x.io", "10.0.0.1")
            .expect("another account is not blocked");
        t.succeeded(bob);
        assert!(t.begin("bob@x.io", "10.0.0.1").is_ok());
    }

    #[test]
    fn an_address_cycling_through_accounts_is_stopped() {
        let t = small();
        for i in 0..5 {
            t.begin(&format!("user{i}@x.io"), "10.0.0.1")
                .expect("within the budget");
        }
        assert!(
            t.begin("fresh@x.io", "10.0.0.1").is_err(),
            "the address spent its budget"
        );
        assert!(
            t.begin("fresh@x.io", "10.0.0.9").is_ok(),
            "other addresses are not affected"
        );
    }

    #[test]
    fn a_correct_password_forgives_and_gives_the_attempt_back() {
        let t = small();
        t.begin("ada@x.io", "10.0.0.1").unwrap();
        t.begin("ada@x.io", "10.0.0.1").unwrap();
        let ok = t.begin("ada@x.io", "10.0.0.1").unwrap();
        t.succeeded(ok);
        // The account starts afresh; the address holds the two failures only.
        for _ in 0..3 {
            t.begin("ada@x.io", "10.0.0.2").unwrap();
        }
        for other in ["b@x.io", "c@x.io", "d@x.io"] {
            t.begin(other, "10.0.0.1")
                .expect("2 failures + 3 more = the address's 5");
        }
        assert!(t.begin("e@x.io", "10.0.0.1").is_err());
    }

    #[test]
    fn attempts_leave_the_window() {
        let t = Throttle::new(Limits {
            per_account: 1,
            per_address: 10,
            window: Duration::from_millis(50),
        });
        t.begin("ada@x.io", "a").unwrap();
        assert!(t.begin("ada@x.io", "a").is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.begin("ada@x.io", "a").is_ok());
    }
}
