//! A partition's state machine, where the Raft log *is* the partition log.
//!
//! Produced record batches are stored once, inside the Raft log entries that
//! replicate them. Applying a committed entry assigns its batches consecutive
//! offsets (deterministically, so every replica assigns the same ones) and
//! writes one `index` row, `group ‖ last offset → (log index, base offset, max
//! timestamp)`, together with the partition's applied state, in one RocksDB
//! write batch. A fetch seeks the index to the entry holding an offset, reads
//! that log entry and patches each batch's baseOffset (outside the CRC).
//!
//! Retention: the leader decides a new log start offset and replicates it as
//! a [`PartitionRequest::Trim`]; applying it drops the index rows below it on
//! every replica alike. The log entries themselves go when openraft purges
//! the log, which it does only up to a snapshot. A partition's snapshot is
//! therefore taken not at the last applied entry but just *before the first
//! entry still holding kept records*: everything it covers is deleted data,
//! so it carries only the small state (next offset, log start, membership),
//! and a follower that installs it receives every kept record as ordinary
//! log entries afterwards. Snapshots are taken on request (the broker asks
//! after the log start moves), never by openraft's policy.

use std::io::Cursor;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{BasicNode, EntryPayload, ErrorVerb, LogId, OptionalSend, StoredMembership};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tokio::sync::watch;

use cairn_common::batch;

use crate::error::{sm_err, snapshot_err};
use crate::keys::{self, StateTag};
use crate::snapshot;
use crate::{Engine, GroupId, GroupTypeConfig, StorageError};

type StorageResult<T> = Result<T, openraft::StorageError<u64>>;

/// A command replicated through a partition's Raft log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionRequest {
    /// Appends validated record batches (v2), in order.
    Append {
        /// The batches, as the producers sent them.
        batches: Vec<ByteBuf>,
    },
    /// Moves the log start offset forward to this offset (never back, never
    /// past the high watermark); records below it are deleted.
    Trim {
        /// The new first kept offset.
        log_start_offset: u64,
    },
}

/// What applying a [`PartitionRequest`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionResponse {
    /// Nothing to report (blank and membership entries).
    #[default]
    None,
    /// The base offset given to each appended batch, in order.
    Appended {
        /// One per batch.
        base_offsets: Vec<u64>,
    },
    /// The log start offset after a trim.
    Trimmed {
        /// The first kept offset.
        log_start_offset: u64,
    },
}

/// A partition's applied state; persisted with every apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The last applied log id.
    pub last_applied: Option<LogId<u64>>,
    /// The last applied membership.
    pub membership: StoredMembership<u64, BasicNode>,
    /// The offset the next record gets; the high watermark.
    pub next_offset: u64,
    /// The first offset still kept.
    pub log_start_offset: u64,
    /// Stored bytes of the kept entries (whole entries, as indexed).
    pub bytes: u64,
}

/// Where the records of one log entry live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The Raft log index of the entry.
    pub log_index: u64,
    /// The offset of its first record.
    pub base_offset: u64,
    /// The offset of its last record.
    pub last_offset: u64,
    /// The largest record timestamp in it.
    pub max_timestamp: i64,
    /// The size of its record batches.
    pub bytes: u64,
}

fn index_key(group: GroupId, last_offset: u64) -> [u8; 16] {
    keys::log_key(group, last_offset)
}

struct Shared {
    state: RwLock<PartitionState>,
    high_watermark: watch::Sender<u64>,
}

/// openraft's state machine of a partition group.
pub struct PartitionStore<C> {
    engine: Engine,
    group: GroupId,
    shared: Arc<Shared>,
    _types: PhantomData<fn() -> C>,
}

/// Read access to a partition: offsets and records.
pub struct PartitionReader<C> {
    engine: Engine,
    group: GroupId,
    shared: Arc<Shared>,
    _types: PhantomData<fn() -> C>,
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

impl<C> PartitionStore<C>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    /// Opens the state machine of `group`, reading its applied state.
    pub fn open(engine: Engine, group: GroupId) -> StorageResult<Self> {
        let bytes = engine
            .db()
            .get_cf(
                engine.cf_state(),
                keys::state_key(group, StateTag::PartitionState),
            )
            .map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let state: PartitionState = match bytes {
            Some(b) => bincode::deserialize(&b).map_err(|e| sm_err(ErrorVerb::Read, *e))?,
            None => PartitionState::default(),
        };
        let (high_watermark, _) = watch::channel(state.next_offset);
        Ok(Self {
            engine,
            group,
            shared: Arc::new(Shared {
                state: RwLock::new(state),
                high_watermark,
            }),
            _types: PhantomData,
        })
    }

