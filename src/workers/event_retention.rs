//! Deletes events (and commits) older than `WHARF_EVENT_RETENTION_DAYS`, at start and every hour, in
//! batches so no transaction holds the table for long; and, as often, the indexes of sheets
//! deleted since (each index costs the records table's writes), and temp files left by a
//! process that was killed.

use crate::db::{AnyConnection, Pool};
use crate::model::{commit, event, now};
use crate::storage::Storage;
use std::time::{Duration, Instant};

/// Events deleted per statement: a short transaction each.
const BATCH: i64 = 5_000;
const EVERY: Duration = Duration::from_secs(3600);
/// How often the loop looks whether the application is still there.
const TICK: Duration = Duration::from_secs(5);

/// Deletes every event older than `days` days; how many went.
pub fn prune(conn: &mut AnyConnection, days: i64) -> diesel::QueryResult<usize> {
    let cutoff = now() - chrono::Duration::days(days);
    let mut total = 0;
    // Commits are kept as long as the events that name them.
    while commit::prune_batch(conn, cutoff, BATCH)? as i64 == BATCH {}
    loop {
        let n = event::prune_batch(conn, cutoff, BATCH)?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// Starts the loop on its own thread. `pool` gives the pool while the application lives
/// and `None` once it has gone, which ends the loop (it holds no connection in between).
/// Temp files nobody wrote for this long are a killed process's leftovers.
const TEMP_KEPT: Duration = Duration::from_secs(3600);

pub fn start(pool: impl Fn() -> Option<(Pool, Storage)> + Send + 'static, days: i64) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wharf-event-retention".into())
        .spawn(move || {
            let mut next = Instant::now();
            loop {
                let Some((pool, storage)) = pool() else { return };
                if Instant::now() >= next {
                    next = Instant::now() + EVERY;
                    crate::workers::indexes::drop_orphans(&pool);
                    let swept = storage.sweep_temp(TEMP_KEPT);
                    if swept > 0 {
                        tracing::info!(swept, "removed temp files left by stopped processes");
                    }
                    match pool
                        .get()
                        .map_err(|e| e.to_string())
                        .and_then(|mut c| prune(&mut c, days).map_err(|e| e.to_string()))
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(n, days, "deleted old events"),
                        Err(e) => {
                            tracing::warn!(error = %e, "deleting old events failed; trying again in an hour")
                        }
                    }
                }
                drop(pool);
                std::thread::sleep(TICK);
            }
        })?;
    Ok(())
}
