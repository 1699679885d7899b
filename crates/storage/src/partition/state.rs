//! What a partition persists besides the Raft log: its applied state (one
//! `state` row) and its offset index (one `index` row per log entry holding
//! records), with the keys and reads of both.
//!
//! Formats (must never change: existing data dirs hold them):
//! - `state`: `group ‖ PartitionState` → bincode [`PartitionState`];
//! - `index`: `group ‖ last offset` (big-endian) → bincode [`IndexEntry`].
//!
//! Invariant: index rows are keyed by the entry's last offset, so seeking to
//! `group ‖ offset` lands on the row holding `offset`, and no row below the
//! log start offset is ever stored (a trim deletes them in the same write
//! that moves the log start).

use openraft::{BasicNode, ErrorVerb, LogId, StoredMembership};
use rocksdb::{Direction, IteratorMode, ReadOptions};
use serde::{Deserialize, Serialize};

use crate::error::sm_err;
use crate::keys::{self, StateTag};
use crate::{Engine, GroupId, GroupTypeConfig, StorageError};

use super::command::{PartitionRequest, PartitionResponse};

pub(super) type StorageResult<T> = Result<T, openraft::StorageError<u64>>;

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

/// The `index` key of the row whose entry ends at `last_offset`.
pub(super) fn index_key(group: GroupId, last_offset: u64) -> [u8; 16] {
    keys::log_key(group, last_offset)
}

/// The `state` key of `group`'s applied state.
pub(super) fn state_key(group: GroupId) -> [u8; 9] {
    keys::state_key(group, StateTag::PartitionState)
}

/// `group`'s applied state as last written; the default if it never applied.
pub(super) fn read_state(engine: &Engine, group: GroupId) -> StorageResult<PartitionState> {
    let bytes = engine
        .db()
        .get_cf(engine.cf_state(), state_key(group))
        .map_err(|e| sm_err(ErrorVerb::Read, e))?;
    match bytes {
        Some(b) => bincode::deserialize(&b).map_err(|e| sm_err(ErrorVerb::Read, *e)),
        None => Ok(PartitionState::default()),
    }
}

/// The stored index rows of `group` from the one holding `offset` on, in order.
pub(super) fn index_rows(
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

/// The log entry of `group` at `index`, if it is still stored.
pub(super) fn log_entry<C>(
    engine: &Engine,
    group: GroupId,
    index: u64,
) -> Result<Option<openraft::Entry<C>>, StorageError>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    let bytes = engine
        .db()
        .get_cf(engine.cf_log(), keys::log_key(group, index))
        .map_err(|source| StorageError::Io {
            op: "read log entry",
            group,
            source,
        })?;
    bytes
        .map(|b| {
            bincode::deserialize(&b).map_err(|source| StorageError::Corrupt {
                what: "log entry",
                group,
                source,
            })
        })
        .transpose()
}
