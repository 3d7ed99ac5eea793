//! Without a bucket, processes on one PostgreSQL database each hold the files they received
//! in their data folder, named by its `storage/holder-id`. A folder copied from another's
//! (a cloned volume, a data folder copied to a second machine) carries that id: deletes
//! through other processes would then be handed to the wrong folder and leave the bytes for
//! good, and downloads would be looked for where they are not. So each running process
//! leaves a mark file in its folder and a row saying so ([`crate::model::folder_mark`]);
//! a process that finds the id taken by a running process whose mark its folder lacks
//! refuses to start, and one that finds so later says so in its log.

use crate::db::{backend_of, Backend, Pool};
use crate::model::folder_mark;
use crate::storage::Storage;
use std::io::Write;

/// How often a running process says it still runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// A mark not seen for this long is of a process that stopped.
const STALE: chrono::TimeDelta = chrono::TimeDelta::minutes(3);

fn key(mark: &str) -> String {
    format!("marks/{mark}")
}

/// The marks of running processes on this folder's id that this folder lacks.
fn missing(pool: &Pool, storage: &Storage, holder: &str, mine: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get()?;
    let since = crate::model::now() - STALE;
    let others = folder_mark::others(&mut conn, holder, mine, since)?;
    Ok(others.into_iter().filter(|m| !storage.exists(&key(m))).collect())
}

/// At start (PostgreSQL, local storage): refuses a folder whose id a running process holds
/// in another folder, then leaves this process's mark.
pub fn claim(pool: &Pool, storage: &Storage, mine: &str) -> anyhow::Result<()> {
    let Some(holder) = storage.holder() else {
        return Ok(());
    };
    if backend_of(&*pool.get()?) != Backend::Postgres {
        return Ok(());
    }
    let mut lacking = missing(pool, storage, &holder, mine)?;
    if !lacking.is_empty() {
        // A shared network folder may show another machine's new file a moment late.
        std::thread::sleep(std::time::Duration::from_secs(2));
        lacking = missing(pool, storage, &holder, mine)?;
    }
    if !lacking.is_empty() {
        anyhow::bail!(
            "the data folder {} has the id {holder} (its storage/holder-id), which a running \
             Wharf process holds in another folder: this folder was copied from that one. Give \
             this folder its own id (stop this process, delete storage/holder-id here and start \
             it again: the copies of the other's files here then go unused), or give every \
             process the same WHARF_STORAGE_URL (a bucket)",
            storage
                .folder_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    mark(pool, storage, &holder, mine)
}

fn mark(pool: &Pool, storage: &Storage, holder: &str, mine: &str) -> anyhow::Result<()> {
    if !storage.exists(&key(mine)) {
        let mut file = storage.begin_blocking(&key(mine))?;
        file.write_all(mine.as_bytes())?;
        file.commit()?;
    }
    folder_mark::seen(&mut *pool.get()?, holder, mine)?;
    Ok(())
}

/// Every [`EVERY`]: says this process still runs, forgets stopped ones (and their mark
/// files here), and answers the marks of running processes on this id that this folder
/// lacks (a copy of it started elsewhere).
pub fn keep(pool: &Pool, storage: &Storage, mine: &str) -> anyhow::Result<Vec<String>> {
    let Some(holder) = storage.holder() else {
        return Ok(Vec::new());
    };
    if backend_of(&*pool.get()?) != Backend::Postgres {
        return Ok(Vec::new());
    }
    mark(pool, storage, &holder, mine)?;
    let before = crate::model::now() - STALE;
    for gone in folder_mark::forget_older(&mut *pool.get()?, &holder, before)? {
        let _ = storage.delete_blocking(&key(&gone));
    }
    missing(pool, storage, &holder, mine)
}
