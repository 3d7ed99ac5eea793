//! Deletes the bytes other processes handed over to this one: without a bucket, a file
//! deleted through a process whose data folder does not hold its bytes leaves their keys for
//! the holder (`model::file::hand_over`), and the holder deletes them here, every few seconds.

use crate::db::Pool;
use crate::model::file;
use crate::storage::Storage;
use std::time::Duration;

/// How often the loop looks for handed-over keys.
const EVERY: Duration = Duration::from_secs(5);
/// Keys deleted per look.
const BATCH: i64 = 200;

/// Deletes the bytes of up to a batch of keys handed over to `storage`'s folder, then their
/// rows; how many went. A key whose delete fails stays for the next look.
pub fn sweep(pool: &Pool, storage: &Storage) -> Result<usize, String> {
    let Some(holder) = storage.holder() else {
        return Ok(0);
    };
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let keys = file::handed_to(&mut conn, &holder, BATCH).map_err(|e| e.to_string())?;
    let mut gone = 0;
    for key in keys {
        match storage.delete_blocking(&key) {
            Ok(()) => {
                file::handed_over_done(&mut conn, &holder, &key).map_err(|e| e.to_string())?;
                gone += 1;
            }
            Err(e) => tracing::warn!(error = %e, key, "deleting handed-over bytes failed"),
        }
    }
    Ok(gone)
}

/// Starts the loop on its own thread; it ends once the application has gone (`pool` gives
/// `None`). Nothing to do with a bucket, which every process deletes from.
pub fn start(pool: impl Fn() -> Option<(Pool, Storage)> + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wharf-handed-over".into())
        .spawn(move || loop {
            let Some((pool, storage)) = pool() else { return };
            if storage.holder().is_none() {
                return;
            }
            match sweep(&pool, &storage) {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "deleted bytes of files deleted through other processes"),
                Err(e) => tracing::warn!(error = %e, "looking for handed-over bytes failed"),
            }
            drop((pool, storage));
            std::thread::sleep(EVERY);
        })?;
    Ok(())
}
