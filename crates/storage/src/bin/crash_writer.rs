//! Test helper for the storage crash test (`tests/crash.rs`): runs single-node
//! Raft groups on a Cairn RocksDB engine and writes to all of them as fast as
//! it can, printing `ack GROUP INDEX TERM` for every write openraft reports
//! durable and applied. The test SIGKILLs it mid-stream and checks the store.
//!
//! Usage: `cairn-storage-crash-writer DATA_DIR GROUPS`

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use cairn_storage::{
    Engine, EngineOptions, LogStore, PartitionMachine, PartitionRequest, PartitionResponse,
    SnapshotStateMachine,
};
use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Raft};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    pub CrashTest: D = PartitionRequest, R = PartitionResponse
);

/// Single-node groups never send RPCs; every call reports the peer unreachable.
struct NoPeers;

fn unreachable<E: std::error::Error>() -> RPCError<u64, BasicNode, E> {
    RPCError::Unreachable(Unreachable::new(&std::io::Error::other(
        "single-node group",
    )))
}

impl RaftNetwork<CrashTest> for NoPeers {
    async fn append_entries(
        &mut self,
        _: AppendEntriesRequest<CrashTest>,
        _: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        Err(unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _: InstallSnapshotRequest<CrashTest>,
        _: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        Err(unreachable())
    }

    async fn vote(
        &mut self,
        _: VoteRequest<u64>,
        _: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        Err(unreachable())
    }
}

impl RaftNetworkFactory<CrashTest> for NoPeers {
    type Network = NoPeers;

    async fn new_client(&mut self, _: u64, _: &BasicNode) -> NoPeers {
        NoPeers
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(groups)) = (args.next(), args.next().and_then(|g| g.parse::<u64>().ok()))
    else {
        eprintln!("usage: cairn-storage-crash-writer DATA_DIR GROUPS");
        std::process::exit(2);
    };
    let engine = Engine::open(&dir, &EngineOptions::default()).expect("open engine");
    let config = Arc::new(
        openraft::Config {
            heartbeat_interval: 50,
            election_timeout_min: 150,
            election_timeout_max: 300,
            ..Default::default()
        }
        .validate()
        .expect("valid raft config"),
    );
    let mut rafts = Vec::new();
    for group in 1..=groups {
        let log = LogStore::<CrashTest>::new(engine.clone(), group);
        let sm = SnapshotStateMachine::<CrashTest, PartitionMachine>::open(engine.clone(), group)
            .expect("open state machine");
        let raft = Raft::new(1, config.clone(), NoPeers, log, sm)
            .await
            .expect("start raft");
        if !raft.is_initialized().await.expect("is_initialized") {
            raft.initialize(BTreeMap::from([(1, BasicNode::default())]))
                .await
                .expect("initialize");
        }
        rafts.push((group, raft));
    }
    let mut tasks = Vec::new();
    for (group, raft) in rafts {
        tasks.push(tokio::spawn(async move {
            loop {
                match raft
                    .client_write(PartitionRequest::Append { records: 1 })
                    .await
                {
                    Ok(written) => {
                        let line = format!(
                            "ack {group} {} {}\n",
                            written.log_id.index, written.log_id.leader_id.term
                        );
                        let mut out = std::io::stdout().lock();
                        out.write_all(line.as_bytes()).expect("stdout");
                        out.flush().expect("stdout");
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}
