//! Index builds: a sheet's sort index per field and its search index, built in the
//! background when an import into the sheet ends or the first time a read of that sheet
//! wants one, never inside a person's request; the model's writes keep them afterwards
//! (`model::record::{sort_index, search_index}`). Until an index exists, the read is
//! answered from a scan: correct, only slower.

use crate::db::Pool;
use crate::model::record::{indexes, search, search_index, sort_index, RecordQuery};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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
#[derive(Default, Clone)]
pub struct Indexer {
    requested: Arc<Mutex<HashSet<(i64, IndexKind)>>>,
    building: Arc<Mutex<()>>,
}

impl Indexer {
    /// Asks for the indexes a read of a sheet would use.
    pub fn request_for(&self, pool: &Pool, sheet_seq: i64, q: &RecordQuery) {
        if let Some((field, _)) = q.sort {
            self.request(pool, sheet_seq, IndexKind::Sort(field));
        }
        if q.search_value.as_ref().is_some_and(|t| search::index_serves(t)) {
            self.request(pool, sheet_seq, IndexKind::Search);
        }
        if let Some(node) = &q.ffql {
            for field in crate::model::record::ffql_sql::indexed_fields(node) {
                self.request(pool, sheet_seq, IndexKind::Sort(field));
            }
        }
    }

    /// Asks for every index a sheet's reads may want (search, and a sort per field), as an
    /// import into it ends, so that its first searches and sorts find them ready.
    pub fn request_all(&self, pool: &Pool, sheet_seq: i64, fields: usize) {
        self.request(pool, sheet_seq, IndexKind::Search);
        for field in 0..fields {
            self.request(pool, sheet_seq, IndexKind::Sort(field));
        }
    }

    /// Makes sure an index of a sheet exists or is being built; returns at once.
    pub fn request(&self, pool: &Pool, sheet_seq: i64, kind: IndexKind) {
        let key = (sheet_seq, kind);
        if !self
            .requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key)
        {
            return;
        }
        let (pool, requested, building) = (pool.clone(), self.requested.clone(), self.building.clone());
        std::thread::spawn(move || {
            let _one_at_a_time = building.lock().unwrap_or_else(|p| p.into_inner());
            let built = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                match kind {
                    IndexKind::Sort(i) => sort_index::build(&mut conn, sheet_seq, i),
                    IndexKind::Search => search_index::build(&mut conn, sheet_seq),
                }
                .map_err(|e| e.to_string())
            });
            if let Err(e) = built {
                tracing::warn!(error = %e, sheet_seq, ?kind, "building an index failed");
                // Let a later read try again.
                requested.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            }
        });
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
