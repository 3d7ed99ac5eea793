//! Argon2id password hashing. Requests use [`hash_bounded`] and [`verify_bounded`]: slow on
//! purpose, they run off the async threads and outside any database connection, a few at a
//! time.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Hashes under way at once: one a core. Each takes about 19 MiB and a core for tens of
/// milliseconds, so a flood of sign-ins waits here rather than taking every core and the
/// memory, or the database connections it once held while hashing (probe 63b D9).
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// [`hash`], off the async threads, a few at a time.
pub async fn hash_bounded(password: String) -> anyhow::Result<String> {
    let _turn = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// [`verify`], off the async threads, a few at a time.
pub async fn verify_bounded(password: String, stored: Option<String>) -> bool {
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Stands in for an unknown user's hash, with the default parameters, so it costs as much.
const DUMMY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3j4zZ0m8b6ZlYl3mP2yKq7lVt3kS0p8ImEkR1bZ8m8Q";

/// Checks a password against a stored hash. With no hash (unknown user) it still spends one
/// hash, so the answer takes as long either way.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let target = stored.unwrap_or(DUMMY);
    let Ok(parsed) = PasswordHash::new(target) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

/// A password must be long enough to be worth hashing.
pub fn check_strength(password: &str) -> Result<(), String> {
    // Spaces and invisible characters (zero-width spaces, joiners, soft hyphens) add nothing.
    let invisible = |c: &char| {
        c.is_whitespace()
            || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
    };
    if password.chars().filter(|c| !invisible(c)).count() < 10 {
        return Err("a password needs at least 10 visible characters other than spaces".into());
    }
    // `aaaaaaaaaaaa` and `ababababab` are the first guesses (probe 63b N2).
    let distinct: std::collections::HashSet<char> = password.chars().filter(|c| !invisible(c)).collect();
    if distinct.len() < 5 {
        return Err("a password needs at least 5 different characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_do_not_count_toward_a_password() {
        assert!(check_strength("          ").is_err());
        assert!(check_strength("a b c d e f g h i").is_err());
        assert!(check_strength(&"\u{200B}".repeat(12)).is_err());
        assert!(check_strength("correct horse battery").is_ok());
        assert!(check_strength("aaaaaaaaaaaa").is_err());
        assert!(check_strength("abababababab").is_err());
        assert!(check_strength("abcdeabcde").is_ok());
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("wrong horse battery", Some(&h)));
        assert!(!verify("correct horse battery", None));
        assert!(check_strength("short").is_err());
        // An unknown user must still cost one hash: the stand-in has to parse.
        assert!(PasswordHash::new(DUMMY).is_ok());
    }
}
