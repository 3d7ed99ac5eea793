//! Index builds: a sheet's sort index per field and its search index, built in the
//! background when an import or a load through the API into the sheet ends, or the first
//! time a read of that sheet wants one, never inside a person's request; the model's
//! writes keep them afterwards (`model::record::{sort_index, search_index}`). Until an index exists, the read is
//! answered from a scan: correct, only slower.

use super::index_queue::{BuildQueue, IndexKey, PendingVacuum};
use crate::db::{AnyConnection, Pool};
use crate::model::record::{indexes, search, search_index, sort_index, RecordQuery};
use diesel::QueryResult;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An index of one sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// Sorting by the field at this position.
    Sort(usize),
    Search,
}

/// Indexes known to exist or being built, so reads schedule each at most once. Builds
/// run one at a time: two `CREATE INDEX CONCURRENTLY` on one table wait for each other and
/// one of them fails as a deadlock.
#[derive(Clone)]
pub struct Indexer {
    /// Records a sheet must hold to get indexes (`WHARF_INDEX_FROM_RECORDS`).
    from: i64,
    requested: Arc<Mutex<HashSet<(i64, IndexKind)>>>,
    /// Builds waiting, and whether a thread is running them.
    queue: Arc<Mutex<(BuildQueue, bool)>>,
    /// Held by the build or vacuum under way.
    building: Arc<Mutex<()>>,
    /// Field changes waiting to drop indexes ([`Self::before_builds`]): builds wait for them.
    setting_aside: Arc<AtomicUsize>,
    /// The vacuum waiting for its turn, if any.
    vacuum: Arc<Mutex<PendingVacuum>>,
    /// Sheets being loaded through the API, and when each was last written to.
    loading: Arc<Mutex<HashMap<i64, Instant>>>,
}

/// Records a sheet must hold for a load into it to start its indexes: a smaller sheet is
/// read fast enough by a scan.
const INDEX_FROM: i64 = 20_000;

/// Fields of a sheet that may have a sort index: the first ones (those with a key column
/// on SQLite). Sorting by a later field scans. Every index costs writes, and a file of a
/// thousand columns asked for a thousand.
const SORTED_FIELDS: usize = crate::model::record::sort_keys::KEYED;

/// SQLite: most sort indexes the records table carries, all sheets together. Each partial
/// index costs every insert into the table, more than linearly (10,000 inserts: 1.5 us a
/// record with none, 3.0 with 16, 24 with 100, 260 with 300; SQLite 3.51), so past this a
/// sort scans instead.
const SQLITE_MOST_SORT_INDEXES: i64 = 64;

/// How long a sheet's writes must pause before its indexes start: the load has ended then.
/// Building sooner would slow the load, as every index is kept up on each insert.
const QUIET: Duration = Duration::from_secs(2);

/// How much longer a load whose last batch began or ended `since` ago must stay quiet to
/// be taken for ended; `None`: it has (or nothing is noted).
fn quiet_left(since: Option<Duration>) -> Option<Duration> {
    since.filter(|s| *s < QUIET).map(|s| QUIET - s)
}

/// While a sheet's writes never pause for [`QUIET`], one merge step of its search index
/// runs this often all the same (a step of 500 pages held the write lock 0.1-0.4 s in a
/// standalone run at a million records).
const OWED_EVERY: Duration = Duration::from_secs(5);

impl Indexer {
    /// `from`: records a sheet must hold to get indexes (`WHARF_INDEX_FROM_RECORDS`).
    pub fn new(from: i64) -> Self {
        Indexer {
            from,
            requested: Default::default(),
            queue: Default::default(),
            building: Default::default(),
            setting_aside: Default::default(),
            vacuum: Default::default(),
            loading: Default::default(),
        }
    }

    /// Asks for the indexes a read of a sheet of `records` records would use.
    pub fn request_for(&self, pool: &Pool, sheet_seq: i64, records: i64, q: &RecordQuery) {
        if records < self.from {
            return;
        }
        // A person waits for these: they go before the builds a load asked for.
        if let Some((field, _)) = q.sort {
            self.request_now(pool, sheet_seq, IndexKind::Sort(field));
        }
        if q.search_value.as_ref().is_some_and(|t| search::index_serves(t)) {
            self.request_now(pool, sheet_seq, IndexKind::Search);
        }
        if let Some(node) = &q.ffql {
            for field in crate::model::record::ffql_sql::indexed_fields(node) {
                self.request_now(pool, sheet_seq, IndexKind::Sort(field));
            }
        }
    }