    /// A reader sharing this machine's state.
    pub fn reader(&self) -> PartitionReader<C> {
        PartitionReader {
            engine: self.engine.clone(),
            group: self.group,
            shared: self.shared.clone(),
            _types: PhantomData,
        }
    }

    /// The bytes of the index rows whose last offset is below `offset`.
    fn indexed_bytes_below(&self, offset: u64) -> StorageResult<u64> {
        let mut total = 0;
        for entry in index_rows(&self.engine, self.group, 0) {
            let entry = entry.map_err(|e| sm_err(ErrorVerb::Read, e))?;
            if entry.last_offset >= offset {
                break;
            }
            total += entry.bytes;
        }
        Ok(total)
    }

    /// Writes `write` together with `state`, then publishes `state` and the
    /// new high watermark. Unsynced: the Raft log holding the applied entries
    /// is durable, and a restart re-applies whatever this write did not keep.
    fn commit_state(&self, mut write: WriteBatch, state: PartitionState) -> StorageResult<()> {
        let bytes = bincode::serialize(&state).map_err(|e| sm_err(ErrorVerb::Write, *e))?;
        write.put_cf(
            self.engine.cf_state(),
            keys::state_key(self.group, StateTag::PartitionState),
            bytes,
        );
        self.engine
            .write(write)
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let hw = state.next_offset;
        *self.shared.state.write().expect("partition state lock") = state;
        self.shared.high_watermark.send_replace(hw);
        Ok(())
    }
}

/// Offsets each batch spans ([`batch::span`]); a batch that does not parse
/// (never the case for batches the broker validated) spans none and is not indexed.
fn batch_span(bytes: &[u8]) -> Option<(u64, i64)> {
    batch::span(bytes).map(|s| (s.offsets, s.max_timestamp))
}

