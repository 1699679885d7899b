//! Read access to a partition, shared with the broker while openraft owns the
//! state machine: the offsets (high watermark, log start, and a watch of the
//! high watermark for Fetch long-polls), fetch reads, offset lookup by
//! timestamp, and the retention point.
//!
//! A fetch seeks the index to the entry holding an offset, reads that Raft
//! log entry and patches each batch's baseOffset (outside the CRC) with the
//! offset apply gave it. Invariant: nothing at or above the high watermark
//! is ever returned.

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
use super::state::{index_rows, index_rows_skipping, log_entry, read_producers, IndexEntry};
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

    /// The record batches of the log entry at `log_index`; none if it is gone
    /// or holds no records.
    fn entry_batches(&self, log_index: u64) -> Result<Vec<ByteBuf>, StorageError> {
        let entry = log_entry::<C>(&self.engine, self.group, log_index)?;
        Ok(match entry.map(|e| e.payload) {
            Some(EntryPayload::Normal(PartitionRequest::Append { batches })) => batches,
            _ => Vec::new(),
        })
    }

    /// Reads whole batches holding offsets from `offset` up to the high
    /// watermark, stopping once `max_bytes` is reached (the first batch is
    /// returned even if larger, so a consumer always makes progress).
    pub fn read(&self, offset: u64, max_bytes: usize) -> Result<ReadBatches, StorageError> {
        let high_watermark = self.high_watermark();
        let mut out = ReadBatches {
            bytes: Vec::new(),
            high_watermark,
        };
        let mut next = offset;
        'entries: while next < high_watermark {
            let index: Vec<(IndexEntry, Vec<u32>)> =
                index_rows_skipping(&self.engine, self.group, next)
                    .take(INDEX_ROWS_PER_SEEK)
                    .collect::<Result<_, _>>()?;
            if index.is_empty() {
                break;
            }
            for (entry, skipped) in index {
                if entry.base_offset >= high_watermark {
                    break 'entries;
                }
                // Walk the entry's batches with the offsets apply gave them,
                // passing over those it did not write.
                let mut base = entry.base_offset;
                for (position, b) in self.entry_batches(entry.log_index)?.into_iter().enumerate() {
                    if skipped.contains(&(position as u32)) {
                        continue;
                    }
                    let Some(span) = batch::span(&b) else {
                        continue;
                    };
                    let last = base + span.offsets - 1;
                    if last >= offset && base < high_watermark {
                        if !out.bytes.is_empty() && out.bytes.len() + b.len() > max_bytes {
                            break 'entries;
                        }
                        let start = out.bytes.len();
                        out.bytes.extend_from_slice(&b);
                        batch::set_base_offset(&mut out.bytes[start..], base as i64);
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