    /// Asks for every index a sheet's reads may want (a sort per field, and search), as an
    /// import or a load into it ends, so that its first searches and sorts find them ready.
    pub fn request_all(&self, pool: &Pool, sheet_seq: i64, fields: usize, records: i64) {
        if records < self.from {
            return;
        }
        // The sort indexes first: each builds in about a second at a million records, where
        // the search index takes longer and a search without it is the cheaper scan.
        for field in 0..fields {
            self.request(pool, sheet_seq, IndexKind::Sort(field));
        }
        self.request(pool, sheet_seq, IndexKind::Search);
    }

    /// After an extraction into a `[file]` sheet: its indexes start now when it is small;
    /// a big one's wait for its first search or sort. Built at once, they held up the
    /// mapping that usually follows (1,000,000 rows: mapping 36 s instead of 10 s, and
    /// 576 MiB instead of 202); the mapping's destination gets its own as it ends.
    pub fn after_extraction(&self, pool: &Pool, sheet_seq: i64, fields: usize, records: i64) {
        if records < INDEX_FROM {
            self.request_all(pool, sheet_seq, fields, records);
        }
    }

    /// As a load or an import of `records` records into a sheet ends: on PostgreSQL, after
    /// [`INDEX_FROM`] records or more, `VACUUM (ANALYZE) records` first, then every index its
    /// reads may want ([`Self::request_all`]). The vacuum marks the new rows' pages
    /// all-visible, so a deep page walks the narrow `(sheet, id)` index without visiting rows
    /// (a middle page of 1,000,000 records 5 s after their load: 230-320 ms), and gives the
    /// planner statistics that count the new records; autovacuum would, but minutes later,
    /// and the builds first held it back for half a minute. Smaller writes leave it to
    /// autovacuum.
    pub fn after_load(&self, pool: &Pool, sheet_seq: i64, fields: usize, records: i64) {
        if records < INDEX_FROM {
            return self.request_all(pool, sheet_seq, fields, records);
        }
        let (this, pool) = (self.clone(), pool.clone());
        std::thread::spawn(move || {
            if this.vacuum.lock().unwrap_or_else(|p| p.into_inner()).ask(fields) {
                this.vacuum(&pool);
            }
            this.request_all(&pool, sheet_seq, fields, records);
        });
    }

    /// The analysis also gathers the statistics of the sheets' cells (see
    /// `sort_index::statistics`), made first. Waits for the builds under way.
    fn vacuum(&self, pool: &Pool) {
        let _one_at_a_time = self.building.lock().unwrap_or_else(|p| p.into_inner());
        let fields = self.vacuum.lock().unwrap_or_else(|p| p.into_inner()).start();
        let Ok(mut conn) = pool.get() else { return };
        let _ = across_processes(&mut conn, |conn| {
            for i in 0..fields {
                if let Err(e) = sort_index::statistics(conn, i) {
                    tracing::warn!(error = %e, "making the statistics of a field's cells failed");
                }
            }
            if let crate::db::AnyConnection::Postgres(pg) = conn {
                use diesel::connection::SimpleConnection;
                if let Err(e) = pg.batch_execute("VACUUM (ANALYZE) records") {
                    tracing::warn!(error = %e, "vacuuming the records after a load failed");
                }
            }
            Ok(())
        });
    }