impl<C> RaftStateMachine<C> for PartitionStore<C>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    type SnapshotBuilder = PartitionSnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>)> {
        let state = self.shared.state.read().expect("partition state lock");
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<PartitionResponse>>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut state = self
            .shared
            .state
            .read()
            .expect("partition state lock")
            .clone();
        let mut write = WriteBatch::default();
        let mut responses = Vec::new();
        for entry in entries {
            state.last_applied = Some(entry.log_id);
            let response = match &entry.payload {
                EntryPayload::Blank => PartitionResponse::None,
                EntryPayload::Membership(m) => {
                    state.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                    PartitionResponse::None
                }
                EntryPayload::Normal(PartitionRequest::Trim { log_start_offset }) => {
                    let to = (*log_start_offset).min(state.next_offset);
                    if to > state.log_start_offset {
                        state.bytes = state.bytes.saturating_sub(self.indexed_bytes_below(to)?);
                        // Index rows are keyed by last offset: those below
                        // `to` hold only deleted records.
                        write.delete_range_cf(
                            self.engine.cf_index(),
                            index_key(self.group, 0),
                            index_key(self.group, to),
                        );
                        state.log_start_offset = to;
                    }
                    PartitionResponse::Trimmed {
                        log_start_offset: state.log_start_offset,
                    }
                }
                EntryPayload::Normal(PartitionRequest::Append { batches }) => {
                    let first = state.next_offset;
                    let mut max_timestamp = i64::MIN;
                    let bytes: u64 = batches.iter().map(|b| b.len() as u64).sum();
                    let mut base_offsets = Vec::with_capacity(batches.len());
                    for b in batches {
                        base_offsets.push(state.next_offset);
                        if let Some((count, ts)) = batch_span(b) {
                            state.next_offset += count;
                            max_timestamp = max_timestamp.max(ts);
                        }
                    }
                    if state.next_offset > first {
                        let index = IndexEntry {
                            log_index: entry.log_id.index,
                            base_offset: first,
                            last_offset: state.next_offset - 1,
                            max_timestamp,
                            bytes,
                        };
                        state.bytes += bytes;
                        let value =
                            bincode::serialize(&index).map_err(|e| sm_err(ErrorVerb::Write, *e))?;
                        write.put_cf(
                            self.engine.cf_index(),
                            index_key(self.group, state.next_offset - 1),
                            value,
                        );
                    }
                    PartitionResponse::Appended { base_offsets }
                }
            };
            responses.push(response);
        }
        self.commit_state(write, state)?;
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        PartitionSnapshotBuilder {
            engine: self.engine.clone(),
            group: self.group,
            shared: self.shared.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(snapshot::receive_buffer())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let mut state: PartitionState =
            bincode::deserialize(&data).map_err(|e| snapshot_err(ErrorVerb::Read, *e))?;
        state.last_applied = meta.last_log_id;
        state.membership = meta.last_membership.clone();
        // Whatever this replica indexed before is covered by the snapshot:
        // deleted records, or records the entries after it will bring again.
        let mut write = WriteBatch::default();
        write.delete_range_cf(
            self.engine.cf_index(),
            index_key(self.group, 0),
            index_key(self.group, u64::MAX),
        );
        write.delete_cf(self.engine.cf_index(), index_key(self.group, u64::MAX));
        snapshot::store_received(&self.engine, self.group, meta, data).await?;
        self.commit_state(write, state)
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<C>>> {
        snapshot::current(&self.engine, self.group)
    }
}

/// Builds snapshots of a partition's applied state (not its records).
pub struct PartitionSnapshotBuilder {
    engine: Engine,
    group: GroupId,
    shared: Arc<Shared>,
}

impl<C> RaftSnapshotBuilder<C> for PartitionSnapshotBuilder
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    /// A snapshot that ends just before the first entry holding kept
    /// records (see the module docs); if that point cannot be expressed (its
    /// membership is not known), the current snapshot again, which openraft
    /// ignores as not newer.
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<C>> {
        let state = self
            .shared
            .state
            .read()
            .expect("partition state lock")
            .clone();
        let first_kept = index_rows(&self.engine, self.group, state.log_start_offset)
            .next()
            .transpose()
            .map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let point = match first_kept {
            // Nothing kept: the snapshot is the whole applied state.
            None => Some((state.last_applied, state.next_offset)),
            Some(entry) if entry.log_index <= 1 => None,
            Some(entry) => {
                let before = entry.log_index - 1;
                let membership_at = state.membership.log_id().map_or(0, |id| id.index);
                match log_id_at::<C>(&self.engine, self.group, before)? {
                    Some(id) if membership_at <= before => Some((Some(id), entry.base_offset)),
                    _ => None,
                }
            }
        };
        let Some((last_log_id, next_offset)) = point else {
            return snapshot::current_or_empty(&self.engine, self.group);
        };
        let at = PartitionState {
            last_applied: last_log_id,
            membership: state.membership.clone(),
            next_offset,
            log_start_offset: state.log_start_offset.min(next_offset),
            bytes: 0,
        };
        let data = bincode::serialize(&at).map_err(|e| sm_err(ErrorVerb::Read, *e))?;
        snapshot::store_new(&self.engine, self.group, last_log_id, at.membership, data).await
    }
}

/// The index rows of `group` from the one holding `offset` on, in order.
fn index_rows(
    engine: &Engine,
    group: GroupId,
    offset: u64,
) -> impl Iterator<Item = Result<IndexEntry, StorageError>> + '_ {
    let mut opts = ReadOptions::default();
    opts.set_iterate_upper_bound(keys::group_end(group).to_vec());
    let from = index_key(group, offset);
    engine
        .db()
        .iterator_cf_opt(
            engine.cf_index(),
            opts,
            IteratorMode::From(&from, Direction::Forward),
        )
        .map(move |item| {
            let (_, value) = item.map_err(|source| StorageError::Io {
                op: "read index",
                group,
                source,
            })?;
            bincode::deserialize(&value).map_err(|source| StorageError::Corrupt {
                what: "index",
                group,
                source,
            })
        })
}

