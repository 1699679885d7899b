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
//! the log, which it does only up to a snapshot, so a partition's snapshot
//! ends just before the first entry still holding kept records and carries
//! only the small state (see [`snapshot`]). Snapshots are taken on request
//! (the broker asks after the log start moves), never by openraft's policy.
//!
//! | module | owns |
//! |---|---|
//! | [`command`] | the entry types: [`PartitionRequest`], [`PartitionResponse`] |
//! | [`state`] | what is persisted: [`PartitionState`], [`IndexEntry`], their keys and reads |
//! | [`apply`] | the pure offset-assignment decision ([`ApplyPlan`]) and the writes it makes |
//! | [`producers`] | idempotent producers' state and the duplicate/sequence verdict (pure) |
//! | [`txn_index`] | open and aborted transactions, the last stable offset (pure) |
//! | [`snapshot`] | where a snapshot ends (pure) and the snapshot builder |
//! | [`retention`] | how far retention may move the log start (pure) |
//! | [`reader`] | fetch reads, offset by timestamp, high watermark watch |
//!
//! This file holds [`PartitionStore`], openraft's `RaftStateMachine`: it
//! feeds committed entries to an [`ApplyPlan`] and writes the plan.

pub mod apply;
pub mod command;
pub mod producers;
pub mod reader;
pub mod retention;
pub mod snapshot;
pub mod state;
pub mod txn_index;

pub use apply::{assign_offsets, ApplyPlan, Assignment, IndexWrite};
pub use command::{PartitionRequest, PartitionResponse};
pub use producers::{CachedBatch, ProducerState, Producers, Verdict};
pub use reader::{epoch_end, PartitionReader, ReadBatches};
pub use retention::{retention_point, RetentionLimits};
pub use snapshot::{snapshot_point, PartitionSnapshotBuilder, SnapshotPoint};
pub use state::{IndexEntry, PartitionState};
pub use txn_index::{AbortedTxn, TxnIndex};

use std::io::Cursor;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{BasicNode, ErrorVerb, LogId, OptionalSend, StoredMembership};
use rocksdb::WriteBatch;
use tokio::sync::watch;

use crate::error::{sm_err, snapshot_err};
use crate::{keys, snapshot as stored_snapshot, Engine, GroupId, GroupTypeConfig};

use state::{
    index_key, index_rows, read_producers, read_state, read_txns, state_key, txns_key,
    StorageResult,
};

/// The applied state, shared by the machine, its readers and its snapshot
/// builder; the watch follows `state.next_offset`.
pub(crate) struct Shared {
    state: RwLock<PartitionState>,
    /// The applied transaction index (for read_committed reads).
    txns: RwLock<TxnIndex>,
    high_watermark: watch::Sender<u64>,
}

impl Shared {
    fn read<T>(&self, f: impl FnOnce(&PartitionState) -> T) -> T {
        f(&self.state.read().expect("partition state lock"))
    }

    fn read_txns<T>(&self, f: impl FnOnce(&TxnIndex) -> T) -> T {
        f(&self.txns.read().expect("partition txns lock"))
    }

    fn state(&self) -> PartitionState {
        self.read(Clone::clone)
    }
}

/// openraft's state machine of a partition group.
pub struct PartitionStore<C> {
    engine: Engine,
    group: GroupId,
    shared: Arc<Shared>,
    /// The idempotent producers' state as of the last applied entry; only
    /// `apply` and `install_snapshot` change it (readers read the rows).
    producers: Producers,
    /// The transaction index as of the last applied entry; `shared.txns`
    /// is a copy published after each apply that changed it.
    txns: TxnIndex,
    _types: PhantomData<fn() -> C>,
}