    /// Notes a write of many records into a sheet through the API (a load in batches). Once
    /// the sheet holds [`INDEX_FROM`] records and its writes pause for [`QUIET`], every index
    /// its reads may want starts, as after an import.
    pub fn after_load_batch(&self, pool: &Pool, sheet_seq: i64, fields: usize, total: i64) {
        if total < INDEX_FROM || self.all_requested(sheet_seq, fields) {
            return;
        }
        let already_waiting = self
            .loading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sheet_seq, Instant::now())
            .is_some();
        if already_waiting {
            return;
        }
        let (this, pool) = (self.clone(), pool.clone());
        std::thread::spawn(move || {
            // Wakes QUIET after the last batch began or ended, not a whole QUIET after
            // each look: the builds start 2 s after the load's end, not up to 4 s.
            let mut wait = QUIET;
            loop {
                std::thread::sleep(wait);
                let mut loading = this.loading.lock().unwrap_or_else(|p| p.into_inner());
                match quiet_left(loading.get(&sheet_seq).map(|last| last.elapsed())) {
                    Some(left) => wait = left,
                    None => {
                        loading.remove(&sheet_seq);
                        break;
                    }
                }
            }
            // The sheet holds INDEX_FROM records or more: the load was a big one.
            this.after_load(&pool, sheet_seq, fields, total);
        });
    }

    /// Notes that a write into a sheet begins, so a load whose batches each take a while
    /// is not taken for ended.
    pub fn load_batch_begins(&self, sheet_seq: i64) {
        let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = loading.get_mut(&sheet_seq) {
            *last = Instant::now();
        }
    }

    fn all_requested(&self, sheet_seq: i64, fields: usize) -> bool {
        let requested = self.requested.lock().unwrap_or_else(|p| p.into_inner());
        requested.contains(&(sheet_seq, IndexKind::Search))
            && (0..fields).all(|i| requested.contains(&(sheet_seq, IndexKind::Sort(i))))
    }

    /// Before every record of a big sheet is rewritten (a field removed, or put among the
    /// others): its indexes are dropped, to be built again once the records are
    /// ([`Self::request_all`]). Kept, each rewritten record updates every one of them
    /// (PostgreSQL, 200,000 records: 36 s with them, 2.3 s without; SQLite, a field put
    /// first moves every sort key, which held the database 8 s at 200,000 records). Reads
    /// in between scan, as before a sheet's first build. Returns whether they were set aside.
    pub fn set_aside(&self, conn: &mut AnyConnection, sheet_seq: i64, records: i64) -> QueryResult<bool> {
        if records < self.from {
            return Ok(false);
        }
        // In turn with the builds: a build and a drop of one index at once could deadlock.
        self.before_builds(conn, |conn| indexes::drop_of_sheet(conn, sheet_seq))?;
        // Forgotten after the drop, not before: a removal beside this one may have asked
        // for them again meanwhile, and would otherwise be taken as building them.
        self.requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(seq, _)| *seq != sheet_seq);
        Ok(true)
    }

    /// Runs `f` between two builds, before the next: a field change's drop of indexes
    /// waited behind a sheet's every build, each taking the lock again the moment the one
    /// before ended (probe 63a D2). SQLite's one write lock keeps them apart already.
    pub fn before_builds<T>(
        &self,
        conn: &mut AnyConnection,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
    ) -> QueryResult<T> {
        let _waiting = Waiting::on(&self.setting_aside);
        let _builds_wait = matches!(conn, AnyConnection::Postgres(_))
            .then(|| self.building.lock().unwrap_or_else(|p| p.into_inner()));
        across_processes(conn, f)
    }

    /// After a field's removal, in turn with the builds: one asked before the removal
    /// committed may have built the position past the fields left. On PostgreSQL in the
    /// background: that index reads its position, so it is never wrong, only kept up for
    /// nothing; waiting for the build under way made a removal beside a re-check take 2 s
    /// more (probe 65c D8).
    pub fn drop_past(
        &self,
        conn: &mut AnyConnection,
        pool: &Pool,
        sheet_seq: i64,
        left: usize,
    ) -> QueryResult<()> {
        use crate::model::record::sort_index;
        if let AnyConnection::Sqlite(_) = conn {
            return self.before_builds(conn, |conn| sort_index::drop_past(conn, sheet_seq, left));
        }
        let (this, pool) = (self.clone(), pool.clone());
        std::thread::spawn(move || {
            let Ok(mut conn) = pool.get() else { return };
            if let Err(e) = this.before_builds(&mut conn, |conn| sort_index::drop_past(conn, sheet_seq, left))
            {
                tracing::warn!(error = %e, "dropping the sort index past a removed field failed");
            }
        });
        Ok(())
    }

    /// Makes sure an index of a sheet exists or is being built, after the builds asked
    /// for before it; returns at once.
    pub fn request(&self, pool: &Pool, sheet_seq: i64, kind: IndexKind) {
        self.ask(pool, (sheet_seq, kind), false);
    }

    /// [`Self::request`] for a read that would use the index: it goes first.
    pub fn request_now(&self, pool: &Pool, sheet_seq: i64, kind: IndexKind) {
        self.ask(pool, (sheet_seq, kind), true);
    }

    fn ask(&self, pool: &Pool, key: IndexKey, first: bool) {
        if matches!(key.1, IndexKind::Sort(i) if i >= SORTED_FIELDS) {
            return;
        }
        let new = self
            .requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key);
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        match (new, first) {
            (true, false) => queue.0.push(key),
            (true, true) => queue.0.push_first(key),
            (false, true) => {
                queue.0.hurry(key);
            }
            (false, false) => {}
        }
        if new && !queue.1 {
            queue.1 = true;
            let (this, pool) = (self.clone(), pool.clone());
            std::thread::spawn(move || this.run_builds(&pool));
        }
    }

    /// Runs the waiting builds one after another, until none is left.
    fn run_builds(&self, pool: &Pool) {
        loop {
            let key = {
                let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                match queue.0.next() {
                    Some(key) => key,
                    None => {
                        queue.1 = false;
                        return;
                    }
                }
            };
            while self.setting_aside.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _one_at_a_time = self.building.lock().unwrap_or_else(|p| p.into_inner());
            let began = Instant::now();
            // A build that panics must not stop the ones after it.
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                    across_processes(&mut conn, |conn| build(conn, key.0, key.1)).map_err(|e| e.to_string())
                })
            }))
            .unwrap_or_else(|_| Err("the build panicked".into()));
            let ms = began.elapsed().as_millis() as u64;
            tracing::debug!(sheet_seq = key.0, kind = ?key.1, ms, ok = built.is_ok(), "index build ended");
            if let Err(e) = built {
                tracing::warn!(error = %e, sheet_seq = key.0, kind = ?key.1, "building an index failed");
                // Let a later read try again.
                self.requested
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
            }
        }
    }
}

