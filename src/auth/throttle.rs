//! Limits sign-in attempts per account from one address, per account from everywhere, and
//! per address, and refuses at once over a limit (the page answers 429 with `Retry-After`)
//! rather than making anyone wait.
//!
//! Every attempt is counted *before* its password is checked, so a burst of parallel guesses
//! cannot all slip through, and a refusal costs no password hash. A correct password forgives
//! the account's failures and gives its attempt back to the address. An account's budget from
//! one address is small, so guessing one password stops quickly, and it holds only that
//! address: a stranger who knows an admin's email cannot lock the admin out from elsewhere
//! (the whole account stops only after ten times as many guesses, from many addresses, and
//! even then not for an address it signed in from within 30 days: its owner's). An
//! address's budget is ten times larger too, so one person guessing at one account does not
//! lock out everyone else behind the same address (an office, a NAT), while someone cycling
//! through many accounts from one address is stopped.
//! An IPv6 address counts by its /64, which one machine usually holds whole.
//! Attempts are counted in the database, so several Wharf processes behind one address
//! apply the same limits, and a restart forgives nothing.

use crate::db::AnyConnection;
use crate::model::sign_in_attempt;
use chrono::TimeDelta;
use diesel::QueryResult;
use std::time::Duration;

/// How many attempts an account and an address get within a sliding window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// An account's attempts from one address.
    pub per_account: usize,
    /// An account's attempts from every address together.
    pub per_account_everywhere: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_account: 10,
            per_account_everywhere: 100,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Default)]
pub struct Throttle {
    limits: Limits,
}

/// An attempt that was allowed and counted; [`Throttle::succeeded`] gives it back.
#[derive(Debug)]
pub struct Attempt {
    account: String,
    address: String,
    /// The counted row of the address.
    address_row: i64,
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle { limits }
    }

    /// Counts an attempt to sign into `account` (a normalised email) from `address`, or
    /// answers how long until the next attempt will be allowed.
    pub fn begin(
        &self,
        conn: &mut AnyConnection,
        account: &str,
        address: &str,
    ) -> QueryResult<Result<Attempt, Duration>> {
        let mut keys = vec![
            (address_key(address), self.limits.per_address),
            (pair_key(account, address), self.limits.per_account),
        ];
        // Guesses from everywhere else do not lock the owner out of a known address.
        if !sign_in_attempt::is_known(conn, &known_key(account, address))? {
            keys.push((account_key(account), self.limits.per_account_everywhere));
        }
        let window = TimeDelta::from_std(self.limits.window).unwrap_or(TimeDelta::MAX);
        Ok(match sign_in_attempt::begin(conn, &keys, window)? {
            Ok(ids) => Ok(Attempt {
                account: account.to_string(),
                address: address.to_string(),
                address_row: ids[0],
            }),
            // At least a second, so a client never retries at once.
            Err(wait) => Err(wait.to_std().unwrap_or_default().max(Duration::from_secs(1))),
        })
    }

    /// The password was right: the account's failures are forgiven, and the address gets
    /// this attempt back (signing in is not guessing).
    pub fn succeeded(&self, conn: &mut AnyConnection, attempt: Attempt) -> QueryResult<()> {
        let keys = [
            pair_key(&attempt.account, &attempt.address),
            account_key(&attempt.account),
        ];
        sign_in_attempt::forgive(conn, &keys, attempt.address_row)?;
        sign_in_attempt::remember(conn, &known_key(&attempt.account, &attempt.address))
    }
}

/// The address a sign-in is counted under: an IPv4 address whole, an IPv6 one by its /64
/// (a machine or a home network holds a whole /64, so counting single addresses would give
/// it 2^64 budgets).
pub fn address_of(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        v4 => v4.to_string(),
    }
}

fn known_key(account: &str, address: &str) -> String {
    format!("{}{account} from:{address}", sign_in_attempt::KNOWN_PREFIX)
}

