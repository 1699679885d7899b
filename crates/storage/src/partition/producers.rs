//! Idempotent producers' state in a partition, and the decision that makes a
//! retried batch land once (pure: no IO, no clock).
//!
//! Every batch an idempotent producer writes carries its producer id, epoch
//! and the sequence number of its first record. Applying an entry checks each
//! such batch against the producer's state *here*, at apply time, so every
//! replica (and a replica replaying the log after a restart or a snapshot)
//! decides the same:
//!
//! | the batch | verdict |
//! |---|---|
//! | unknown producer, sequence 0 | appended: a new producer |
//! | unknown producer, other sequence | `UNKNOWN_PRODUCER_ID` |
//! | epoch older than the producer's | `INVALID_PRODUCER_EPOCH` (fenced) |
//! | newer epoch, sequence 0 | appended: the producer starts over |
//! | newer epoch, other sequence | `OUT_OF_ORDER_SEQUENCE_NUMBER` |
//! | same epoch, same sequences as one of the last [`CACHED_BATCHES`] | duplicate: answered with that batch's offset, not written again |
//! | same epoch, first sequence follows the last one | appended |
//! | same epoch, anything else | `OUT_OF_ORDER_SEQUENCE_NUMBER` |
//! | negative epoch or sequence | `INVALID_RECORD` |
//!
//! Sequences wrap from `i32::MAX` to 0, as Kafka's do. A producer's state
//! expires when an `ExpireProducers` entry says so: the leader names a
//! cut-off time and every replica drops the producers whose last batch
//! timestamp is older, so expiry too depends only on the log.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use cairn_common::batch::{self, BatchHeader};
use cairn_common::error_code::{
    INVALID_PRODUCER_EPOCH, INVALID_RECORD, OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
};

/// How many of a producer's last batches are remembered for duplicate checks
/// (Kafka's `max.in.flight.requests.per.connection` limit for idempotence).
pub const CACHED_BATCHES: usize = 5;

/// Sequences count modulo this (0..=i32::MAX).
const SEQUENCE_SPACE: i64 = i32::MAX as i64 + 1;

/// One batch an idempotent producer wrote, as the state remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedBatch {
    /// Sequence of its first record.
    pub first_sequence: i32,
    /// Sequence of its last record.
    pub last_sequence: i32,
    /// The offset its first record got.
    pub base_offset: u64,
    /// The offsets it spans.
    pub offsets: u64,
    /// Its largest record timestamp.
    pub max_timestamp: i64,
}

/// What a partition knows of one producer id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerState {
    /// The producer's current epoch.
    pub epoch: i16,
    /// Its last batches of this epoch, oldest first, at most [`CACHED_BATCHES`].
    pub batches: VecDeque<CachedBatch>,
    /// The largest timestamp of its batches: when it was last seen.
    pub last_timestamp: i64,
}

impl ProducerState {
    /// The sequence of its last record; `None` before its first batch.
    pub fn last_sequence(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_sequence)
    }
}

/// The producer fields of one batch, read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerBatch {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub epoch: i16,
    /// Sequence of the first record.
    pub base_sequence: i32,
    /// Offsets it spans (`lastOffsetDelta + 1`, at least 1).
    pub offsets: u64,
    /// Its largest record timestamp.
    pub max_timestamp: i64,
}

impl ProducerBatch {
    /// The producer fields of a batch; `None` if no idempotent producer wrote
    /// it or it spans no offsets.
    pub fn of(header: &BatchHeader) -> Option<Self> {
        if !header.has_producer() {
            return None;
        }
        Some(Self {
            producer_id: header.producer_id,
            epoch: header.producer_epoch,
            base_sequence: header.base_sequence,
            offsets: batch::offset_count(header)?,
            max_timestamp: header.max_timestamp,
        })
    }

    /// The sequence of its last record (wrapping past `i32::MAX` to 0).
    pub fn last_sequence(&self) -> i32 {
        let last = (i64::from(self.base_sequence) + self.offsets as i64 - 1) % SEQUENCE_SPACE;
        last as i32
    }
}

/// The sequence that follows `sequence`.
pub fn next_sequence(sequence: i32) -> i32 {
    ((i64::from(sequence) + 1) % SEQUENCE_SPACE) as i32
}

/// What to do with one producer batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write it; it takes the next offsets.
    Append,
    /// It was written before: answer with its offset, write nothing.
    Duplicate {
        /// The offset its first record got then.
        base_offset: u64,
    },
    /// Refuse it with this Kafka error code; write nothing.
    Reject(i16),
}

/// The state of every producer id a partition knows, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producers {
    by_id: BTreeMap<i64, ProducerState>,
}

impl Producers {
    /// The state of `producer_id`, if known.
    pub fn get(&self, producer_id: i64) -> Option<&ProducerState> {
        self.by_id.get(&producer_id)
    }