/// Counts one waiter for as long as it lives (also when what it waits for fails).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn on(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// PostgreSQL: the processes sharing the database build indexes (and vacuum) one at a time,
/// as each process does on its own: two builds of one sheet's index at once deadlocked each
/// other. The lock is asked for without waiting, again every half second: a session waiting
/// inside `pg_advisory_lock` holds a snapshot that the holder's `CREATE INDEX
/// CONCURRENTLY` would wait for in turn.
pub fn across_processes<T>(
    conn: &mut crate::db::AnyConnection,
    f: impl FnOnce(&mut crate::db::AnyConnection) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Bool};
    #[derive(diesel::QueryableByName)]
    struct Free {
        #[diesel(sql_type = Bool)]
        free: bool,
    }
    const KEY: i64 = 7_326_002;
    let crate::db::AnyConnection::Postgres(pg) = conn else {
        return f(conn);
    };
    loop {
        let got: Free = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS free")
            .bind::<BigInt, _>(KEY)
            .get_result(pg)?;
        if got.free {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let done = f(conn);
    if let crate::db::AnyConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(KEY)
            .execute(pg)?;
    }
    done
}

fn build(conn: &mut crate::db::AnyConnection, sheet_seq: i64, kind: IndexKind) -> diesel::QueryResult<()> {
    match kind {
        IndexKind::Sort(i) if sort_index::count_on_sqlite(conn)? < SQLITE_MOST_SORT_INDEXES => {
            sort_index::build(conn, sheet_seq, i)
        }
        IndexKind::Sort(_) => {
            tracing::warn!(
                sheet_seq,
                "no sort index built: the database has {SQLITE_MOST_SORT_INDEXES} already"
            );
            Ok(())
        }
        IndexKind::Search => search_index::build(conn, sheet_seq),
    }
}

