//! Read access to a partition, shared with the broker while openraft owns the
//! state machine: the offsets (high watermark, log start, and a watch of the
//! high watermark for Fetch long-polls), fetch reads, offset lookup by
//! timestamp, and the retention point.
//!
//! A fetch seeks the index to the entry holding an offset, reads that Raft
//! log entry and patches each batch's baseOffset (outside the CRC) with the
//! offset apply gave it. Invariant: nothing at or above the high watermark
//! is ever returned, and a `read_committed` read returns nothing at or
//! above the last stable offset.

use std::marker::PhantomData;
use std::sync::Arc;

use openraft::EntryPayload;
use serde_bytes::ByteBuf;
use tokio::sync::watch;

use cairn_common::batch;

use crate::{Engine, GroupId, GroupTypeConfig, StorageError};

use super::command::{PartitionRequest, PartitionResponse};
use super::producers::Producers;
use super::retention::{retention_point, RetentionLimits};
use super::state::{
    index_rows, index_rows_skipping, log_entry, log_entry_term, read_producers, IndexEntry,
};
use super::txn_index::AbortedTxn;
use super::Shared;

/// Index rows read per seek.
const INDEX_ROWS_PER_SEEK: usize = 64;

/// Batches read from a partition.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadBatches {
    /// Concatenated batches with their assigned base offsets.
    pub bytes: Vec<u8>,
    /// The high watermark when read.
    pub high_watermark: u64,
    /// The last stable offset when read.
    pub last_stable_offset: u64,
    /// For a `read_committed` read, the aborted transactions whose records
    /// may be among those returned.
    pub aborted: Vec<AbortedTxn>,
}

/// Read access to a partition: offsets and records.
pub struct PartitionReader<C> {
    pub(super) engine: Engine,
    pub(super) group: GroupId,
    pub(super) shared: Arc<Shared>,
    pub(super) _types: PhantomData<fn() -> C>,
}

impl<C> Clone for PartitionReader<C> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            group: self.group,
            shared: self.shared.clone(),
            _types: PhantomData,
        }
    }
}

