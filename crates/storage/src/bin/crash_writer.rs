//! Test helper for the storage crash test (`tests/crash.rs`): runs single-node
//! Raft groups on a Cairn RocksDB engine and writes to all of them as fast as
//! it can, printing `ack GROUP INDEX TERM` for every write openraft reports
//! durable and applied. The test SIGKILLs it mid-stream and checks the store.
//!
//! Usage: `cairn-storage-crash-writer DATA_DIR GROUPS`

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use cairn_storage::single_node::NoPeers;
use cairn_storage::{
    Engine, EngineOptions, LogStore, PartitionRequest, PartitionResponse, PartitionStore,
};
use openraft::{BasicNode, Raft};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    pub CrashTest: D = PartitionRequest, R = PartitionResponse
);

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
        let sm =
            PartitionStore::<CrashTest>::open(engine.clone(), group).expect("open state machine");
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
        let batch = cairn_common::batch::build(&[b"crash-test-record"], 0);
        tasks.push(tokio::spawn(async move {
            loop {
                match raft
                    .client_write(PartitionRequest::Append {
                        batches: vec![serde_bytes::ByteBuf::from(batch.clone())],
                    })
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
