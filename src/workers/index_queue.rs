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

/// The vacuum after big loads: one waiting for its turn serves every load that ends
/// meanwhile (six loads at once vacuumed the whole records table six times, each ahead of
/// the builds a read waited for: probe 55b L3). A vacuum under way serves none of them:
/// it may have passed their records' pages.
#[derive(Debug, Default)]
pub struct PendingVacuum {
    /// The most fields of the sheets it is for, while one waits.
    waiting: Option<usize>,
}

impl PendingVacuum {
    /// A load of a sheet of `fields` fields ended: true when the caller is to run the
    /// vacuum, false when one waiting already will.
    pub fn ask(&mut self, fields: usize) -> bool {
        match &mut self.waiting {
            Some(most) => {
                *most = (*most).max(fields);
                false
            }
            None => {
                self.waiting = Some(fields);
                true
            }
        }
    }

    /// The vacuum starts: the fields it covers; a load ending from now on asks again.
    pub fn start(&mut self) -> usize {
        self.waiting.take().unwrap_or(0)
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

    #[test]
    fn loads_ending_while_a_vacuum_waits_share_it() {
        let mut v = PendingVacuum::default();
        assert!(v.ask(3), "the first load runs it");
        assert!(!v.ask(7), "a second one while it waits shares it");
        assert!(!v.ask(5));
        assert_eq!(v.start(), 7, "for the most fields asked");
        assert!(v.ask(2), "a load ending once it runs asks for another");
        assert_eq!(v.start(), 2);
    }
}