    /// Every known producer, by id.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &ProducerState)> {
        self.by_id.iter().map(|(id, s)| (*id, s))
    }

    /// How many producers are known.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no producer is known.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Sets the state of `producer_id` (loading it from storage).
    pub fn insert(&mut self, producer_id: i64, state: ProducerState) {
        self.by_id.insert(producer_id, state);
    }

    /// The verdict on `batch` (see the module table).
    pub fn check(&self, batch: &ProducerBatch) -> Verdict {
        if batch.epoch < 0 || batch.base_sequence < 0 {
            return Verdict::Reject(INVALID_RECORD);
        }
        let Some(state) = self.by_id.get(&batch.producer_id) else {
            return if batch.base_sequence == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(UNKNOWN_PRODUCER_ID)
            };
        };
        if batch.epoch < state.epoch {
            return Verdict::Reject(INVALID_PRODUCER_EPOCH);
        }
        if batch.epoch > state.epoch {
            return if batch.base_sequence == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let last_sequence = batch.last_sequence();
        if let Some(done) = state
            .batches
            .iter()
            .find(|b| b.first_sequence == batch.base_sequence && b.last_sequence == last_sequence)
        {
            return Verdict::Duplicate {
                base_offset: done.base_offset,
            };
        }
        match state.last_sequence() {
            Some(last) if batch.base_sequence == next_sequence(last) => Verdict::Append,
            None if batch.base_sequence == 0 => Verdict::Append,
            _ => Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
        }
    }

    /// Records that `batch` (checked [`Verdict::Append`]) was written at
    /// `base_offset`.
    pub fn record(&mut self, batch: &ProducerBatch, base_offset: u64) {
        let state = self
            .by_id
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerState {
                epoch: batch.epoch,
                batches: VecDeque::new(),
                last_timestamp: i64::MIN,
            });
        if state.epoch != batch.epoch {
            state.epoch = batch.epoch;
            state.batches.clear();
        }
        state.batches.push_back(CachedBatch {
            first_sequence: batch.base_sequence,
            last_sequence: batch.last_sequence(),
            base_offset,
            offsets: batch.offsets,
            max_timestamp: batch.max_timestamp,
        });
        while state.batches.len() > CACHED_BATCHES {
            state.batches.pop_front();
        }
        state.last_timestamp = state.last_timestamp.max(batch.max_timestamp);
    }

    /// A transaction marker of `producer_id` at `epoch`, stamped
    /// `timestamp`, was written: a newer epoch fences the older one here
    /// (its batches are refused from now on), and a producer unknown here
    /// becomes known at that epoch.
    pub fn on_marker(&mut self, producer_id: i64, epoch: i16, timestamp: i64) {
        let state = self
            .by_id
            .entry(producer_id)
            .or_insert_with(|| ProducerState {
                epoch,
                batches: VecDeque::new(),
                last_timestamp: i64::MIN,
            });
        if epoch > state.epoch {
            state.epoch = epoch;
            state.batches.clear();
        }
        state.last_timestamp = state.last_timestamp.max(timestamp);
    }

    /// Forgets every producer last seen before `last_seen_before_ms`, but
    /// those `keep` names (a producer with a transaction open); returns
    /// their ids, in order.
    pub fn expire(&mut self, last_seen_before_ms: i64, keep: impl Fn(i64) -> bool) -> Vec<i64> {
        let gone: Vec<i64> = self
            .by_id
            .iter()
            .filter(|(id, s)| s.last_timestamp < last_seen_before_ms && !keep(**id))
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            self.by_id.remove(id);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(producer_id: i64, epoch: i16, base_sequence: i32, records: u64) -> ProducerBatch {
        ProducerBatch {
            producer_id,
            epoch,
            base_sequence,
            offsets: records,
            max_timestamp: 1_000,
        }
    }

    /// Producers after writing `batches` in order at consecutive offsets
    /// from 0 (each must be appended).
    fn written(batches: &[ProducerBatch]) -> Producers {
        let mut p = Producers::default();
        let mut offset = 0;
        for b in batches {
            assert_eq!(p.check(b), Verdict::Append, "{b:?}");
            p.record(b, offset);
            offset += b.offsets;
        }
        p
    }

    #[test]
    fn the_verdicts_of_the_module_table() {
        // Producer 7 at epoch 2 has written sequences 0..=9 in two batches
        // (offsets 0..=4 and 5..=9).
        let p = written(&[batch(7, 2, 0, 5), batch(7, 2, 5, 5)]);
        let cases = [
            (batch(8, 0, 0, 1), Verdict::Append),
            (batch(8, 0, 3, 1), Verdict::Reject(UNKNOWN_PRODUCER_ID)),
            (batch(7, 1, 10, 1), Verdict::Reject(INVALID_PRODUCER_EPOCH)),
            (batch(7, 3, 0, 1), Verdict::Append),
            (
                batch(7, 3, 10, 1),
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
            ),
            (batch(7, 2, 0, 5), Verdict::Duplicate { base_offset: 0 }),
            (batch(7, 2, 5, 5), Verdict::Duplicate { base_offset: 5 }),
            (batch(7, 2, 10, 3), Verdict::Append),
            // A gap, a repeat that is not one of the batches, an overlap.
            (
                batch(7, 2, 12, 1),
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
            ),
            (
                batch(7, 2, 0, 3),
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
            ),
            (
                batch(7, 2, 8, 4),
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
            ),
            (batch(7, -1, 10, 1), Verdict::Reject(INVALID_RECORD)),
            (batch(7, 2, -1, 1), Verdict::Reject(INVALID_RECORD)),
        ];
        for (b, want) in cases {
            assert_eq!(p.check(&b), want, "{b:?}");
        }
    }

    #[test]
    fn only_the_last_five_batches_are_recognised() {
        let batches: Vec<_> = (0..7).map(|i| batch(1, 0, i, 1)).collect();
        let p = written(&batches);
        assert_eq!(p.get(1).unwrap().batches.len(), CACHED_BATCHES);
        for seq in 0..2 {
            assert_eq!(
                p.check(&batch(1, 0, seq, 1)),
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
            );
        }
        for seq in 2..7 {
            assert_eq!(
                p.check(&batch(1, 0, seq, 1)),
                Verdict::Duplicate {
                    base_offset: seq as u64
                }
            );
        }
    }

    #[test]
    fn sequences_wrap_past_i32_max() {
        let mut p = Producers::default();
        // A producer state as it would be after i32::MAX - 1 records.
        p.record(&batch(3, 0, 0, 1), 0);
        p.by_id.get_mut(&3).unwrap().batches[0].last_sequence = i32::MAX - 2;
        let across = batch(3, 0, i32::MAX - 1, 4);
        assert_eq!(across.last_sequence(), 1);
        assert_eq!(p.check(&across), Verdict::Append);
        p.record(&across, 100);
        assert_eq!(p.check(&across), Verdict::Duplicate { base_offset: 100 });
        assert_eq!(p.check(&batch(3, 0, 2, 1)), Verdict::Append);
        assert_eq!(
            p.check(&batch(3, 0, 0, 1)),
            Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(next_sequence(i32::MAX), 0);
    }

    #[test]
    fn a_new_epoch_forgets_the_old_batches() {
        let mut p = written(&[batch(4, 0, 0, 2)]);
        p.record(&batch(4, 1, 0, 1), 2);
        let state = p.get(4).unwrap();
        assert_eq!((state.epoch, state.batches.len()), (1, 1));
        assert_eq!(
            p.check(&batch(4, 0, 2, 1)),
            Verdict::Reject(INVALID_PRODUCER_EPOCH)
        );
    }

    #[test]
    fn a_marker_at_a_newer_epoch_fences_the_older_one() {
        let mut p = written(&[batch(4, 1, 0, 2)]);
        p.on_marker(4, 2, 5_000);
        assert_eq!(
            p.check(&batch(4, 1, 2, 1)),
            Verdict::Reject(INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(p.check(&batch(4, 2, 0, 1)), Verdict::Append);
        // A marker at the current epoch keeps the sequence going.
        let mut p = written(&[batch(5, 1, 0, 2)]);
        p.on_marker(5, 1, 5_000);
        assert_eq!(p.check(&batch(5, 1, 2, 1)), Verdict::Append);
        assert_eq!(p.get(5).unwrap().last_timestamp, 5_000);
        // An unknown producer becomes known at the marker's epoch.
        p.on_marker(6, 3, 1);
        assert_eq!(
            p.check(&batch(6, 2, 0, 1)),
            Verdict::Reject(INVALID_PRODUCER_EPOCH)
        );
    }

    #[test]
    fn expiry_drops_producers_last_seen_before_the_cut_off() {
        let mut p = Producers::default();
        for (id, ts) in [(1, 100), (2, 200), (3, 300)] {
            let mut b = batch(id, 0, 0, 1);
            b.max_timestamp = ts;
            p.record(&b, id as u64);
        }
        // Producer 1 has a transaction open: it stays.
        assert_eq!(p.expire(250, |id| id == 1), vec![2]);
        assert_eq!(p.expire(250, |_| false), vec![1]);
        assert_eq!(p.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![3]);
        assert!(p.expire(250, |_| false).is_empty());
        // A forgotten producer that goes on mid-stream is unknown.
        assert_eq!(
            p.check(&batch(1, 0, 1, 1)),
            Verdict::Reject(UNKNOWN_PRODUCER_ID)
        );
    }

    #[test]
    fn the_same_batches_give_the_same_state() {
        let batches = [batch(1, 0, 0, 2), batch(2, 5, 0, 1), batch(1, 0, 2, 3)];
        assert_eq!(written(&batches), written(&batches));
    }
}
