//! Database access: one connection type over SQLite and PostgreSQL, a pool, and migrations.

pub mod batch_size;
pub mod budget;
mod checkpoint;
mod key_order;
mod migrate;
pub mod schema;
pub mod sqlite_config;
pub mod sqlite_file;
pub mod sqlite_functions;
mod tx;

pub use key_order::in_key_order;
pub use tx::{
    is_busy, is_disconnected, one_writer_of, patiently, read_snapshot, serving_request, write, write_tx,
    WriteTurn,
};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection, for the few statements
/// (batch inserts, RETURNING, raw SQL) the portable backend cannot express.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgres($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` or `postgresql://` is PostgreSQL; `sqlite://`, `file:` or a plain path is SQLite.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") || url.starts_with("file:") || !url.contains("://") {
            Ok(Backend::Sqlite)
        } else {
            Err(format!(
                "`{}` is neither a postgres:// URL nor a SQLite path",
                url.split('@').next_back().unwrap_or(url)
            ))
        }
    }
}

/// Opens connections of the backend chosen by the URL (never by trial and error).
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
    target: String,
    /// A SQLite file's checkpoints run while the manager (the pool) lives.
    checkpoints: Option<std::sync::Arc<()>>,
}

impl Manager {
    pub fn new(url: &str) -> Result<Self, String> {
        let backend = Backend::from_url(url)?;
        let target = match backend {
            Backend::Sqlite => url
                .strip_prefix("sqlite://")
                .or(url.strip_prefix("sqlite:"))
                .unwrap_or(url)
                .to_string(),
            Backend::Postgres => url.to_string(),
        };
        let mut manager = Manager {
            backend,
            target,
            checkpoints: None,
        };
        if backend == Backend::Sqlite {
            sqlite_config::configure();
        }
        manager.checkpoints = manager
            .sqlite_path()
            .map(|path| checkpoint::start(&path.to_string_lossy()));
        Ok(manager)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file, if any (none in memory), so its folder can be created first.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        (self.backend == Backend::Sqlite)
            .then(|| sqlite_file::file_of(&self.target))
            .flatten()
    }
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<AnyConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.target).map(AnyConnection::Postgres),
            Backend::Sqlite => {
                budget::install();
                let mut conn = SqliteConnection::establish(&self.target)?;
                // WAL lets readers run beside the writer; busy_timeout waits instead of failing.
                // busy_timeout comes first: switching to WAL takes a lock that other new
                // connections of the pool may hold for a moment.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                // A file's checkpoints are the checkpoint thread's, off the writes' path.
                if self.checkpoints.is_some() {
                    conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                }
                sqlite_functions::register(&mut conn).map_err(ConnectionError::CouldntSetupConfiguration)?;
                tx::register_queue(&mut conn, &self.target)
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// A connection left inside a transaction (a panic mid-write) is not reused.
    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Builds the pool, creating the SQLite file (and its folder) when needed.
pub fn build_pool(url: &str, size: u32) -> anyhow::Result<Pool> {
    let manager = Manager::new(url).map_err(anyhow::Error::msg)?;
    if let Some(path) = manager.sqlite_path() {
        sqlite_file::prepare(&path)?;
    }
    if manager.backend() == Backend::Sqlite {
        // Switch a new file to WAL once, before the pool opens its connections side by side.
        drop(manager.connect()?);
    }
    // SQLite allows one writer at a time; a few connections are enough and avoid lock churn.
    let size = match manager.backend() {
        Backend::Sqlite => size.min(8),
        Backend::Postgres => size,
    };
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)?;
    Ok(pool)
}

/// Applies every pending migration of the connection's backend.
/// How many it applied.
pub fn run_migrations(conn: &mut AnyConnection) -> anyhow::Result<usize> {
    match conn {
        AnyConnection::Sqlite(c) => migrate::apply_sqlite(c, SQLITE_MIGRATIONS),
        AnyConnection::Postgres(c) => migrate::apply_locked(c, POSTGRES_MIGRATIONS),
    }
}

/// Reverts every applied migration (used by the up/down/up test).
pub fn revert_all_migrations(conn: &mut AnyConnection) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        AnyConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))
}

/// Which backend a live connection talks to.
pub fn backend_of(conn: &AnyConnection) -> Backend {
    match conn {
        AnyConnection::Sqlite(_) => Backend::Sqlite,
        AnyConnection::Postgres(_) => Backend::Postgres,
    }
}
