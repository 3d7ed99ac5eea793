//! A time budget for reads people ask for (record pages, counts, a field's values): a
//! query that would scan a big sheet for long (a hundred `like` conditions, say) is stopped
//! when its budget is spent instead of holding a connection for minutes. Writes, jobs and
//! index builds have no budget.
//!
//! SQLite: every connection gets a progress handler (through `sqlite3_auto_extension`, as
//! diesel keeps its handle to itself) that interrupts the statement running on a thread
//! whose budget has passed. PostgreSQL: `statement_timeout` for the time of the read.

use super::AnyConnection;
use diesel::connection::SimpleConnection;
use diesel::result::Error;
use libsqlite3_sys as ffi;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::time::{Duration, Instant};

thread_local! {
    /// When the read running on this thread must stop; `None` outside a budgeted read.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Set when the handler stopped a statement of this thread for its budget.
    static STOPPED: Cell<bool> = const { Cell::new(false) };
}

/// How many of SQLite's virtual machine steps run between two looks at the clock (a few
/// tens of microseconds).
const STEPS: c_int = 20_000;

unsafe extern "C" fn over_budget(_: *mut c_void) -> c_int {
    match DEADLINE.with(Cell::get) {
        Some(deadline) if Instant::now() >= deadline => {
            STOPPED.with(|s| s.set(true));
            1
        }
        _ => 0,
    }
}

unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite calls this with the handle of the connection being opened.
    unsafe { ffi::sqlite3_progress_handler(db, STEPS, Some(over_budget), std::ptr::null_mut()) };
    ffi::SQLITE_OK
}

/// Gives every SQLite connection opened from now on the budget's progress handler.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `on_open` has the entry point's signature and lives for the process.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "SQLite reads run without a time budget");
        }
    });
}

/// Whether the budgeted read running on this thread has spent its budget: SQL functions
/// that may take long on one row (FFQL's `like` on big cells) look, as the progress handler
/// counts only SQLite's own steps.
pub fn spent() -> bool {
    match DEADLINE.with(Cell::get) {
        Some(deadline) if Instant::now() >= deadline => {
            STOPPED.with(|s| s.set(true));
            true
        }
        _ => false,
    }
}

/// What a budgeted read came to.
#[derive(Debug)]
pub enum Budgeted<T, E> {
    Done(Result<T, E>),
    /// Stopped when its budget was spent.
    OverBudget,
}

/// Runs the read `f` on `conn` within `budget`.
pub fn within<T, E: From<Error>>(
    conn: &mut AnyConnection,
    budget: Duration,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Budgeted<T, E> {
    match conn {
        AnyConnection::Sqlite(_) => {
            STOPPED.with(|s| s.set(false));
            DEADLINE.with(|d| d.set(Some(Instant::now() + budget)));
            let _clear = Clear;
            let result = f(conn);
            // Stopped by the handler (the statement failed), or a SQL function gave up
            // after the deadline ([`spent`]: what it answered since is not to be trusted).
            match STOPPED.with(Cell::get) {
                true => Budgeted::OverBudget,
                false => Budgeted::Done(result),
            }
        }
        AnyConnection::Postgres(_) => {
            let ms = budget.as_millis().max(1);
            if let Err(e) = conn.batch_execute(&format!("SET statement_timeout = {ms}")) {
                return Budgeted::Done(Err(e.into()));
            }
            let started = Instant::now();
            let result = f(conn);
            // RESET, not 0: back to what the server or role sets, if anything.
            let reset = conn.batch_execute("RESET statement_timeout");
            match reset {
                Err(e) => Budgeted::Done(Err(e.into())),
                // A statement canceled for its timeout is the error that ends a read
                // after its budget.
                Ok(()) if result.is_err() && started.elapsed() >= budget => Budgeted::OverBudget,
                Ok(()) => Budgeted::Done(result),
            }
        }
    }
}

/// Clears this thread's deadline however the read ends.
struct Clear;

impl Drop for Clear {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(None));
    }
}