impl<C> PartitionStore<C>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    /// Opens the state machine of `group`, reading its applied state.
    pub fn open(engine: Engine, group: GroupId) -> StorageResult<Self> {
        let state = read_state(&engine, group)?;
        let producers = read_producers(&engine, group).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let txns = read_txns(&engine, group).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let (high_watermark, _) = watch::channel(state.next_offset);
        Ok(Self {
            engine,
            group,
            shared: Arc::new(Shared {
                state: RwLock::new(state),
                txns: RwLock::new(txns.clone()),
                high_watermark,
            }),
            producers,
            txns,
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

    /// The bytes of the stored index rows whose last offset is in `from..to`.
    fn stored_bytes_between(&self, from: u64, to: u64) -> StorageResult<u64> {
        let mut total = 0;
        for entry in index_rows(&self.engine, self.group, from) {
            let entry = entry.map_err(|e| sm_err(ErrorVerb::Read, e))?;
            if entry.last_offset >= to {
                break;
            }
            total += entry.bytes;
        }
        Ok(total)
    }

    /// Adds to `write` the rows of the `touched` producers: their state in
    /// `producers`, or a delete for those that are gone.
    fn write_producers(
        &self,
        write: &mut WriteBatch,
        producers: &Producers,
        touched: impl IntoIterator<Item = i64>,
    ) -> StorageResult<()> {
        for id in touched {
            let key = keys::producer_key(self.group, id);
            match producers.get(id) {
                Some(state) => {
                    let bytes =
                        bincode::serialize(state).map_err(|e| sm_err(ErrorVerb::Write, *e))?;
                    write.put_cf(self.engine.cf_state(), key, bytes);
                }
                None => write.delete_cf(self.engine.cf_state(), key),
            }
        }
        Ok(())
    }

    /// Writes `write` together with `state` (and `txns` if they changed),
    /// then publishes them and the new high watermark. Unsynced: the Raft
    /// log holding the applied entries is durable, and a restart re-applies
    /// whatever this write did not keep.
    fn commit_state(
        &self,
        mut write: WriteBatch,
        state: PartitionState,
        txns: Option<&TxnIndex>,
    ) -> StorageResult<()> {
        let bytes = bincode::serialize(&state).map_err(|e| sm_err(ErrorVerb::Write, *e))?;
        write.put_cf(self.engine.cf_state(), state_key(self.group), bytes);
        if let Some(txns) = txns {
            let bytes = bincode::serialize(txns).map_err(|e| sm_err(ErrorVerb::Write, *e))?;
            write.put_cf(self.engine.cf_state(), txns_key(self.group), bytes);
        }
        self.engine
            .write(write)
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let hw = state.next_offset;
        // The transactions first: a reader that sees the new high watermark
        // must not see an older last stable offset's transactions.
        if let Some(txns) = txns {
            *self.shared.txns.write().expect("partition txns lock") = txns.clone();
        }
        *self.shared.state.write().expect("partition state lock") = state;
        self.shared.high_watermark.send_replace(hw);
        Ok(())
    }
}

impl<C> RaftStateMachine<C> for PartitionStore<C>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    type SnapshotBuilder = PartitionSnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>)> {
        Ok(self.shared.read(|s| (s.last_applied, s.membership.clone())))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<PartitionResponse>>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // The plan works on the producers' state and hands it back; if any
        // step fails, the group stops (openraft treats a failed apply as
        // fatal) and a restart reads the state as last written.
        let mut plan = ApplyPlan::resume(
            self.shared.state(),
            std::mem::take(&mut self.producers),
            std::mem::take(&mut self.txns),
        );
        for entry in entries {
            let decided = plan.apply_entry(entry.log_id, &entry.payload, |from, to| {
                self.stored_bytes_between(from, to)
            });
            if let Err(e) = decided {
                self.producers = plan.producers;
                self.txns = plan.txns;
                return Err(e);
            }
        }
        let ApplyPlan {
            state,
            index,
            responses,
            producers,
            touched_producers,
            txns,
            txns_touched,
        } = plan;
        self.producers = producers;
        self.txns = txns;
        let mut write = WriteBatch::default();
        apply::write_index(&self.engine, self.group, &mut write, &index)
            .map_err(|e| sm_err(ErrorVerb::Write, *e))?;
        self.write_producers(&mut write, &self.producers, touched_producers)?;
        self.commit_state(write, state, txns_touched.then_some(&self.txns))?;
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        PartitionSnapshotBuilder {
            engine: self.engine.clone(),
            group: self.group,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(stored_snapshot::receive_buffer())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let (mut state, producers, txns) =
            snapshot::decode(&data).map_err(|e| snapshot_err(ErrorVerb::Read, *e))?;
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
        // The producers are the snapshot's: those it does not know go.
        let gone: Vec<i64> = self
            .producers
            .iter()
            .map(|(id, _)| id)
            .filter(|id| producers.get(*id).is_none())
            .collect();
        let all: Vec<i64> = producers.iter().map(|(id, _)| id).chain(gone).collect();
        self.write_producers(&mut write, &producers, all)?;
        stored_snapshot::store_received(&self.engine, self.group, meta, data).await?;
        self.commit_state(write, state, Some(&txns))?;
        self.producers = producers;
        self.txns = txns;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<C>>> {
        stored_snapshot::current(&self.engine, self.group)
    }
}
