//! How many records a job's next batch takes. Each batch is one write transaction that
//! holds its sheet, so people's saves wait for it: a batch is sized to take about half a
//! second, so a quick batch lets the next one grow and a slow one (a slow machine,
//! PostgreSQL, a debug build) shrinks the next. Per record, bigger batches cost a little
//! less (`bench/bulk.rs` at 1,000,000 records, `RUST_LOG=wharf=debug`: 36-40 us at 5,000,
//! 25-31 us at about 20,000), within what runs vary in the bench's totals.

use std::time::Duration;

/// How long a batch should hold the sheet.
const BATCH_TIME: Duration = Duration::from_millis(500);
/// The most records a delete or bulk change takes in one batch (their memory, and how much
/// a cancel has to take back).
pub const MOST: usize = 20_000;
/// The fewest records a batch takes, however slow.
const FEWEST: usize = 100;

/// The size of the next batch after one of `size` records took `took`, at most `most`:
/// smaller when it held the sheet too long (a new unique field over a big sheet on
/// PostgreSQL took 7.5 s for 5,000 records in a debug build, and saves waiting behind it
/// timed out), larger when it was quick, by at most twice or a quarter at a step.
pub fn next(size: usize, took: Duration, most: usize) -> usize {
    let ratio = BATCH_TIME.as_secs_f64() / took.as_secs_f64().max(1e-3);
    let next = (size as f64 * ratio.clamp(0.25, 2.0)) as usize;
    next.clamp(FEWEST, most.max(FEWEST))
}

/// Walks `ids` in batches sized by [`next`], starting at `first`.
pub struct Batches<'a, T> {
    ids: &'a [T],
    at: usize,
    size: usize,
    most: usize,
}

impl<'a, T> Batches<'a, T> {
    pub fn new(ids: &'a [T], first: usize, most: usize) -> Self {
        Batches {
            ids,
            at: 0,
            size: first.clamp(FEWEST, most.max(FEWEST)),
            most,
        }
    }

    /// The next batch, or `None` when every id was taken.
    pub fn next_batch(&mut self) -> Option<&'a [T]> {
        if self.at >= self.ids.len() {
            return None;
        }
        let end = (self.at + self.size).min(self.ids.len());
        let batch = &self.ids[self.at..end];
        self.at = end;
        Some(batch)
    }

    /// The last batch (of `len` records) took `took`: sizes the next one.
    pub fn took(&mut self, len: usize, took: Duration) {
        tracing::debug!(records = len, ms = took.as_millis() as u64, "job batch");
        // A short last batch says little about a full one.
        if len >= self.size / 2 {
            self.size = next(len, took, self.most);
        }
    }

    /// How many ids the batches so far took.
    pub fn done(&self) -> usize {
        self.at
    }

    /// The ids no batch took yet.
    pub fn rest(&self) -> &'a [T] {
        &self.ids[self.at..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_batch_shrinks_the_next_and_a_quick_one_grows_it() {
        assert_eq!(next(5000, Duration::from_millis(1000), 50_000), 2500);
        assert_eq!(next(5000, Duration::from_millis(7500), 50_000), 1250);
        assert_eq!(next(200, Duration::from_secs(60), 50_000), FEWEST);
        assert_eq!(next(5000, Duration::from_millis(100), 50_000), 10_000);
        assert_eq!(next(40_000, Duration::from_millis(10), 50_000), 50_000);
        assert_eq!(next(4000, Duration::from_millis(10), 5000), 5000);
    }

    #[test]
    fn batches_take_every_id_once_in_order() {
        let ids: Vec<u32> = (0..10_000).collect();
        let mut batches = Batches::new(&ids, 1000, 4000);
        let mut seen = Vec::new();
        while let Some(batch) = batches.next_batch() {
            seen.extend_from_slice(batch);
            batches.took(batch.len(), Duration::from_millis(50));
            assert_eq!(batches.done(), seen.len());
            assert_eq!(batches.rest().len(), ids.len() - seen.len());
        }
        assert_eq!(seen, ids);
        assert_eq!(Batches::new(&ids[..0], 1000, 4000).next_batch(), None);
    }
}
