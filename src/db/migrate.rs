//! Migrations at start. One process migrates at a time (an advisory lock on PostgreSQL,
//! SQLite's write lock: two processes started at once on an empty database both created
//! the first tables, and one died, probe 71e D1). No process starts on a database a newer Wharf has migrated: it
//! would write rows without what the newer schema keeps (probe 71e D3).

use diesel::backend::Backend;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::collections::HashSet;

/// The advisory lock key migrations hold on PostgreSQL (any constant; "wharf" in ASCII).
const MIGRATION_LOCK: i64 = 0x77_68_61_72_66;

/// [`apply`] holding the migration lock, released whatever happens.
pub fn apply_locked(conn: &mut PgConnection, migrations: EmbeddedMigrations) -> anyhow::Result<usize> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .map_err(|e| anyhow::anyhow!("migration failed: could not take the migration lock: {e}"))?;
    let done = apply(conn, migrations);
    let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    let applied = done?;
    unlocked.map_err(|e| anyhow::anyhow!("migration failed: could not release the migration lock: {e}"))?;
    Ok(applied)
}

/// [`apply`] holding SQLite's write lock throughout (each migration a savepoint in it).
pub fn apply_sqlite(conn: &mut SqliteConnection, migrations: EmbeddedMigrations) -> anyhow::Result<usize> {
    conn.immediate_transaction(|conn| apply(conn, migrations))
}

/// Refuses a database migrated further than this build knows, then applies what is
/// pending; how many it applied.
pub fn apply<DB, C>(conn: &mut C, migrations: EmbeddedMigrations) -> anyhow::Result<usize>
where
    DB: Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: MigrationSource<DB>,
{
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| anyhow::anyhow!("migration failed: {e}");
    let known: HashSet<String> = MigrationSource::<DB>::migrations(&migrations)
        .map_err(failed)?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied = conn.applied_migrations().map_err(failed)?;
    if let Some(newer) = applied.iter().find(|v| !known.contains(&v.to_string())) {
        anyhow::bail!(
            "the database was migrated by a newer Wharf (its migration {newer} is unknown to this \
             one): run that version of Wharf or a later one; every process on one database runs the \
             same version"
        );
    }
    let applied = conn.run_pending_migrations(migrations).map_err(failed)?;
    for m in &applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(applied.len())
}
