//! Process-wide SQLite settings, set once before its first connection opens.
//!
//! Every connection is used by one thread at a time (the pool hands it out; diesel's
//! connection is not `Sync`), so SQLite's own locking of each connection on every call
//! (its default "serialized" mode) is pure cost, and so is the global mutex it takes on
//! every allocation to keep memory statistics nobody reads. A profile of a mapping had
//! 7.5% of its samples locking and unlocking those mutexes.

use libsqlite3_sys as ffi;
use std::ffi::c_int;

/// Multi-thread mode and no memory statistics. Must run before SQLite initializes (the
/// first connection, or `sqlite3_auto_extension`); later it changes nothing (SQLite
/// refuses with `SQLITE_MISUSE`), which is only slower, never wrong.
pub fn configure() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: both options take the arguments given; called before SQLite is
        // initialized, as `sqlite3_config` requires (otherwise it refuses, and the default
        // stays).
        let threads = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD) };
        let stats = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if threads != ffi::SQLITE_OK || stats != ffi::SQLITE_OK {
            tracing::debug!(
                threads,
                stats,
                "SQLite was initialized first: its default locking stays"
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use libsqlite3_sys as ffi;

    /// A connection opened after `configure` has no mutex of its own. Run in a child
    /// process of this test binary: in this one another test may have opened SQLite first.
    #[test]
    fn connections_run_without_sqlite_locking_each_call() {
        if std::env::var_os("WHARF_SQLITE_CONFIG_CHILD").is_none() {
            let status = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "db::sqlite_config::tests::connections_run_without_sqlite_locking_each_call",
                ])
                .arg("--test-threads=1")
                .env("WHARF_SQLITE_CONFIG_CHILD", "1")
                .status()
                .unwrap();
            assert!(status.success(), "the child test failed: {status}");
            return;
        }
        super::configure();
        let mut db = std::ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE;
        // SAFETY: a fresh in-memory database; the handle is closed before the test ends.
        unsafe {
            assert_eq!(
                ffi::sqlite3_open_v2(c":memory:".as_ptr(), &mut db, flags, std::ptr::null()),
                ffi::SQLITE_OK
            );
            let mutex = ffi::sqlite3_db_mutex(db);
            ffi::sqlite3_close(db);
            assert!(
                mutex.is_null(),
                "a connection in multi-thread mode has no mutex of its own"
            );
        }
    }
}