/// Brings the SQLite search indexes up to date with the records changed since
/// (`search_index::catch_up_step`) and merges their segments (`search_index::merge_step`)
/// in the background, each sheet's once its writes have paused for [`QUIET`], in short write
/// transactions so a save waits for one step at most. `pool` gives the pool while the
/// application lives and `None` once it has gone, which ends the loop.
pub fn start_merging(pool: impl Fn() -> Option<Pool> + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wharf-search-merge".into())
        .spawn(move || {
            let mut file = None;
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let Some(pool) = pool() else { return };
                if file.is_none() {
                    let Ok(mut conn) = pool.get() else { continue };
                    if !matches!(*conn, crate::db::AnyConnection::Sqlite(_)) {
                        return;
                    }
                    file = search_index::database_file(&mut conn).ok();
                    // Records a bulk change left waiting before a restart are due again.
                    if let Err(e) = search_index::sheets_pending(&mut conn) {
                        tracing::warn!(error = %e, "listing sheets waiting for their search index failed");
                    }
                }
                let Some(file) = &file else { continue };
                for sheet_seq in search_index::merges_due(file, QUIET) {
                    let started = std::time::Instant::now();
                    // Step by step while the sheet's records stay unwritten: a write
                    // (a bulk change, a load) puts the rest off to its next pause.
                    let merged = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                        while search_index::still_quiet(file, sheet_seq, QUIET) {
                            // Records waiting for the index first, each step's segment
                            // merged in as it comes (left to pile up, the 16th on a level
                            // makes FTS5 merge the whole level inside one commit), then
                            // the rest of its segments.
                            if search_index::catch_up_step(&mut conn, sheet_seq).map_err(|e| e.to_string())? {
                                search_index::merge_step(&mut conn, sheet_seq).map_err(|e| e.to_string())?;
                                continue;
                            }
                            if !search_index::merge_step(&mut conn, sheet_seq).map_err(|e| e.to_string())? {
                                return Ok(true);
                            }
                        }
                        Ok(false)
                    });
                    if let Err(e) = &merged {
                        tracing::warn!(error = %e, sheet_seq, "merging a search index failed");
                    }
                    search_index::merge_ended(file, sheet_seq, merged.unwrap_or(false), started);
                }
                // Sheets written without a pause get a step now and then all the same.
                for sheet_seq in search_index::merges_owed(file, OWED_EVERY) {
                    let stepped = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                        search_index::merge_step(&mut conn, sheet_seq).map_err(|e| e.to_string())
                    });
                    if let Err(e) = stepped {
                        tracing::warn!(error = %e, sheet_seq, "merging a search index failed");
                    }
                    search_index::step_taken(file, sheet_seq);
                }
            }
        })?;
    Ok(())
}

/// Search indexes whose filling a stop cut off go on being filled at start, in the
/// background: they waited for a sheet's next search, which then scanned (probe 55b F2).
pub fn resume_builds(indexer: &Indexer, pool: &Pool) {
    let unfinished = pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut c| search_index::unfinished(&mut c).map_err(|e| e.to_string()));
    match unfinished {
        Ok(seqs) => {
            for seq in seqs {
                indexer.request(pool, seq, IndexKind::Search);
            }
        }
        Err(e) => tracing::warn!(error = %e, "listing unfinished search indexes failed"),
    }
}

/// Drops the indexes of deleted sheets in the background, without holding up the start.
pub fn drop_orphans(pool: &Pool) {
    let pool = pool.clone();
    std::thread::spawn(move || {
        let dropped = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| indexes::drop_orphans(&mut c).map_err(|e| e.to_string()));
        match dropped {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "dropped the indexes of deleted sheets"),
            Err(e) => tracing::warn!(error = %e, "dropping unused indexes failed"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_is_over_quiet_after_its_last_batch() {
        let ms = Duration::from_millis;
        assert_eq!(quiet_left(Some(ms(500))), Some(QUIET - ms(500)));
        assert_eq!(quiet_left(Some(ms(0))), Some(QUIET));
        assert_eq!(quiet_left(Some(QUIET)), None);
        assert_eq!(quiet_left(Some(QUIET + ms(1))), None);
        assert_eq!(quiet_left(None), None);
    }
}
