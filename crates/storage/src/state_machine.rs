//! A state machine kept in memory and made durable by snapshots.
//!
//! [`SnapshotStateMachine`] runs any deterministic [`Machine`] (the metadata
//! catalogue, a partition's bookkeeping) for one group. `apply` changes memory
//! only; every snapshot is written durably to the `state` column family before
//! openraft may purge the log it covers. At start-up the machine is rebuilt from
//! the stored snapshot and openraft re-applies the committed log after it (the
//! log store persists the commit index), so nothing applied is ever forgotten.
//! The snapshot bytes are the bincode-serialized machine, kept in the group's
//! snapshot slot (`crate::snapshot`, shared with the partition machine).

use std::io::Cursor;
use std::sync::{Arc, RwLock};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{EntryPayload, ErrorVerb, LogId, OptionalSend, StoredMembership};
use tokio::sync::watch;

use crate::error::{sm_err, snapshot_err};
use crate::{snapshot, Engine, GroupId, GroupTypeConfig, Machine};

type StorageResult<T> = Result<T, openraft::StorageError<u64>>;

struct Applied<M> {
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, openraft::BasicNode>,
    machine: M,
}

/// Read access to a running group's state, shared with whoever needs to query it.
pub struct MachineReader<M> {
    applied: Arc<RwLock<Applied<M>>>,
    changes: watch::Receiver<Option<LogId<u64>>>,
}

impl<M> Clone for MachineReader<M> {
    fn clone(&self) -> Self {
        Self {
            applied: self.applied.clone(),
            changes: self.changes.clone(),
        }
    }
}

impl<M> MachineReader<M> {
    /// Runs `f` on the current state.
    pub fn read<T>(&self, f: impl FnOnce(&M) -> T) -> T {
        f(&self.applied.read().expect("state machine lock").machine)
    }

    /// The last applied log id.
    pub fn last_applied(&self) -> Option<LogId<u64>> {
        self.applied
            .read()
            .expect("state machine lock")
            .last_applied
    }

    /// A receiver that changes whenever entries are applied or a snapshot is installed.
    pub fn changes(&self) -> watch::Receiver<Option<LogId<u64>>> {
        self.changes.clone()
    }
}

/// openraft's `RaftStateMachine` for a [`Machine`], durable through snapshots.
pub struct SnapshotStateMachine<C: GroupTypeConfig, M: Machine<C>> {
    engine: Engine,
    group: GroupId,
    applied: Arc<RwLock<Applied<M>>>,
    changes: Arc<watch::Sender<Option<LogId<u64>>>>,
    _types: std::marker::PhantomData<fn() -> C>,
}

impl<C: GroupTypeConfig, M: Machine<C>> SnapshotStateMachine<C, M> {
    /// Opens the state machine of `group`, restoring the last stored snapshot.
    pub fn open(engine: Engine, group: GroupId) -> StorageResult<Self> {
        let mut applied = Applied {
            last_applied: None,
            membership: StoredMembership::default(),
            machine: M::default(),
        };
        if let Some(stored) = snapshot::read_stored(&engine, group)? {
            applied.machine =
                M::decode(&stored.data).map_err(|e| snapshot_err(ErrorVerb::Read, *e))?;
            applied.last_applied = stored.meta.last_log_id;
            applied.membership = stored.meta.last_membership.clone();
        }
        let (changes, _) = watch::channel(applied.last_applied);
        Ok(Self {
            engine,
            group,
            applied: Arc::new(RwLock::new(applied)),
            changes: Arc::new(changes),
            _types: std::marker::PhantomData,
        })
    }

    /// A handle to query the state while openraft owns the machine.
    pub fn reader(&self) -> MachineReader<M> {
        MachineReader {
            applied: self.applied.clone(),
            changes: self.changes.subscribe(),
        }
    }

    fn notify(&self, last_applied: Option<LogId<u64>>) {
        self.changes.send_replace(last_applied);
    }
}

/// Builds snapshots from a point-in-time copy of the machine.
pub struct SnapshotBuilder<M> {
    engine: Engine,
    group: GroupId,
    applied: Arc<RwLock<Applied<M>>>,
}

impl<C: GroupTypeConfig, M: Machine<C>> RaftSnapshotBuilder<C> for SnapshotBuilder<M> {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<C>> {
        let (last_log_id, last_membership, data) = {
            let applied = self.applied.read().expect("state machine lock");
            let data = applied
                .machine
                .encode()
                .map_err(|e| sm_err(ErrorVerb::Read, *e))?;
            (applied.last_applied, applied.membership.clone(), data)
        };
        snapshot::store_new(&self.engine, self.group, last_log_id, last_membership, data).await
    }
}

impl<C, M> RaftStateMachine<C> for SnapshotStateMachine<C, M>
where
    C: GroupTypeConfig,
    C::R: Default,
    M: Machine<C>,
{
    type SnapshotBuilder = SnapshotBuilder<M>;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(
        Option<LogId<u64>>,
        StoredMembership<u64, openraft::BasicNode>,
    )> {
        let applied = self.applied.read().expect("state machine lock");
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<C::R>>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut responses = Vec::new();
        let last = {
            let mut applied = self.applied.write().expect("state machine lock");
            for entry in entries {
                applied.last_applied = Some(entry.log_id);
                let response = match &entry.payload {
                    EntryPayload::Blank => C::R::default(),
                    EntryPayload::Normal(request) => applied.machine.apply(&entry.log_id, request),
                    EntryPayload::Membership(membership) => {
                        applied.membership =
                            StoredMembership::new(Some(entry.log_id), membership.clone());
                        C::R::default()
                    }
                };
                responses.push(response);
            }
            applied.last_applied
        };
        self.notify(last);
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            engine: self.engine.clone(),
            group: self.group,
            applied: self.applied.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(snapshot::receive_buffer())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let machine = M::decode(&data).map_err(|e| snapshot_err(ErrorVerb::Read, *e))?;
        snapshot::store_received(&self.engine, self.group, meta, data).await?;
        {
            let mut applied = self.applied.write().expect("state machine lock");
            applied.machine = machine;
            applied.last_applied = meta.last_log_id;
            applied.membership = meta.last_membership.clone();
        }
        self.notify(meta.last_log_id);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<C>>> {
        snapshot::current(&self.engine, self.group)
    }
}
