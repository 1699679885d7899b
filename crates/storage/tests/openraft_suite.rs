//! openraft's storage test suite against Cairn's RocksDB stores: the log store
//! with both kinds of state machine the brokers run.

use cairn_storage::{
    Engine, EngineOptions, LogStore, PartitionRequest, PartitionResponse, PartitionStore,
};
use cairn_storage::{Machine, SnapshotStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{LogId, StorageError};
use serde::{Deserialize, Serialize};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    pub PartitionTest: D = PartitionRequest, R = PartitionResponse
);

/// A key-value machine standing in for the metadata catalogue (which lives in a
/// crate above this one) so that the generic snapshot machine is tested with a
/// second request type.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KvMachine {
    entries: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KvSet {
    pub key: String,
    pub value: String,
}

openraft::declare_raft_types!(
    pub KvTest: D = KvSet, R = Option<String>
);

impl Machine<KvTest> for KvMachine {
    fn apply(&mut self, _log_id: &LogId<u64>, request: &KvSet) -> Option<String> {
        self.entries
            .insert(request.key.clone(), request.value.clone())
    }
}

struct Builder;

impl<C, M> StoreBuilder<C, LogStore<C>, SnapshotStateMachine<C, M>, tempfile::TempDir> for Builder
where
    C: cairn_storage::GroupTypeConfig,
    C::D: Serialize + serde::de::DeserializeOwned,
    C::R: Default,
    M: Machine<C>,
{
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore<C>, SnapshotStateMachine<C, M>), StorageError<u64>>
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(dir.path(), &EngineOptions::default()).expect("open engine");
        // Use a group id other than 0 and share the engine with a neighbour
        // group, so that key ranges are exercised as they are in a broker.
        let _neighbour: LogStore<C> = LogStore::new(engine.clone(), 41);
        let log = LogStore::new(engine.clone(), 42);
        let sm = SnapshotStateMachine::open(engine, 42)?;
        Ok((dir, log, sm))
    }
}

struct PartitionBuilder;

impl
    StoreBuilder<
        PartitionTest,
        LogStore<PartitionTest>,
        PartitionStore<PartitionTest>,
        tempfile::TempDir,
    > for PartitionBuilder
{
    async fn build(
        &self,
    ) -> Result<
        (
            tempfile::TempDir,
            LogStore<PartitionTest>,
            PartitionStore<PartitionTest>,
        ),
        StorageError<u64>,
    > {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(dir.path(), &EngineOptions::default()).expect("open engine");
        let log = LogStore::new(engine.clone(), 42);
        let sm = PartitionStore::open(engine, 42)?;
        Ok((dir, log, sm))
    }
}

#[test]
fn partition_store_passes_openraft_suite() -> Result<(), StorageError<u64>> {
    Suite::<
        PartitionTest,
        LogStore<PartitionTest>,
        PartitionStore<PartitionTest>,
        PartitionBuilder,
        _,
    >::test_all(PartitionBuilder)
}

#[test]
fn kv_store_passes_openraft_suite() -> Result<(), StorageError<u64>> {
    Suite::<KvTest, LogStore<KvTest>, SnapshotStateMachine<KvTest, KvMachine>, Builder, _>::test_all(
        Builder,
    )
}