fn pair_key(account: &str, address: &str) -> String {
    format!("account:{account} from:{address}")
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

    /// A fresh database for each test, as the app opens it.
    fn db() -> (tempfile::TempDir, crate::db::PooledConn) {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let pool = crate::db::build_pool(&url, 1).expect("pool");
        let mut conn = pool.get().expect("conn");
        crate::db::run_migrations(&mut conn).expect("migrations");
        (dir, conn)
    }

    fn small() -> Throttle {
        Throttle::new(Limits {
            per_account: 3,
            per_account_everywhere: 5,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_account_over_its_budget_is_refused_only_for_itself() {
        let (_dir, mut c) = db();
        let t = small();
        for _ in 0..3 {
            t.begin(&mut c, "ada@x.io", "10.0.0.1")
                .unwrap()
                .expect("within the budget");
        }
        let wait = t
            .begin(&mut c, "ada@x.io", "10.0.0.1")
            .unwrap()
            .expect_err("over the account budget");
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        // From another address the account is not locked (a stranger cannot lock it out)...
        let own = t
            .begin(&mut c, "ada@x.io", "10.0.0.2")
            .unwrap()
            .expect("from elsewhere");
        t.begin(&mut c, "ada@x.io", "10.0.0.3")
            .unwrap()
            .expect("from elsewhere");
        // ... until guesses from everywhere spend its whole budget.
        assert!(t.begin(&mut c, "ada@x.io", "10.0.0.4").unwrap().is_err());
        drop(own);
        // Refusals are not counted: someone else behind the same address still signs in.
        for _ in 0..10 {
            assert!(t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().is_err());
        }
        let bob = t
            .begin(&mut c, "bob@x.io", "10.0.0.1")
            .unwrap()
            .expect("another account is not blocked");
        t.succeeded(&mut c, bob).unwrap();
        assert!(t.begin(&mut c, "bob@x.io", "10.0.0.1").unwrap().is_ok());
    }

    #[test]
    fn an_address_cycling_through_accounts_is_stopped() {
        let (_dir, mut c) = db();
        let t = small();
        for i in 0..5 {
            t.begin(&mut c, &format!("user{i}@x.io"), "10.0.0.1")
                .unwrap()
                .expect("within the budget");
        }
        assert!(
            t.begin(&mut c, "fresh@x.io", "10.0.0.1").unwrap().is_err(),
            "the address spent its budget"
        );
        assert!(
            t.begin(&mut c, "fresh@x.io", "10.0.0.9").unwrap().is_ok(),
            "other addresses are not affected"
        );
    }

    #[test]
    fn a_correct_password_forgives_and_gives_the_attempt_back() {
        let (_dir, mut c) = db();
        let t = small();
        t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().unwrap();
        t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().unwrap();
        let ok = t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().unwrap();
        t.succeeded(&mut c, ok).unwrap();
        // The account starts afresh; the address holds the two failures only.
        for _ in 0..3 {
            t.begin(&mut c, "ada@x.io", "10.0.0.2").unwrap().unwrap();
        }
        for other in ["b@x.io", "c@x.io", "d@x.io"] {
            t.begin(&mut c, other, "10.0.0.1")
                .unwrap()
                .expect("2 failures + 3 more = the address's 5");
        }
        assert!(t.begin(&mut c, "e@x.io", "10.0.0.1").unwrap().is_err());
    }

    #[test]
    fn guesses_from_everywhere_do_not_lock_the_owner_out_of_a_known_address() {
        let (_dir, mut c) = db();
        let t = small();
        let own = t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().unwrap();
        t.succeeded(&mut c, own).unwrap();
        // A stranger spends the account's whole budget from five addresses.
        for i in 2..7 {
            t.begin(&mut c, "ada@x.io", &format!("10.0.0.{i}"))
                .unwrap()
                .unwrap();
        }
        assert!(
            t.begin(&mut c, "ada@x.io", "10.0.0.8").unwrap().is_err(),
            "a new address is refused"
        );
        let back = t
            .begin(&mut c, "ada@x.io", "10.0.0.1")
            .unwrap()
            .expect("the owner's known address still gets in");
        t.succeeded(&mut c, back).unwrap();
        // The known address's own budget still stops guessing from it.
        for _ in 0..3 {
            t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().unwrap();
        }
        assert!(t.begin(&mut c, "ada@x.io", "10.0.0.1").unwrap().is_err());
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: std::net::IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_of(a), address_of(b));
        assert_ne!(address_of(a), address_of(c));
        assert_eq!(address_of("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(address_of("10.0.0.1".parse().unwrap()), "10.0.0.1");
    }

    #[test]
    fn attempts_leave_the_window() {
        let (_dir, mut c) = db();
        let t = Throttle::new(Limits {
            per_account: 1,
            per_account_everywhere: 10,
            per_address: 10,
            window: Duration::from_millis(50),
        });
        t.begin(&mut c, "ada@x.io", "a").unwrap().unwrap();
        assert!(t.begin(&mut c, "ada@x.io", "a").unwrap().is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.begin(&mut c, "ada@x.io", "a").unwrap().is_ok());
    }
}
