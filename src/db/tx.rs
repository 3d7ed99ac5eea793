//! Write transactions. On SQLite a transaction that reads first and writes later fails at
//! once with "database is locked" when another writer committed in between (its snapshot
//! is stale, and waiting cannot help). So every write transaction takes the write lock
//! when it begins (`BEGIN IMMEDIATE`), waiting its turn behind the busy timeout; readers
//! never wait (WAL). PostgreSQL needs nothing more here: row locks are taken where a
//! write depends on what it read (see `model::sheet::lock_for_write`).
//!
//! SQLite's own wait is a poll: a waiter sleeps up to 100 ms between tries, and a job that
//! writes batch after batch takes the lock again within microseconds of releasing it, so a
//! save could miss every gap and fail after the busy timeout. The writers of this process
//! therefore take turns in the order they asked ([`WriteTurn`]) before asking SQLite.

use super::AnyConnection;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error};
use std::cell::Cell;
use std::panic::Location;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

type Manager = <AnyConnection as Connection>::TransactionManager;

/// Runs `f` in a write transaction (a savepoint when one is already open).
#[track_caller]
pub fn write_tx<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(sqlite) = conn else {
        if !SERVING_REQUEST.with(Cell::get) {
            return conn.transaction(f);
        }
        // A request waits for row locks as long as a SQLite writer waits for its turn,
        // then answers busy (503, retry): parked behind a long field change, writers
        // would otherwise hold the pool's connections until nothing else got one.
        return conn.transaction(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute(&format!(
                "SET LOCAL lock_timeout = {}",
                request_wait().as_millis()
            ))?;
            f(conn)
        });
    };
    let depth = AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    let mut turn = WriteTurn::take(queue_of(sqlite))?;
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            let committing = Instant::now();
            Manager::commit_transaction(conn)?;
            turn.commit = committing.elapsed();
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Runs the reads of `f` on one snapshot of the database: a sheet's fields and its records
/// read together always agree, though a field change (which rewrites every record's values)
/// commits between two of them. SQLite: a deferred transaction (its snapshot is taken at
/// its first read); PostgreSQL: `REPEATABLE READ`. Inside an open transaction, `f` runs in
/// it.
pub fn read_snapshot<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let open = match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
        AnyConnection::Postgres(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
    };
    if open.is_some() {
        return f(conn);
    }
    match conn {
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED")?,
        AnyConnection::Postgres(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ")?
        }
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Runs a short write (a statement or a few) in the caller's transaction when one is open,
/// else, on SQLite, in a write transaction of its own so that it takes its turn with the
/// others (a lone statement would poll for SQLite's lock, and could starve). PostgreSQL
/// runs it as it comes, in a transaction of its own (or a savepoint) when a request's, so
/// that it waits for row locks no longer than [`write_tx`] lets a request.
#[track_caller]
pub fn write<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(sqlite) = conn else {
        // A request's short write waits for locks no longer than its transactions do
        // (inside one, the transaction's limit holds already).
        let in_tx = match conn {
            AnyConnection::Postgres(pg) => AnsiTransactionManager::transaction_manager_status_mut(pg)
                .transaction_depth()?
                .is_some(),
            AnyConnection::Sqlite(_) => false,
        };
        return match SERVING_REQUEST.with(Cell::get) && !in_tx {
            true => write_tx(conn, f),
            false => f(conn),
        };
    };
    if AnsiTransactionManager::transaction_manager_status_mut(sqlite)
        .transaction_depth()?
        .is_some()
    {
        return f(conn);
    }
    write_tx(conn, f)
}

/// Runs `f` as a request's database work (see [`write_tx`]).
pub fn serving_request<T>(f: impl FnOnce() -> T) -> T {
    with_flag(&SERVING_REQUEST, f)
}

/// Runs `f` with this thread's `flag` set, put back as it was after (a panic too).
fn with_flag<T>(flag: &'static std::thread::LocalKey<Cell<bool>>, f: impl FnOnce() -> T) -> T {
    struct Reset(&'static std::thread::LocalKey<Cell<bool>>, bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            self.0.with(|s| s.set(self.1));
        }
    }
    let _reset = Reset(flag, flag.with(|s| s.replace(true)));
    f()
}

