//! The type config and state machine of coordinator partitions: those of
//! `__consumer_offsets` and of `__transaction_state`. Each such partition is
//! a Raft group whose entries are coordinator [`Event`]s stamped with the
//! proposer's clock; every replica applies them to a
//! `cairn_coordinator::GroupCoordinator` and a
//! `cairn_coordinator::txn::TransactionCoordinator` (pure and
//! deterministic), so every replica holds the same groups, offsets,
//! transactions and timers, and a new leader carries on where the old one
//! stopped. An offsets partition uses the group half, a transaction state
//! partition the transaction half ([`Event::Txn`]): one Raft type, so the
//! RPC, leadership transfer, failover and dissemination paths serve both.
//! The generic snapshot state machine snapshots both halves
//! ([`cairn_coordinator::encode_shard`]), so the log can be purged.

use serde::{Deserialize, Serialize};

use cairn_common::Machine;
use cairn_coordinator::txn::{TransactionCoordinator, TxnDecision};
use cairn_coordinator::{Decision, Event, GroupCoordinator, GroupCoordinatorConfig, Millis};
use openraft::LogId;

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    /// The type config of `__consumer_offsets` partition groups.
    pub OffsetsTypeConfig: D = CoordinatorCommand, R = CoordinatorReply
);

/// One Raft entry of an offsets partition: an event and the time the
/// proposer stamped it with (the coordinator's only clock).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorCommand {
    /// What happened.
    pub event: Event,
    /// Milliseconds since the Unix epoch, on the proposer's clock.
    pub now_ms: Millis,
}

/// What applying one entry decided; only the proposer acts on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorReply {
    /// The group coordinator's decisions, in order.
    pub decisions: Vec<Decision>,
    /// The transaction coordinator's decisions, in order.
    pub txn: Vec<TxnDecision>,
}

/// The state of one coordinator partition: a group coordinator and a
/// transaction coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetsMachine(pub GroupCoordinator, pub TransactionCoordinator);

impl Default for OffsetsMachine {
    fn default() -> Self {
        let coordinator = GroupCoordinator::new(GroupCoordinatorConfig::default())
            .expect("the default coordinator config is valid");
        Self(coordinator, TransactionCoordinator::default())
    }
}

impl Machine<OffsetsTypeConfig> for OffsetsMachine {
    fn apply(&mut self, _log_id: &LogId<u64>, command: &CoordinatorCommand) -> CoordinatorReply {
        match &command.event {
            Event::Txn(event) => CoordinatorReply {
                decisions: Vec::new(),
                txn: self.1.apply(event.clone(), command.now_ms),
            },
            event => CoordinatorReply {
                decisions: self.0.apply(event.clone(), command.now_ms),
                txn: Vec::new(),
            },
        }
    }

    // Snapshots written before transactions existed hold the group
    // coordinator alone; the rest follows it only when there is any.
    fn encode(&self) -> Result<Vec<u8>, bincode::Error> {
        cairn_coordinator::encode_shard(&self.0, &self.1)
    }

    fn decode(bytes: &[u8]) -> Result<Self, bincode::Error> {
        cairn_coordinator::decode_shard(bytes).map(|(groups, txns)| Self(groups, txns))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use cairn_coordinator::{OffsetCommitRequest, PartitionCommit, RequestId, Response};
    use cairn_raft::RaftTiming;
    use cairn_storage::single_node::NoPeers;
    use cairn_storage::{Engine, EngineOptions, LogStore, SnapshotStateMachine};
    use openraft::{BasicNode, Raft};

    use super::*;

    const GROUP: u64 = 42;

    async fn open(
        engine: &Engine,
    ) -> (
        Raft<OffsetsTypeConfig>,
        cairn_storage::state_machine::MachineReader<OffsetsMachine>,
    ) {
        let log = LogStore::<OffsetsTypeConfig>::new(engine.clone(), GROUP);
        let sm =
            SnapshotStateMachine::<OffsetsTypeConfig, OffsetsMachine>::open(engine.clone(), GROUP)
                .unwrap();
        let reader = sm.reader();
        let config = RaftTiming::METADATA.config("test", Some(3)).unwrap();
        let raft = Raft::new(1, config, NoPeers, log, sm).await.unwrap();
        (raft, reader)
    }

    fn commit(seq: u64, offset: i64) -> CoordinatorCommand {
        CoordinatorCommand {
            event: Event::OffsetCommit(OffsetCommitRequest {
                request: RequestId { origin: 1, seq },
                group_id: "dashboards".into(),
                generation_id: -1,
                member_id: String::new(),
                group_instance_id: None,
                topics: vec![(
                    "trucks".into(),
                    vec![PartitionCommit {
                        partition: 0,
                        offset,
                        leader_epoch: None,
                        metadata: None,
                    }],
                )],
                group_id_not_found_supported: false,
            }),
            now_ms: 1_000 + seq,
        }
    }

    fn committed(reader: &cairn_storage::state_machine::MachineReader<OffsetsMachine>) -> i64 {
        reader.read(|m| {
            m.0.offsets()
                .get("dashboards", "trucks", 0)
                .map_or(-1, |c| c.offset)
        })
    }

    /// Commits go through Raft, are answered with the coordinator's decision,
    /// and survive a restart from the snapshot plus the log after it.
    #[tokio::test]
    async fn commits_are_raft_entries_that_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
        let (raft, reader) = open(&engine).await;
        let members = BTreeMap::from([(1, BasicNode::default())]);
        raft.initialize(members).await.unwrap();
        raft.wait(None)
            .current_leader(1, "single node leads")
            .await
            .unwrap();
        // Enough entries for a snapshot (every 3) and a tail after it.
        for seq in 0..8 {
            let reply = raft
                .client_write(commit(seq, 10 * seq as i64))
                .await
                .unwrap();
            let answered = reply.data.decisions.iter().any(|d| {
                matches!(d, Decision::Respond { request, response: Response::OffsetCommit(_) }
                    if request.seq == seq)
            });
            assert!(answered, "commit {seq} not answered: {:?}", reply.data);
        }
        assert_eq!(committed(&reader), 70);
        raft.trigger().snapshot().await.unwrap();
        raft.wait(Some(std::time::Duration::from_secs(10)))
            .metrics(
                |m| m.snapshot.is_some_and(|s| s.index >= 8),
                "a snapshot covering the commits",
            )
            .await
            .unwrap();
        let last = raft.client_write(commit(8, 80)).await.unwrap().log_id.index;
        raft.shutdown().await.unwrap();
        drop(raft);

        let (raft, reader) = open(&engine).await;
        raft.wait(Some(std::time::Duration::from_secs(10)))
            .applied_index_at_least(Some(last), "the log after the snapshot replayed")
            .await
            .unwrap();
        // The snapshot restored the state up to its point; the entries after it
        // were applied again on top.
        assert_eq!(committed(&reader), 80);
        raft.shutdown().await.unwrap();
    }
}
