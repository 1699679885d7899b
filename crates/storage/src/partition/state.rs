//! What a partition persists besides the Raft log: its applied state (one
//! `state` row) and its offset index (one `index` row per log entry holding
//! records), with the keys and reads of both.
//!
//! Formats (must never change: existing data dirs hold them):
//! - `state`: `group ‖ PartitionState` → bincode [`PartitionState`];
//! - `index`: `group ‖ last offset` (big-endian) → bincode [`IndexEntry`],
//!   followed, only if some of the entry's batches were not written, by the
//!   bincode `Vec<u32>` of their positions (rows written before idempotent
//!   producers existed have no tail, and read as skipping nothing);
//! - `producer`: `group ‖ 6 ‖ producer id` → bincode [`ProducerState`];
//! - `txns`: `group ‖ 7` → bincode [`TxnIndex`] (absent: empty).
//!
//! Invariant: index rows are keyed by the entry's last offset, so seeking to
//! `group ‖ offset` lands on the row holding `offset`, and no row below the
//! log start offset is ever stored (a trim deletes them in the same write
//! that moves the log start).

use openraft::{BasicNode, ErrorVerb, LogId, StoredMembership};
use rocksdb::{Direction, IteratorMode, ReadOptions, Snapshot};
use serde::{Deserialize, Serialize};

use crate::error::sm_err;
use crate::keys::{self, StateTag};
use crate::{Engine, GroupId, GroupTypeConfig, StorageError};

use super::command::{PartitionRequest, PartitionResponse};
use super::producers::{ProducerState, Producers};
use super::txn_index::TxnIndex;

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

/// The bytes of an index row: `row`, then `skipped` if it is not empty.
pub(super) fn encode_index_row(
    row: &IndexEntry,
    skipped: &[u32],
) -> Result<Vec<u8>, bincode::Error> {
    let mut bytes = bincode::serialize(row)?;
    if !skipped.is_empty() {
        bincode::serialize_into(&mut bytes, skipped)?;
    }
    Ok(bytes)
}

/// An index row and the positions of the entry's batches it skips.
pub(super) fn decode_index_row(bytes: &[u8]) -> Result<(IndexEntry, Vec<u32>), bincode::Error> {
    let mut rest = bytes;
    let row: IndexEntry = bincode::deserialize_from(&mut rest)?;
    let skipped = if rest.is_empty() {
        Vec::new()
    } else {
        bincode::deserialize(rest)?
    };
    Ok((row, skipped))
}

/// The `state` key of `group`'s applied state.
pub(super) fn state_key(group: GroupId) -> [u8; 9] {
    keys::state_key(group, StateTag::PartitionState)
}

/// `group`'s applied state as last written; the default if it never applied.
pub(super) fn read_state(engine: &Engine, group: GroupId) -> StorageResult<PartitionState> {
    read_state_at(engine, group, None)
}

/// Reads at `at` (a RocksDB snapshot), or the latest writes if `None`.
fn read_options(group: GroupId, at: Option<&Snapshot<'_>>) -> ReadOptions {
    let mut opts = ReadOptions::default();
    opts.set_iterate_upper_bound(keys::group_end(group).to_vec());
    if let Some(snapshot) = at {
        opts.set_snapshot(snapshot);
    }
    opts
}

fn read_state_at(
    engine: &Engine,
    group: GroupId,
    at: Option<&Snapshot<'_>>,
) -> StorageResult<PartitionState> {
    let bytes = engine
        .db()
        .get_cf_opt(
            engine.cf_state(),
            state_key(group),
            &read_options(group, at),
        )
        .map_err(|e| sm_err(ErrorVerb::Read, e))?;
    match bytes {
        Some(b) => bincode::deserialize(&b).map_err(|e| sm_err(ErrorVerb::Read, *e)),
        None => Ok(PartitionState::default()),
    }
}

/// The `state` key of `group`'s transaction index.
pub(super) fn txns_key(group: GroupId) -> [u8; 9] {
    keys::state_key(group, StateTag::Txns)
}

/// `group`'s transaction index as last written; empty if none is.
pub(super) fn read_txns(engine: &Engine, group: GroupId) -> Result<TxnIndex, StorageError> {
    read_txns_at(engine, group, None)
}

fn read_txns_at(
    engine: &Engine,
    group: GroupId,
    at: Option<&Snapshot<'_>>,
) -> Result<TxnIndex, StorageError> {
    let bytes = engine
        .db()
        .get_cf_opt(engine.cf_state(), txns_key(group), &read_options(group, at))
        .map_err(|source| StorageError::Io {
            op: "read transactions",
            group,
            source,
        })?;
    match bytes {
        Some(b) => bincode::deserialize(&b).map_err(|source| StorageError::Corrupt {
            what: "transaction index",
            group,
            source,
        }),
        None => Ok(TxnIndex::default()),
    }
}

/// Every producer state `group` stores.
pub(super) fn read_producers(engine: &Engine, group: GroupId) -> Result<Producers, StorageError> {
    read_producers_at(engine, group, None)
}

