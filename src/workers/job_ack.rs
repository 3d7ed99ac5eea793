//! Fails the jobs no listener acknowledged within `WHARF_JOB_ACK_SECONDS` ("No listener took
//! this job"), so the person who clicked an action hears so instead of waiting forever.

use crate::db::Pool;
use crate::ids::{JobId, SpaceId};
use crate::model::job_subject;
use std::sync::Arc;
use std::time::Duration;

/// Tells the pages showing a job that it moved.
pub type JobMoved = Arc<dyn Fn(&JobId, Option<&SpaceId>) + Send + Sync>;

/// What the loop needs: the pool while the application lives (`None` once it has gone,
/// which ends the loop), how long a job may wait, and who hears about a failed job.
pub struct Context {
    pub pool: Box<dyn Fn() -> Option<Pool> + Send>,
    pub ack_seconds: u64,
    pub announce: JobMoved,
}

/// One pass: fails what waited too long; how many.
pub fn sweep(ctx: &Context, pool: &Pool) -> Result<usize, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let failed =
        job_subject::fail_unacknowledged(&mut conn, ctx.ack_seconds as i64).map_err(|e| e.to_string())?;
    for j in &failed {
        (ctx.announce)(&j.id, j.space_id.as_ref());
    }
    Ok(failed.len())
}

/// Starts the loop on its own thread; it looks a few times per allowed wait (at most every
/// 5 s).
pub fn start(ctx: Context) -> std::io::Result<()> {
    let every = Duration::from_millis((ctx.ack_seconds * 1000 / 4).clamp(200, 5000));
    std::thread::Builder::new()
        .name("wharf-job-ack".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let Some(pool) = (ctx.pool)() else { return };
            match sweep(&ctx, &pool) {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "failed jobs no listener took"),
                Err(e) => tracing::warn!(error = %e, "checking unacknowledged jobs failed"),
            }
        })?;
    Ok(())
}
