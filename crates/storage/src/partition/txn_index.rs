//! A partition's transactions, for `read_committed` reads: which producers
//! have a transaction open here (from its first transactional batch until
//! its marker), the **last stable offset** they hold back, and the aborted
//! transactions a Fetch must list so that the consumer drops their records.
//!
//! Pure and deterministic: the partition's state machine feeds it what it
//! applies, in offset order, so every replica holds the same index. It is
//! stored in one `state` row (`group ‖ 7`) written with each apply that
//! changes it, and carried in snapshots after the producers.
//!
//! It also remembers, per producer, the coordinator's number of the last
//! transaction whose marker was applied here, so that a late duplicate of
//! a marker (a retry that arrived after the one that succeeded) is ignored
//! instead of ending the producer's next transaction.
//!
//! Kafka's rules, which this follows:
//! - the LSO is the first offset of the oldest open transaction, or the
//!   high watermark when none is open; `read_committed` reads stop there;
//! - an aborted transaction is listed with its producer id and first
//!   offset; a read of `[from, to)` lists those whose first offset is below
//!   `to` and whose marker is at or after `from`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An aborted transaction in this partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    pub producer_id: i64,
    /// Its first record's offset.
    pub first_offset: u64,
    /// The offset of its abort marker.
    pub marker_offset: u64,
}

/// The open and the aborted transactions of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnIndex {
    /// Producer id → the first offset of its open transaction.
    open: BTreeMap<i64, u64>,
    /// Aborted transactions, in marker order.
    aborted: Vec<AbortedTxn>,
    /// Producer id → the number of the last transaction whose marker was
    /// applied here.
    last_marker: BTreeMap<i64, u64>,
}

