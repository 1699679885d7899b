//! The newest entries of one group's Raft log, kept in memory as they were
//! written, so that replication — which reads each entry just appended once
//! per follower — does not seek RocksDB for them (the memtable seeks of those
//! reads took 6–9% of a broker's CPU at 192 partitions).
//!
//! Invariants: the entries held are contiguous and are the log's newest
//! (`append` adds at the end, `truncate` and `purge` cut the same ranges as
//! on disk); an entry is added only after RocksDB holds it, so a reader that
//! misses the tail finds it there. Every tail of an engine draws its bytes
//! from one [`Budget`]; what does not fit is simply not held.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes one group's tail may hold.
pub(crate) const PER_GROUP: usize = 256 << 10;

/// The bytes every tail of an engine may hold together.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    /// Takes `n` bytes if they fit.
    fn reserve(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes held by all tails now.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// The serialized entries `first..first + entries.len()` of one group's log.
#[derive(Debug)]
pub(crate) struct Tail {
    first: u64,
    entries: VecDeque<Vec<u8>>,
    bytes: usize,
    budget: Arc<Budget>,
}

impl Tail {
    pub(crate) fn new(budget: Arc<Budget>) -> Self {
        Self {
            first: 0,
            entries: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// One past the newest index held (None when empty).
    fn end(&self) -> Option<u64> {
        (!self.entries.is_empty()).then(|| self.first + self.entries.len() as u64)
    }

    /// Entry `index`, just written to the log after every entry held.
    pub(crate) fn push(&mut self, index: u64, entry: Vec<u8>) {
        match self.end() {
            Some(end) if index < end => self.truncate_from(index),
            Some(end) if index > end => self.clear(),
            _ => {}
        }
        let n = entry.len();
        if n > PER_GROUP {
            self.clear();
            return;
        }
        while self.bytes + n > PER_GROUP {
            self.pop_front();
        }
        if !self.budget.reserve(n) {
            // Others hold the budget: give back this group's share and try
            // once more, else hold nothing (readers then go to RocksDB).
            self.clear();
            if !self.budget.reserve(n) {
                return;
            }
        }
        if self.entries.is_empty() {
            self.first = index;
        }
        self.entries.push_back(entry);
        self.bytes += n;
    }

    /// Forgets entries `index..` (the log was truncated there).
    pub(crate) fn truncate_from(&mut self, index: u64) {
        while self.end().is_some_and(|end| end > index) {
            let last = self.entries.pop_back().expect("not empty");
            self.give_back(last.len());
        }
    }

    /// Forgets entries `..=index` (the log was purged up to there).
    pub(crate) fn purge_upto(&mut self, index: u64) {
        while !self.entries.is_empty() && self.first <= index {
            self.pop_front();
        }
    }

    /// The entries `start..end` (`end` None: to the newest), if all are held.
    pub(crate) fn get(&self, start: u64, end: Option<u64>) -> Option<impl Iterator<Item = &[u8]>> {
        let held_end = self.end()?;
        let end = end.unwrap_or(held_end);
        if start < self.first || start >= end || end > held_end {
            return None;
        }
        let from = (start - self.first) as usize;
        let to = (end - self.first) as usize;
        Some(self.entries.range(from..to).map(Vec::as_slice))
    }

    fn pop_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.first += 1;
            self.give_back(entry.len());
        }
    }

    fn give_back(&mut self, n: usize) {
        self.bytes -= n;
        self.budget.release(n);
    }

    fn clear(&mut self) {
        self.budget.release(self.bytes);
        self.entries.clear();
        self.bytes = 0;
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, len: usize) -> Vec<u8> {
        let mut e = vec![0u8; len.max(8)];
        e[..8].copy_from_slice(&index.to_be_bytes());
        e
    }

    fn indexes(tail: &Tail, start: u64, end: Option<u64>) -> Option<Vec<u64>> {
        tail.get(start, end).map(|it| {
            it.map(|e| u64::from_be_bytes(e[..8].try_into().unwrap()))
                .collect()
        })
    }

    #[test]
    fn serves_only_ranges_it_holds_whole() {
        let mut tail = Tail::new(Budget::new(1 << 20));
        assert_eq!(indexes(&tail, 0, None), None);
        for i in 5..10 {
            tail.push(i, entry(i, 100));
        }
        assert_eq!(indexes(&tail, 5, None), Some(vec![5, 6, 7, 8, 9]));
        assert_eq!(indexes(&tail, 7, Some(9)), Some(vec![7, 8]));
        assert_eq!(indexes(&tail, 4, Some(6)), None, "starts before the tail");
        assert_eq!(indexes(&tail, 8, Some(11)), None, "ends past the tail");
        assert_eq!(indexes(&tail, 10, None), None, "nothing held from 10");
        assert_eq!(indexes(&tail, 7, Some(7)), None, "empty range");
    }

    #[test]
    fn truncate_and_purge_cut_what_the_log_cuts() {
        let budget = Budget::new(1 << 20);
        let mut tail = Tail::new(budget.clone());
        for i in 1..=6 {
            tail.push(i, entry(i, 100));
        }
        tail.truncate_from(5);
        assert_eq!(indexes(&tail, 1, None), Some(vec![1, 2, 3, 4]));
        // A new leader's entries replace the truncated ones.
        tail.push(5, entry(55, 100));
        assert_eq!(indexes(&tail, 4, None), Some(vec![4, 55]));
        tail.purge_upto(2);
        assert_eq!(indexes(&tail, 3, None), Some(vec![3, 4, 55]));
        assert_eq!(indexes(&tail, 2, None), None);
        assert_eq!(budget.used(), 300);
        // Purged past the end (a snapshot was installed): nothing is held.
        tail.purge_upto(20);
        assert_eq!(indexes(&tail, 3, None), None);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn an_overwrite_or_a_gap_restarts_it_where_the_log_is() {
        let mut tail = Tail::new(Budget::new(1 << 20));
        for i in 1..=4 {
            tail.push(i, entry(i, 10));
        }
        // Written again at 3 without a truncate: 3 and 4 are replaced.
        tail.push(3, entry(33, 10));
        assert_eq!(indexes(&tail, 1, None), Some(vec![1, 2, 33]));
        // A gap (entries the tail never saw): only what follows is held.
        tail.push(9, entry(9, 10));
        assert_eq!(indexes(&tail, 9, None), Some(vec![9]));
        assert_eq!(indexes(&tail, 1, Some(3)), None);
    }

    #[test]
    fn holds_at_most_its_share_and_the_budget() {
        let budget = Budget::new(PER_GROUP + 500);
        let mut one = Tail::new(budget.clone());
        let n = 1000;
        let fit = (PER_GROUP / n) as u64;
        for i in 0..fit + 10 {
            one.push(i, entry(i, n));
        }
        assert_eq!(one.bytes, fit as usize * n);
        assert_eq!(indexes(&one, 10, Some(11)), Some(vec![10]));
        assert_eq!(indexes(&one, 9, Some(10)), None, "the oldest were dropped");
        // A second group finds too little budget left: it holds nothing.
        let mut two = Tail::new(budget.clone());
        two.push(0, entry(0, n));
        assert_eq!(indexes(&two, 0, None), None);
        assert_eq!(budget.used(), one.bytes);
        // Room for one small entry: the next gives back this group's own
        // share and takes it again, so only the newest is held.
        two.push(1, entry(1, 400));
        two.push(2, entry(2, 400));
        assert_eq!(indexes(&two, 2, None), Some(vec![2]));
        assert_eq!(indexes(&two, 1, None), None);
        // An entry over the share is never held.
        one.push(fit + 10, entry(0, PER_GROUP + 1));
        assert_eq!(indexes(&one, fit + 10, None), None);
        assert_eq!(one.bytes, 0);
        assert_eq!(budget.used(), 400);
        drop(one);
        drop(two);
        assert_eq!(budget.used(), 0);
    }
}