fn read_producers_at(
    engine: &Engine,
    group: GroupId,
    at: Option<&Snapshot<'_>>,
) -> Result<Producers, StorageError> {
    let opts = read_options(group, at);
    let from = keys::state_key(group, StateTag::Producer);
    let mut producers = Producers::default();
    for item in engine.db().iterator_cf_opt(
        engine.cf_state(),
        opts,
        IteratorMode::From(&from, Direction::Forward),
    ) {
        let (key, value) = item.map_err(|source| StorageError::Io {
            op: "read producers",
            group,
            source,
        })?;
        let Some(id) = keys::producer_id(&key) else {
            if key.get(8) == Some(&(StateTag::Producer as u8)) {
                continue;
            }
            break;
        };
        let state: ProducerState =
            bincode::deserialize(&value).map_err(|source| StorageError::Corrupt {
                what: "producer state",
                group,
                source,
            })?;
        producers.insert(id, state);
    }
    Ok(producers)
}

/// The stored index rows of `group` from the one holding `offset` on, in order.
pub(super) fn index_rows(
    engine: &Engine,
    group: GroupId,
    offset: u64,
) -> impl Iterator<Item = Result<IndexEntry, StorageError>> + '_ {
    index_rows_skipping(engine, group, offset).map(|row| row.map(|(entry, _)| entry))
}

/// [`index_rows`] with the positions of the batches each row's entry skips.
pub(super) fn index_rows_skipping(
    engine: &Engine,
    group: GroupId,
    offset: u64,
) -> impl Iterator<Item = Result<(IndexEntry, Vec<u32>), StorageError>> + '_ {
    index_rows_at(engine, group, offset, None)
}

fn index_rows_at<'a>(
    engine: &'a Engine,
    group: GroupId,
    offset: u64,
    at: Option<&Snapshot<'_>>,
) -> impl Iterator<Item = Result<(IndexEntry, Vec<u32>), StorageError>> + 'a {
    let opts = read_options(group, at);
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
            decode_index_row(&value).map_err(|source| StorageError::Corrupt {
                what: "index",
                group,
                source,
            })
        })
}

/// What a snapshot is built from, read at one point in time (one RocksDB
/// snapshot), so that they agree even while entries keep being applied: the
/// applied state, the producers and transactions as of it, and the first
/// index row holding records at or above its log start.
pub(super) fn read_consistent(
    engine: &Engine,
    group: GroupId,
) -> StorageResult<(PartitionState, Producers, TxnIndex, Option<IndexEntry>)> {
    let at = engine.db().snapshot();
    let state = read_state_at(engine, group, Some(&at))?;
    let producers =
        read_producers_at(engine, group, Some(&at)).map_err(|e| sm_err(ErrorVerb::Read, e))?;
    let txns = read_txns_at(engine, group, Some(&at)).map_err(|e| sm_err(ErrorVerb::Read, e))?;
    let first_kept = index_rows_at(engine, group, state.log_start_offset, Some(&at))
        .next()
        .transpose()
        .map_err(|e| sm_err(ErrorVerb::Read, e))?
        .map(|(row, _)| row);
    Ok((state, producers, txns, first_kept))
}

/// The log entry of `group` at `index` decoded as `T` (the whole entry, or
/// only its leading fields), if it is still stored.
fn decode_log_entry<T: serde::de::DeserializeOwned>(
    engine: &Engine,
    group: GroupId,
    index: u64,
) -> Result<Option<T>, StorageError> {
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
            // `bincode::deserialize` allows bytes after what `T` reads.
            bincode::deserialize(&b).map_err(|source| StorageError::Corrupt {
                what: "log entry",
                group,
                source,
            })
        })
        .transpose()
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
    decode_log_entry(engine, group, index)
}

/// The Raft term of the log entry at `index`, read without decoding its
/// payload; `None` if the entry is gone.
pub(super) fn log_entry_term(
    engine: &Engine,
    group: GroupId,
    index: u64,
) -> Result<Option<u64>, StorageError> {
    /// An entry's leading field (bincode writes fields in order).
    #[derive(serde::Deserialize)]
    struct Head {
        log_id: openraft::LogId<u64>,
    }
    Ok(decode_log_entry::<Head>(engine, group, index)?.map(|h| h.log_id.leader_id.term))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> IndexEntry {
        IndexEntry {
            log_index: 7,
            base_offset: 100,
            last_offset: 104,
            max_timestamp: 1_700_000_000_000,
            bytes: 321,
        }
    }

    #[test]
    fn rows_without_skips_keep_the_original_format() {
        // Rows written before idempotent producers: plain bincode IndexEntry.
        let old = bincode::serialize(&row()).unwrap();
        assert_eq!(encode_index_row(&row(), &[]).unwrap(), old);
        assert_eq!(decode_index_row(&old).unwrap(), (row(), vec![]));
    }

    #[test]
    fn skipped_positions_round_trip() {
        let bytes = encode_index_row(&row(), &[1, 4]).unwrap();
        assert_eq!(decode_index_row(&bytes).unwrap(), (row(), vec![1, 4]));
        assert!(decode_index_row(&bytes[..10]).is_err());
    }
}