/// The log id of the entry at `index`, if it is still stored.
fn log_id_at<C>(engine: &Engine, group: GroupId, index: u64) -> StorageResult<Option<LogId<u64>>>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    let bytes = engine
        .db()
        .get_cf(engine.cf_log(), keys::log_key(group, index))
        .map_err(|e| sm_err(ErrorVerb::Read, e))?;
    bytes
        .map(|b| {
            bincode::deserialize::<openraft::Entry<C>>(&b)
                .map(|e| e.log_id)
                .map_err(|e| sm_err(ErrorVerb::Read, *e))
        })
        .transpose()
}

/// Batches read from a partition.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadBatches {
    /// Concatenated batches with their assigned base offsets.
    pub bytes: Vec<u8>,
    /// The high watermark when read.
    pub high_watermark: u64,
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
        self.shared
            .state
            .read()
            .expect("partition state lock")
            .next_offset
    }

    /// The first offset still kept.
    pub fn log_start_offset(&self) -> u64 {
        self.shared
            .state
            .read()
            .expect("partition state lock")
            .log_start_offset
    }

    /// A receiver that changes whenever the high watermark moves.
    pub fn high_watermark_changes(&self) -> watch::Receiver<u64> {
        self.shared.high_watermark.subscribe()
    }

    fn index_from(&self, offset: u64) -> Result<Vec<IndexEntry>, StorageError> {
        index_rows(&self.engine, self.group, offset)
            .take(64)
            .collect()
    }

    /// Stored bytes of the kept entries.
    pub fn size_bytes(&self) -> u64 {
        self.shared
            .state
            .read()
            .expect("partition state lock")
            .bytes
    }

    /// Where retention would move the log start: past every leading entry
    /// whose largest timestamp is below `expire_before_ms` (entries without
    /// timestamps never expire by time), and past as many leading entries as
    /// needed to bring the kept bytes to `max_bytes` or below. Never beyond
    /// the high watermark; the current log start if nothing is due.
    pub fn retention_point(
        &self,
        expire_before_ms: Option<i64>,
        max_bytes: Option<u64>,
    ) -> Result<u64, StorageError> {
        let (mut point, mut kept) = {
            let state = self.shared.state.read().expect("partition state lock");
            (state.log_start_offset, state.bytes)
        };
        for entry in index_rows(&self.engine, self.group, point) {
            let entry = entry?;
            let by_time = expire_before_ms
                .is_some_and(|t| entry.max_timestamp >= 0 && entry.max_timestamp < t);
            let by_size = max_bytes.is_some_and(|m| kept > m);
            if !(by_time || by_size) {
                break;
            }
            point = point.max(entry.last_offset + 1);
            kept = kept.saturating_sub(entry.bytes);
        }
        Ok(point)
    }

    fn entry_batches(&self, log_index: u64) -> Result<Vec<ByteBuf>, StorageError> {
        let bytes = self
            .engine
            .db()
            .get_cf(self.engine.cf_log(), keys::log_key(self.group, log_index))
            .map_err(|source| StorageError::Io {
                op: "read log entry",
                group: self.group,
                source,
            })?;
        let Some(bytes) = bytes else {
            return Ok(Vec::new());
        };
        let entry: openraft::Entry<C> =
            bincode::deserialize(&bytes).map_err(|source| StorageError::Corrupt {
                what: "log entry",
                group: self.group,
                source,
            })?;
        Ok(match entry.payload {
            EntryPayload::Normal(PartitionRequest::Append { batches }) => batches,
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
            let index = self.index_from(next)?;
            if index.is_empty() {
                break;
            }
            for entry in index {
                if entry.base_offset >= high_watermark {
                    break 'entries;
                }
                let mut base = entry.base_offset;
                for b in self.entry_batches(entry.log_index)? {
                    let Some((count, _)) = batch_span(&b) else {
                        continue;
                    };
                    let last = base + count - 1;
                    if last >= offset && base < high_watermark {
                        if !out.bytes.is_empty() && out.bytes.len() + b.len() > max_bytes {
                            break 'entries;
                        }
                        let start = out.bytes.len();
                        out.bytes.extend_from_slice(&b);
                        batch::set_base_offset(&mut out.bytes[start..], base as i64);
                    }
                    base += count;
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