impl TxnIndex {
    /// A transactional batch of `producer_id` applied at `base_offset`: it
    /// opens the producer's transaction here unless one is open. Returns
    /// whether the index changed (the first batch of a transaction).
    pub fn on_data(&mut self, producer_id: i64, base_offset: u64) -> bool {
        match self.open.entry(producer_id) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(base_offset);
                true
            }
        }
    }

    /// The marker of `producer_id` applied at `offset` ends its open
    /// transaction; an abort is remembered for readers. A marker for a
    /// producer with nothing open here (it added the partition and wrote
    /// nothing) changes nothing.
    pub fn on_marker(&mut self, producer_id: i64, offset: u64, commit: bool) {
        let Some(first_offset) = self.open.remove(&producer_id) else {
            return;
        };
        if !commit {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                marker_offset: offset,
            });
        }
    }

    /// Whether a marker ending transaction `txn_seq` of `producer_id` is
    /// new here (not a duplicate of one applied).
    pub fn is_new_marker(&self, producer_id: i64, txn_seq: u64) -> bool {
        self.last_marker
            .get(&producer_id)
            .is_none_or(|last| txn_seq > *last)
    }

    /// The marker of transaction `txn_seq` of `producer_id`, applied at
    /// `offset`: ends the transaction (see [`TxnIndex::on_marker`]) and
    /// remembers its number.
    pub fn on_new_marker(&mut self, producer_id: i64, txn_seq: u64, offset: u64, commit: bool) {
        self.on_marker(producer_id, offset, commit);
        self.last_marker.insert(producer_id, txn_seq);
    }

    /// Whether `producer_id` has a transaction open here.
    pub fn is_open(&self, producer_id: i64) -> bool {
        self.open.contains_key(&producer_id)
    }

    /// Forgets the marker numbers of producers that expired.
    pub fn forget(&mut self, producers: &[i64]) {
        for id in producers {
            self.last_marker.remove(id);
        }
    }

    /// Whether the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.aborted.is_empty() && self.last_marker.is_empty()
    }

    /// The last stable offset given the `high_watermark`: the first offset
    /// of the oldest open transaction, if it is below the high watermark.
    pub fn last_stable_offset(&self, high_watermark: u64) -> u64 {
        self.open
            .values()
            .copied()
            .min()
            .map_or(high_watermark, |first| first.min(high_watermark))
    }

    /// The aborted transactions a read of offsets `[from, to)` must list.
    pub fn aborted_between(&self, from: u64, to: u64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.first_offset < to && a.marker_offset >= from)
            .copied()
            .collect()
    }

    /// Forgets aborted transactions whose marker is below `log_start`
    /// (retention deleted them); open transactions stay: their markers
    /// are still to come.
    pub fn trim(&mut self, log_start: u64) {
        self.aborted.retain(|a| a.marker_offset >= log_start);
    }

    /// Producers with a transaction open here, with its first offset.
    pub fn open(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.open.iter().map(|(p, o)| (*p, *o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_open_transactions_the_lso_is_the_high_watermark() {
        let index = TxnIndex::default();
        assert_eq!(index.last_stable_offset(42), 42);
    }

    #[test]
    fn the_oldest_open_transaction_holds_the_lso_back_until_its_marker() {
        let mut index = TxnIndex::default();
        index.on_data(7, 10);
        index.on_data(8, 12);
        // More batches of an open transaction do not move its start (nor
        // change the index, which is then not written again).
        assert!(!index.on_data(7, 15));
        assert_eq!(index.last_stable_offset(20), 10);
        index.on_marker(7, 20, true);
        assert_eq!(index.last_stable_offset(21), 12);
        index.on_marker(8, 21, false);
        assert_eq!(index.last_stable_offset(22), 22);
        assert_eq!(index.open().count(), 0);
    }

    #[test]
    fn the_lso_never_exceeds_the_high_watermark() {
        let mut index = TxnIndex::default();
        index.on_data(7, 30);
        assert_eq!(index.last_stable_offset(25), 25);
    }

    #[test]
    fn aborted_transactions_are_listed_for_the_reads_that_overlap_them() {
        let mut index = TxnIndex::default();
        index.on_data(7, 10);
        index.on_marker(7, 14, false);
        index.on_data(8, 20);
        index.on_marker(8, 25, true);
        let aborted = AbortedTxn {
            producer_id: 7,
            first_offset: 10,
            marker_offset: 14,
        };
        assert_eq!(index.aborted_between(0, 10), []);
        assert_eq!(index.aborted_between(0, 11), [aborted]);
        assert_eq!(index.aborted_between(14, 30), [aborted]);
        assert_eq!(index.aborted_between(15, 30), []);
        // Committed transactions are never listed.
        assert_eq!(index.aborted_between(20, 26), []);
    }

    #[test]
    fn a_marker_without_an_open_transaction_changes_nothing() {
        let mut index = TxnIndex::default();
        index.on_marker(9, 5, false);
        assert_eq!(index, TxnIndex::default());
    }

    #[test]
    fn retention_forgets_aborted_transactions_below_the_log_start() {
        let mut index = TxnIndex::default();
        index.on_data(7, 10);
        index.on_marker(7, 14, false);
        index.on_data(8, 20);
        index.on_marker(8, 24, false);
        index.on_data(9, 30);
        index.trim(15);
        assert_eq!(index.aborted_between(0, 100).len(), 1);
        // The open one stays, holding the LSO.
        assert_eq!(index.last_stable_offset(40), 30);
    }

    #[test]
    fn a_late_duplicate_marker_is_not_new() {
        let mut index = TxnIndex::default();
        assert!(index.is_new_marker(7, 1));
        index.on_data(7, 10);
        index.on_new_marker(7, 1, 11, true);
        // The producer's next transaction opens; a retry of the first
        // transaction's marker must not end it.
        index.on_data(7, 12);
        assert!(!index.is_new_marker(7, 1));
        assert!(index.is_new_marker(7, 2));
        assert!(index.is_open(7));
        index.forget(&[7]);
        assert!(index.is_new_marker(7, 1));
    }

    #[test]
    fn the_index_survives_a_snapshot_round_trip() {
        let mut index = TxnIndex::default();
        index.on_data(7, 10);
        index.on_data(8, 11);
        index.on_marker(8, 12, false);
        let bytes = bincode::serialize(&index).unwrap();
        assert_eq!(bincode::deserialize::<TxnIndex>(&bytes).unwrap(), index);
    }
}
