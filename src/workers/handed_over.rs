//! Deletes the bytes other processes handed over to this one: a file deleted through a
//! process that cannot read its bytes (another data folder, or a bucket it does not use)
//! leaves their keys for the holder (`model::file::hand_over`), and the holder deletes them
//! here, every few seconds.

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

/// At start: claims the files whose bytes this folder holds but that record no folder
/// (uploaded before folders had ids), so deletes through other processes reach them; and
/// says when deletes wait for a folder no process has taken for an hour (a retired
/// process, or a folder whose `holder-id` was lost or copied).
pub fn at_start(pool: &Pool, storage: &Storage) -> Result<(), String> {
    let Some(holder) = storage.holder() else {
        return Ok(());
    };
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let ids = storage.local_file_ids();
    let claimed = file::claim_unrecorded(&mut conn, &ids, &holder).map_err(|e| e.to_string())?;
    if claimed > 0 {
        tracing::info!(
            claimed,
            holder,
            "recorded this data folder as the holder of its files"
        );
    }
    for (other, files) in file::recorded_elsewhere(&mut conn, &ids, &holder).map_err(|e| e.to_string())? {
        tracing::warn!(
            folder = other,
            files,
            holder,
            "files in this data folder are recorded as held by another folder id: if this is \
             that folder, its storage/holder-id was lost (write that id back while the process \
             is stopped); deletes through other processes do not reach these bytes meanwhile"
        );
    }
    for (other, files) in unreadable_here(&mut conn, storage, &holder).map_err(|e| e.to_string())? {
        tracing::warn!(
            kept_in = other,
            files,
            this_process = holder,
            "files of this database are kept where this process cannot read them ({}): processes \
             on one database should all use the same WHARF_STORAGE_URL (a bucket), or all keep \
             files in their data folders; this process answers 503 for those files' bytes",
            crate::storage::held_where(&other)
        );
    }
    let hour_ago = crate::model::now() - chrono::Duration::hours(1);
    for (other, waiting) in
        file::handed_over_waiting(&mut conn, &holder, hour_ago).map_err(|e| e.to_string())?
    {
        tracing::warn!(
            folder = other,
            waiting,
            "deletes of file bytes wait for {} that no running process has taken for an hour; \
             start a process that keeps its files there, or delete those bytes by hand",
            crate::storage::held_where(&other)
        );
    }
    for (other, waiting) in crate::model::submission::waiting_elsewhere(&mut conn, &holder, hour_ago)
        .map_err(|e| e.to_string())?
    {
        tracing::warn!(
            folder = other,
            waiting,
            "submissions have waited an hour for the data folder holding their frozen records; \
             only the process whose storage/holder-id says so delivers them"
        );
    }
    Ok(())
}

/// The database's files kept where this process (holding `holder`) cannot read them, by
/// holder, with how many. A holder whose files this store reads after all (the same bucket
/// under another endpoint's name) is not among them (probe 71e D2: the warning told an
/// admin to change processes that worked). Blocking: asks the store.
pub fn unreadable_here(
    conn: &mut crate::db::AnyConnection,
    storage: &Storage,
    holder: &str,
) -> diesel::QueryResult<Vec<(String, i64)>> {
    let mut unreadable = Vec::new();
    for (other, files) in file::kept_where_unreadable(conn, holder)? {
        let keys = file::some_keys_held_by(conn, &other)?;
        if !keys.iter().any(|key| storage.exists(key)) {
            unreadable.push((other, files));
        }
    }
    Ok(unreadable)
}

/// Starts the loop on its own thread; it ends once the application has gone (`pool` gives
/// `None`).
pub fn start(pool: impl Fn() -> Option<(Pool, Storage)> + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wharf-handed-over".into())
        .spawn(move || {
            let mut started = false;
            loop {
                let Some((pool, storage)) = pool() else { return };
                if storage.holder().is_none() {
                    return;
                }
                if !started {
                    // Tried again at the next round when it fails (probe 61b D1).
                    match at_start(&pool, &storage) {
                        Ok(()) => started = true,
                        Err(e) => tracing::warn!(error = %e, "claiming this data folder's files failed; trying again shortly"),
                    }
                }
                match sweep(&pool, &storage) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "deleted bytes of files deleted through other processes"),
                    Err(e) => tracing::warn!(error = %e, "looking for handed-over bytes failed"),
                }
                drop((pool, storage));
                std::thread::sleep(EVERY);
            }
        })?;
    Ok(())
}
