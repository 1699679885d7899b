//! The one durable snapshot slot of each group, shared by every state machine
//! kind (the generic [`SnapshotStateMachine`](crate::SnapshotStateMachine) and
//! the partition machine): what a snapshot is stored as, how it is written
//! before openraft may purge the log it covers, and how it is handed back.
//!
//! Format (must never change: existing data dirs hold it): one `state` row,
//! `group ‖ Snapshot` → bincode [`StoredSnapshot`] (openraft's meta, then the
//! machine's own bytes). A group keeps only its latest snapshot.

use std::io::Cursor;

use openraft::storage::{Snapshot, SnapshotMeta};
use openraft::{BasicNode, ErrorVerb, LogId, StoredMembership};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use crate::error::snapshot_err;
use crate::keys::{self, StateTag};
use crate::{Engine, GroupId, GroupTypeConfig};

type StorageResult<T> = Result<T, openraft::StorageError<u64>>;

/// A snapshot as stored: openraft's meta and the machine's bytes.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSnapshot {
    pub(crate) meta: SnapshotMeta<u64, BasicNode>,
    pub(crate) data: Vec<u8>,
}

impl StoredSnapshot {
    fn into_snapshot<C: GroupTypeConfig>(self) -> Snapshot<C> {
        Snapshot {
            meta: self.meta,
            snapshot: Box::new(Cursor::new(self.data)),
        }
    }
}

/// The stored snapshot of `group`, if any.
pub(crate) fn read_stored(
    engine: &Engine,
    group: GroupId,
) -> StorageResult<Option<StoredSnapshot>> {
    let bytes = engine
        .db()
        .get_cf(
            engine.cf_state(),
            keys::state_key(group, StateTag::Snapshot),
        )
        .map_err(|e| snapshot_err(ErrorVerb::Read, e))?;
    bytes
        .map(|b| bincode::deserialize(&b).map_err(|e| snapshot_err(ErrorVerb::Read, *e)))
        .transpose()
}

/// Replaces `group`'s snapshot, durably (synced) before it returns.
pub(crate) async fn write_stored(
    engine: &Engine,
    group: GroupId,
    stored: &StoredSnapshot,
) -> StorageResult<()> {
    let bytes = bincode::serialize(stored).map_err(|e| snapshot_err(ErrorVerb::Write, *e))?;
    let mut batch = WriteBatch::default();
    batch.put_cf(
        engine.cf_state(),
        keys::state_key(group, StateTag::Snapshot),
        bytes,
    );
    engine
        .write_durable(batch)
        .await
        .map_err(|e| snapshot_err(ErrorVerb::Write, e))
}

/// `RaftStateMachine::get_current_snapshot` of every kind of group.
pub(crate) fn current<C: GroupTypeConfig>(
    engine: &Engine,
    group: GroupId,
) -> StorageResult<Option<Snapshot<C>>> {
    Ok(read_stored(engine, group)?.map(StoredSnapshot::into_snapshot))
}

/// The current snapshot again, or an empty one if there is none: what a
/// builder returns when it cannot cut a newer one (openraft ignores a
/// snapshot that is not newer than the one it has).
pub(crate) fn current_or_empty<C: GroupTypeConfig>(
    engine: &Engine,
    group: GroupId,
) -> StorageResult<Snapshot<C>> {
    Ok(current(engine, group)?.unwrap_or_else(|| Snapshot {
        meta: SnapshotMeta::default(),
        snapshot: Box::new(Cursor::new(Vec::new())),
    }))
}

/// `RaftStateMachine::begin_receiving_snapshot` of every kind of group: the
/// snapshot arrives in memory.
pub(crate) fn receive_buffer() -> Box<Cursor<Vec<u8>>> {
    Box::new(Cursor::new(Vec::new()))
}

/// Durably stores a snapshot built from `data` and returns it to openraft.
pub(crate) async fn store_new<C: GroupTypeConfig>(
    engine: &Engine,
    group: GroupId,
    last_log_id: Option<LogId<u64>>,
    last_membership: StoredMembership<u64, BasicNode>,
    data: Vec<u8>,
) -> StorageResult<Snapshot<C>> {
    let snapshot_id = match last_log_id {
        Some(id) => format!("{group}-{}-{}", id.leader_id.term, id.index),
        None => format!("{group}-empty"),
    };
    let stored = StoredSnapshot {
        meta: SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        },
        data,
    };
    write_stored(engine, group, &stored).await?;
    cairn_common::metrics::metrics().raft.snapshots_built.inc();
    Ok(stored.into_snapshot())
}

/// Durably stores a snapshot received from the leader (`install_snapshot`),
/// before the machine adopts it.
pub(crate) async fn store_received(
    engine: &Engine,
    group: GroupId,
    meta: &SnapshotMeta<u64, BasicNode>,
    data: Vec<u8>,
) -> StorageResult<()> {
    write_stored(
        engine,
        group,
        &StoredSnapshot {
            meta: meta.clone(),
            data,
        },
    )
    .await?;
    cairn_common::metrics::metrics()
        .raft
        .snapshots_installed
        .inc();
    Ok(())
}