impl<C> PartitionReader<C>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    /// The partition's Raft group.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// The high watermark: one past the last committed and applied offset.
    pub fn high_watermark(&self) -> u64 {
        self.shared.read(|s| s.next_offset)
    }

    /// The first offset still kept.
    pub fn log_start_offset(&self) -> u64 {
        self.shared.read(|s| s.log_start_offset)
    }

    /// The last stable offset: the first offset of the oldest transaction
    /// still open here, or the high watermark.
    pub fn last_stable_offset(&self) -> u64 {
        // The high watermark first: apply publishes the transactions
        // before the state, so these transactions are at least as new.
        let high_watermark = self.high_watermark();
        self.shared
            .read_txns(|t| t.last_stable_offset(high_watermark))
    }

    /// The producers with a transaction open here, with its first offset.
    pub fn open_transactions(&self) -> Vec<(i64, u64)> {
        self.shared.read_txns(|t| t.open().collect())
    }

    /// A receiver that changes whenever the high watermark moves.
    pub fn high_watermark_changes(&self) -> watch::Receiver<u64> {
        self.shared.high_watermark.subscribe()
    }

    /// Stored bytes of the kept entries.
    pub fn size_bytes(&self) -> u64 {
        self.shared.read(|s| s.bytes)
    }

    fn index_from(&self, offset: u64) -> Result<Vec<IndexEntry>, StorageError> {
        index_rows(&self.engine, self.group, offset)
            .take(INDEX_ROWS_PER_SEEK)
            .collect()
    }

    /// The idempotent producers this partition knows, as last applied.
    pub fn producers(&self) -> Result<Producers, StorageError> {
        read_producers(&self.engine, self.group)
    }

    /// Where retention would move the log start (see [`retention_point`]):
    /// past leading entries older than `expire_before_ms`, and past as many
    /// as needed to keep at most `max_bytes`. Never beyond the high
    /// watermark; the current log start if nothing is due.
    pub fn retention_point(
        &self,
        expire_before_ms: Option<i64>,
        max_bytes: Option<u64>,
    ) -> Result<u64, StorageError> {
        let (log_start, kept) = self.shared.read(|s| (s.log_start_offset, s.bytes));
        retention_point(
            log_start,
            kept,
            index_rows(&self.engine, self.group, log_start),
            RetentionLimits {
                expire_before_ms,
                max_bytes,
            },
        )
    }

    /// The Raft term and record batches of the log entry at `log_index`; no
    /// batches if it is gone or holds no records.
    fn entry_batches(&self, log_index: u64) -> Result<(u64, Vec<ByteBuf>), StorageError> {
        let Some(entry) = log_entry::<C>(&self.engine, self.group, log_index)? else {
            return Ok((0, Vec::new()));
        };
        let term = entry.log_id.leader_id.term;
        Ok(match entry.payload {
            EntryPayload::Normal(PartitionRequest::Append { batches }) => (term, batches),
            EntryPayload::Normal(PartitionRequest::TxnMarker { batch, .. }) => (term, vec![batch]),
            _ => (term, Vec::new()),
        })
    }

    /// The Raft term of the entry holding `offset`; `None` if no kept entry does.
    fn term_at(&self, offset: u64) -> Result<Option<u64>, StorageError> {
        let Some(row) = index_rows(&self.engine, self.group, offset)
            .next()
            .transpose()?
            .filter(|row| row.base_offset <= offset)
        else {
            return Ok(None);
        };
        log_entry_term(&self.engine, self.group, row.log_index)
    }

    /// Kafka's OffsetForLeaderEpoch on this replica, a leader epoch being a
    /// Raft term: see [`epoch_end`]. `current_term` is the leader's.
    pub fn epoch_end(
        &self,
        epoch: u64,
        current_term: u64,
    ) -> Result<Option<(u64, u64)>, StorageError> {
        let (log_start, high_watermark) = self.shared.read(|s| (s.log_start_offset, s.next_offset));
        epoch_end(epoch, current_term, log_start..high_watermark, |offset| {
            self.term_at(offset)
        })
    }

    /// Reads whole batches holding offsets from `offset` up to the high
    /// watermark, stopping once `max_bytes` is reached (the first batch is
    /// returned even if larger, so a consumer always makes progress).
    pub fn read(&self, offset: u64, max_bytes: usize) -> Result<ReadBatches, StorageError> {
        self.read_isolated(offset, max_bytes, false)
    }

    /// [`PartitionReader::read`], or with `committed` Kafka's
    /// `read_committed`: only up to the last stable offset, with the
    /// aborted transactions overlapping what was read.
    pub fn read_isolated(
        &self,
        offset: u64,
        max_bytes: usize,
        committed: bool,
    ) -> Result<ReadBatches, StorageError> {
        let high_watermark = self.high_watermark();
        let last_stable_offset = self
            .shared
            .read_txns(|t| t.last_stable_offset(high_watermark));
        let limit = if committed {
            last_stable_offset
        } else {
            high_watermark
        };
        let mut out = ReadBatches {
            bytes: Vec::new(),
            high_watermark,
            last_stable_offset,
            aborted: Vec::new(),
        };
        let mut read_end = offset;
        let mut next = offset;
        'entries: while next < limit {
            let index: Vec<(IndexEntry, Vec<u32>)> =
                index_rows_skipping(&self.engine, self.group, next)
                    .take(INDEX_ROWS_PER_SEEK)
                    .collect::<Result<_, _>>()?;
            if index.is_empty() {
                break;
            }
            for (entry, skipped) in index {
                if entry.base_offset >= limit {
                    break 'entries;
                }
                // Walk the entry's batches with the offsets apply gave them,
                // passing over those it did not write.
                let mut base = entry.base_offset;
                let (term, batches) = self.entry_batches(entry.log_index)?;
                // The epoch a Kafka leader stamps on what it appends: the
                // term of the Raft entry (what OffsetForLeaderEpoch answers by).
                let epoch = i32::try_from(term).unwrap_or(i32::MAX);
                for (position, b) in batches.into_iter().enumerate() {
                    if skipped.contains(&(position as u32)) {
                        continue;
                    }
                    let Some(span) = batch::span(&b) else {
                        continue;
                    };
                    let last = base + span.offsets - 1;
                    if last >= offset && base < limit {
                        if !out.bytes.is_empty() && out.bytes.len() + b.len() > max_bytes {
                            break 'entries;
                        }
                        let start = out.bytes.len();
                        out.bytes.extend_from_slice(&b);
                        batch::set_base_offset(&mut out.bytes[start..], base as i64);
                        batch::set_partition_leader_epoch(&mut out.bytes[start..], epoch);
                        read_end = last + 1;
                    }
                    base += span.offsets;
                }
                // Advance even if the entry's batches could not be read.
                next = next.max(entry.last_offset + 1);
                if out.bytes.len() >= max_bytes {
                    break 'entries;
                }
            }
        }
        if committed && read_end > offset {
            out.aborted = self
                .shared
                .read_txns(|t| t.aborted_between(offset, read_end));
        }
        Ok(out)
    }

    /// The offset of the first entry whose records include a timestamp at or
    /// after `timestamp`, with that entry's largest timestamp; `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(u64, i64)>, StorageError> {
        let mut next = self.log_start_offset();
        loop {
            let index = self.index_from(next)?;
            let Some(last) = index.last() else {
                return Ok(None);
            };
            if let Some(hit) = index.iter().find(|e| e.max_timestamp >= timestamp) {
                return Ok(Some((
                    hit.base_offset.max(self.log_start_offset()),
                    hit.max_timestamp,
                )));
            }
            next = last.last_offset + 1;
        }
    }
}

