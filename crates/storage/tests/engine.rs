//! Engine behaviour that openraft's suite does not cover: group commit across
//! groups, group deletion, and the group directory.

use cairn_storage::{Engine, EngineOptions, LogStore, PartitionRequest, PartitionResponse};
use openraft::storage::RaftLogStorage;
use openraft::{CommittedLeaderId, Vote};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    pub EngineTest: D = PartitionRequest, R = PartitionResponse
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_durable_writes_of_many_groups_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
    let writers = 200u64;
    let mut tasks = Vec::new();
    for group in 1..=writers {
        let mut store = LogStore::<EngineTest>::new(engine.clone(), group);
        tasks.push(tokio::spawn(async move {
            for term in 1..=5 {
                store.save_vote(&Vote::new(term, 1)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = engine.stats();
    assert_eq!(stats.durable_writes, writers * 5);
    assert!(
        stats.fsyncs < stats.durable_writes,
        "no write shared an fsync: {stats:?}"
    );
    // Every vote is readable and the last one won.
    for group in 1..=writers {
        let mut store = LogStore::<EngineTest>::new(engine.clone(), group);
        assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(5, 1)));
    }
}

#[tokio::test]
async fn a_store_without_the_commit_index_neither_writes_nor_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
    let committed = Some(openraft::LogId::new(CommittedLeaderId::new(2, 1), 4));
    let mut kept = LogStore::<EngineTest>::new(engine.clone(), 1);
    kept.save_committed(committed).await.unwrap();
    let mut without = LogStore::<EngineTest>::new(engine.clone(), 2).without_commit_index();
    without.save_committed(committed).await.unwrap();
    assert_eq!(kept.read_committed().await.unwrap(), committed);
    assert_eq!(without.read_committed().await.unwrap(), None);
    // Nothing was written for group 2: a store that keeps the index finds none.
    let mut same_group = LogStore::<EngineTest>::new(engine.clone(), 2);
    assert_eq!(same_group.read_committed().await.unwrap(), None);
    // And one written before is ignored by a store without it.
    let mut earlier = LogStore::<EngineTest>::new(engine.clone(), 1).without_commit_index();
    assert_eq!(earlier.read_committed().await.unwrap(), None);
}

#[tokio::test]
async fn deleting_a_group_leaves_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
    for group in [6, 7, 8] {
        engine
            .register_group(group, format!("t/{group}").as_bytes())
            .await
            .unwrap();
        let mut store = LogStore::<EngineTest>::new(engine.clone(), group);
        store.save_vote(&Vote::new(3, 1)).await.unwrap();
        store
            .save_committed(Some(openraft::LogId::new(CommittedLeaderId::new(3, 1), 9)))
            .await
            .unwrap();
    }
    engine.delete_group(7).await.unwrap();
    let groups: Vec<u64> = engine
        .groups()
        .unwrap()
        .into_iter()
        .map(|(g, _)| g)
        .collect();
    assert_eq!(groups, vec![6, 8]);
    let mut deleted = LogStore::<EngineTest>::new(engine.clone(), 7);
    assert_eq!(deleted.read_vote().await.unwrap(), None);
    assert_eq!(deleted.read_committed().await.unwrap(), None);
    for group in [6, 8] {
        let mut store = LogStore::<EngineTest>::new(engine.clone(), group);
        assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(3, 1)));
    }
    // Survives a reopen (every handle on the engine is dropped first).
    drop(deleted);
    drop(engine);
    let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
    assert_eq!(
        engine.groups().unwrap(),
        vec![(6, b"t/6".to_vec()), (8, b"t/8".to_vec())]
    );
}

/// Appends `n` entries to a single-node partition group and returns the
/// engine's fsync count before and after them.
async fn fsyncs_around_appends(fsync_log: bool, n: usize) -> (u64, u64) {
    use cairn_storage::single_node::NoPeers;
    use cairn_storage::PartitionStore;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        fsync_log,
        ..EngineOptions::default()
    };
    let engine = Engine::open(dir.path(), &options).unwrap();
    let config = Arc::new(openraft::Config::default().validate().unwrap());
    let sm = PartitionStore::<EngineTest>::open(engine.clone(), 1).unwrap();
    let raft = openraft::Raft::new(1, config, NoPeers, LogStore::new(engine.clone(), 1), sm)
        .await
        .unwrap();
    raft.initialize(BTreeMap::from([(1, openraft::BasicNode::default())]))
        .await
        .unwrap();
    raft.wait(None)
        .state(openraft::ServerState::Leader, "leader")
        .await
        .unwrap();
    let before = engine.stats().fsyncs;
    for i in 0..n {
        let batch = cairn_common::batch::build(&[format!("v{i}").as_bytes()], 1);
        raft.client_write(PartitionRequest::Append {
            batches: vec![serde_bytes::ByteBuf::from(batch)],
        })
        .await
        .unwrap();
    }
    let after = engine.stats().fsyncs;
    raft.shutdown().await.unwrap();
    (before, after)
}

#[tokio::test]
async fn unsynced_log_appends_skip_the_fsync_but_votes_keep_it() {
    // Default: every acknowledged append waited for a WAL fsync.
    let (before, after) = fsyncs_around_appends(true, 20).await;
    assert!(after >= before + 20, "synced appends: {before} -> {after}");
    // log_fsync = false: appends are acknowledged without one; the vote that
    // made this node leader was still synced.
    let (before, after) = fsyncs_around_appends(false, 20).await;
    assert!(before >= 1, "the vote was not synced");
    assert_eq!(after, before, "unsynced appends issued fsyncs");
}