/// How long a writer waits for its turn: SQLite's busy timeout (`db::Manager::connect`).
const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a background writer (a job's batch) waits for its turn.
const BACKGROUND_TURN_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a patient request ([`patiently`]) waits for its turn.
const PATIENT_TURN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long this request's writes wait for their turn.
fn request_wait() -> Duration {
    match PATIENT.with(Cell::get) {
        true => PATIENT_TURN_TIMEOUT,
        false => TURN_TIMEOUT,
    }
}

/// Runs a request's database work whose writes wait up to a minute for their turn rather
/// than answer busy after 10 s: a record hook's answer, which the published plugin does
/// not send again (three 10,000-record answers at once, the third waited past 10 s and
/// was lost). Such answers are few (one per commit) and their commits wait for them.
pub fn patiently<T>(f: impl FnOnce() -> T) -> T {
    with_flag(&PATIENT, f)
}

/// The queues of this process's SQLite writers, one per database file: a fair lock hands
/// itself to the writer that has waited longest. A server opens one database; tests open
/// many, and one held database must not stall the writers of another.
static QUEUES: LazyLock<parking_lot::Mutex<Vec<(String, &'static Queue)>>> = LazyLock::new(Default::default);

type Queue = parking_lot::FairMutex<()>;

diesel::define_sql_function! {
    /// Which of [`QUEUES`] this connection's writers wait in (registered per connection).
    fn wharf_write_queue() -> diesel::sql_types::BigInt;
}

/// Gives a new connection to the SQLite database `target` its writers' queue.
pub fn register_queue(conn: &mut diesel::SqliteConnection, target: &str) -> diesel::QueryResult<()> {
    let mut queues = QUEUES.lock();
    let index = match queues.iter().position(|(t, _)| t == target) {
        Some(i) => i,
        None => {
            queues.push((target.to_string(), Box::leak(Box::new(Queue::new(())))));
            queues.len() - 1
        }
    };
    wharf_write_queue_utils::register_impl(conn, move || index as i64)
}

/// The queue of the connection's database (connections made without one share a queue of
/// their own).
fn queue_of(conn: &mut diesel::SqliteConnection) -> &'static Queue {
    use diesel::RunQueryDsl;
    static UNREGISTERED: Queue = Queue::new(());
    let index: Option<i64> = diesel::select(wharf_write_queue()).get_result(conn).ok();
    let queues = QUEUES.lock();
    index
        .and_then(|i| queues.get(usize::try_from(i).ok()?))
        .map_or(&UNREGISTERED, |(_, q)| *q)
}

thread_local! {
    /// Whether this thread is doing a request's database work (jobs wait for their locks
    /// as long as it takes: a batch given up would fail the job).
    static SERVING_REQUEST: Cell<bool> = const { Cell::new(false) };
    /// Whether this thread holds the turn (a write transaction on another connection of the
    /// same thread then fails after the timeout, as it would waiting on SQLite's lock).
    static HOLDS_TURN: Cell<bool> = const { Cell::new(false) };
    static PATIENT: Cell<bool> = const { Cell::new(false) };
}

/// A writer's turn, held for its whole transaction.
pub struct WriteTurn {
    _guard: parking_lot::FairMutexGuard<'static, ()>,
    since: Instant,
    by: &'static Location<'static>,
    /// How long its commit took (copying the log back into the database happens there).
    commit: Duration,
}

/// A turn held longer than this is logged with where it was taken: every other writer,
/// people's saves included, waited that long.
const LONG_TURN: Duration = Duration::from_secs(2);

impl WriteTurn {
    /// Waits for this writer's turn, or fails as busy after the timeout.
    #[track_caller]
    fn take(queue: &'static Queue) -> Result<WriteTurn, Error> {
        // A request answers busy (503, retry) after the timeout; a job's batch waits longer,
        // as on PostgreSQL: given up, it would fail the job (seen on a loaded machine). A
        // thread holding a turn already would wait for itself, so it fails as a request.
        let background = !SERVING_REQUEST.with(Cell::get) && !HOLDS_TURN.with(Cell::get);
        let wait = if background {
            BACKGROUND_TURN_TIMEOUT
        } else {
            request_wait()
        };
        let guard = queue.try_lock_for(wait).ok_or_else(|| {
            Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(String::from(
                    "database is locked (no write turn within the busy timeout)",
                )),
            )
        })?;
        HOLDS_TURN.with(|h| h.set(true));
        Ok(WriteTurn {
            _guard: guard,
            since: Instant::now(),
            by: Location::caller(),
            commit: Duration::ZERO,
        })
    }

    /// Whether the calling thread holds a turn.
    pub fn held() -> bool {
        HOLDS_TURN.with(Cell::get)
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        HOLDS_TURN.with(|h| h.set(false));
        let held = self.since.elapsed();
        if held > LONG_TURN {
            tracing::warn!(
                held_ms = held.as_millis() as u64,
                commit_ms = self.commit.as_millis() as u64,
                at = %self.by, "a write transaction held SQLite's lock");
        }
    }
}

/// Whether an error means the database stayed busy past the wait: SQLite's write lock
/// held too long, or a PostgreSQL lock or deadlock timeout. Such a request is worth retrying.
pub fn is_busy(e: &diesel::result::Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("database is locked")
                || m.contains("database table is locked")
                || m.contains("deadlock detected")
                || m.contains("lock timeout")
        }
        _ => false,
    }
}

/// Whether an error means the database connection was lost before an answer (PostgreSQL
/// restarted or shut down): nothing of the statement was committed, so the request is worth
/// retrying (probe 68d D2: such writes answered 500, which clients take for a bug).
pub fn is_disconnected(e: &diesel::result::Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("terminating connection due to administrator command")
                || m.contains("server closed the connection unexpectedly")
                || m.contains("no connection to the server")
                || m.contains("the database system is shutting down")
                || m.contains("the database system is starting up")
                || m.contains("could not receive data from server")
        }
        _ => false,
    }
}

/// PostgreSQL: holds, until the transaction ends, the right to write `key` of a kind
/// (`kind` tells kinds apart), so a find-then-insert by a unique name (a guest's email, a
/// space config's slug) finds what another writer just made instead of breaking the unique
/// index. SQLite's write lock already does this.
pub fn one_writer_of(conn: &mut AnyConnection, kind: i32, key: &str) -> diesel::QueryResult<()> {
    if let AnyConnection::Postgres(pg) = conn {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<diesel::sql_types::Integer, _>(kind)
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}
