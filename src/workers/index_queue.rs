//! The order in which index builds run, one at a time: those an import or a load asks
//! for in the order asked (a sort index per field, then the search index), and one a
//! person's read is waiting for ahead of them all. Threads racing for a lock ran them in
//! any order: after a million-record load the first field's sort index came after the
//! 41-second search index, and a sort a person asked for waited behind every other build.

use super::indexes::IndexKind;
use std::collections::VecDeque;

/// A sheet's index: (sheet seq, kind).
pub type IndexKey = (i64, IndexKind);

/// Builds waiting their turn.
#[derive(Debug, Default)]
pub struct BuildQueue {
    waiting: VecDeque<IndexKey>,
}

impl BuildQueue {
    /// Adds a build to the end.
    pub fn push(&mut self, key: IndexKey) {
        if !self.waiting.contains(&key) {
            self.waiting.push_back(key);
        }
    }

    /// Puts a build a read waits for first: added, or moved up if it was waiting.
    pub fn push_first(&mut self, key: IndexKey) {
        self.waiting.retain(|k| *k != key);
        self.waiting.push_front(key);
    }

    /// Moves a waiting build first; false when it is not waiting (built, or under way).
    pub fn hurry(&mut self, key: IndexKey) -> bool {
        let waiting = self.waiting.contains(&key);
        if waiting {
            self.push_first(key);
        }
        waiting
    }

    /// The next build to run.
    pub fn next(&mut self) -> Option<IndexKey> {
        self.waiting.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndexKind::{Search, Sort};

    #[test]
    fn builds_run_in_the_order_asked_but_a_read_goes_first() {
        let mut q = BuildQueue::default();
        for key in [
            (1, Sort(0)),
            (1, Sort(1)),
            (1, Sort(2)),
            (1, Search),
            (1, Sort(1)),
        ] {
            q.push(key);
        }
        assert!(q.hurry((1, Sort(2))), "waiting: moved up");
        assert!(!q.hurry((2, Sort(0))), "not waiting: nothing to move");
        q.push_first((2, Search));
        let order: Vec<IndexKey> = std::iter::from_fn(|| q.next()).collect();
        assert_eq!(
            order,
            [(2, Search), (1, Sort(2)), (1, Sort(0)), (1, Sort(1)), (1, Search)]
        );
    }
}