/// Kafka's OffsetForLeaderEpoch over a Raft log, where a leader epoch is a
/// term and terms never decrease along the log. For `epoch`, answers the
/// largest term at most `epoch` that wrote records, and the offset after
/// its last record (the first offset of a later term, else the high
/// watermark) — as (epoch, end offset). `None` for an epoch newer than
/// `current_term` (Kafka's undefined epoch and offset). The current term
/// ends at the high watermark. If no kept record is as old as `epoch` (say,
/// retention removed them), `epoch` itself is answered with the first kept
/// offset of a later term, as Kafka clamps its epoch cache to the log
/// start. `term_at(offset)` reads the term of the entry holding a kept
/// offset (`None` if it is gone by now: taken as old).
pub fn epoch_end<E>(
    epoch: u64,
    current_term: u64,
    kept: std::ops::Range<u64>,
    mut term_at: impl FnMut(u64) -> Result<Option<u64>, E>,
) -> Result<Option<(u64, u64)>, E> {
    if epoch > current_term {
        return Ok(None);
    }
    if epoch == current_term {
        return Ok(Some((epoch, kept.end)));
    }
    // The first kept offset of a term later than `epoch`.
    let (mut lo, mut hi) = (kept.start, kept.end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if term_at(mid)?.is_some_and(|t| t > epoch) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let end = lo;
    let found = if end > kept.start {
        term_at(end - 1)?.map_or(epoch, |t| t.min(epoch))
    } else {
        epoch
    };
    Ok(Some((found, end)))
}

#[cfg(test)]
mod tests {
    use super::epoch_end;

    /// Offsets 0..10 in term 2, 10..15 in term 5, 15..20 in term 6; term 8 now.
    fn term_at(offset: u64) -> Result<Option<u64>, ()> {
        Ok(Some(match offset {
            0..10 => 2,
            10..15 => 5,
            _ => 6,
        }))
    }

    #[test]
    fn each_epoch_ends_where_the_next_term_begins() {
        let end = |epoch| epoch_end(epoch, 8, 0..20, term_at).unwrap();
        assert_eq!(end(2), Some((2, 10)));
        // A term that wrote nothing ends where the next one that did begins,
        // answered as the last term before it that wrote records.
        assert_eq!(end(3), Some((2, 10)));
        assert_eq!(end(4), Some((2, 10)));
        assert_eq!(end(5), Some((5, 15)));
        assert_eq!(end(6), Some((6, 20)));
        assert_eq!(end(7), Some((6, 20)));
        // The current term ends at the high watermark; a newer one is unknown.
        assert_eq!(end(8), Some((8, 20)));
        assert_eq!(end(9), None);
        // Older than every kept record.
        assert_eq!(end(1), Some((1, 0)));
        assert_eq!(epoch_end(1, 8, 10..20, term_at).unwrap(), Some((1, 10)));
        assert_eq!(epoch_end(2, 8, 10..20, term_at).unwrap(), Some((2, 10)));
        // Nothing kept at all.
        assert_eq!(epoch_end(3, 8, 20..20, term_at).unwrap(), Some((3, 20)));
    }

    #[test]
    fn the_search_reads_a_logarithmic_number_of_entries() {
        let mut reads = 0;
        let got = epoch_end(5, 9, 0..1_000_000, |o| {
            reads += 1;
            Ok::<_, ()>(Some(if o < 700_000 { 5 } else { 7 }))
        })
        .unwrap();
        assert_eq!(got, Some((5, 700_000)));
        assert!(reads <= 22, "{reads} reads");
    }
}
