//! The partition log end to end in one process: a single-node group appends
//! record batches through Raft; the reader returns them with the offsets the
//! state machine assigned, from any offset, within byte limits, up to the high
//! watermark, and the same after a restart.

use std::collections::BTreeMap;
#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!
use std::sync::Arc;

use cairn_common::batch;
use cairn_storage::single_node::NoPeers;
use cairn_storage::{
    Engine, EngineOptions, LogStore, PartitionRequest, PartitionResponse, PartitionStore,
};
use openraft::{BasicNode, Raft};
use serde_bytes::ByteBuf;

openraft::declare_raft_types!(
    pub PartitionTest: D = PartitionRequest, R = PartitionResponse
);

async fn start(
    dir: &std::path::Path,
) -> (
    Raft<PartitionTest>,
    cairn_storage::PartitionReader<PartitionTest>,
) {
    let engine = Engine::open(dir, &EngineOptions::default()).unwrap();
    let config = Arc::new(
        openraft::Config {
            snapshot_policy: openraft::SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: 0,
            purge_batch_size: 1,
            ..Default::default()
        }
        .validate()
        .unwrap(),
    );
    let sm = PartitionStore::<PartitionTest>::open(engine.clone(), 7).unwrap();
    let reader = sm.reader();
    let raft = Raft::new(1, config, NoPeers, LogStore::new(engine, 7), sm)
        .await
        .unwrap();
    if !raft.is_initialized().await.unwrap() {
        raft.initialize(BTreeMap::from([(1, BasicNode::default())]))
            .await
            .unwrap();
    }
    raft.wait(None)
        .state(openraft::ServerState::Leader, "leader")
        .await
        .unwrap();
    (raft, reader)
}

fn offsets_in(bytes: &[u8]) -> Vec<(i64, i32)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = batch::parse_header(rest).unwrap();
        out.push((
            i64::from_be_bytes(rest[..8].try_into().unwrap()),
            header.record_count,
        ));
        rest = &rest[header.size..];
    }
    out
}

#[tokio::test]
async fn appended_batches_read_back_with_assigned_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, reader) = start(dir.path()).await;
    // Entry 1: batches of 2 and 1 records; entry 2: 3 records.
    let a = batch::build(&[b"a0", b"a1"], 100);
    let b = batch::build(&[b"b0"], 200);
    let c = batch::build(&[b"c0", b"c1", b"c2"], 300);
    let r = raft
        .client_write(PartitionRequest::Append {
            batches: vec![ByteBuf::from(a.clone()), ByteBuf::from(b.clone())],
        })
        .await
        .unwrap();
    assert_eq!(
        r.data,
        PartitionResponse::Appended {
            base_offsets: vec![0, 2]
        }
    );
    let r = raft
        .client_write(PartitionRequest::Append {
            batches: vec![ByteBuf::from(c.clone())],
        })
        .await
        .unwrap();
    assert_eq!(
        r.data,
        PartitionResponse::Appended {
            base_offsets: vec![3]
        }
    );
    assert_eq!(reader.high_watermark(), 6);

    let all = reader.read(0, 1 << 20).unwrap();
    assert_eq!(offsets_in(&all.bytes), vec![(0, 2), (2, 1), (3, 3)]);
    // Bytes are as produced, except the base offset.
    assert_eq!(&all.bytes[8..a.len()], &a[8..]);
    // From the middle of a batch: that whole batch and what follows.
    assert_eq!(
        offsets_in(&reader.read(4, 1 << 20).unwrap().bytes),
        vec![(3, 3)]
    );
    assert_eq!(
        offsets_in(&reader.read(2, 1 << 20).unwrap().bytes),
        vec![(2, 1), (3, 3)]
    );
    // A byte limit smaller than one batch still returns that batch.
    assert_eq!(offsets_in(&reader.read(0, 1).unwrap().bytes), vec![(0, 2)]);
    // At the high watermark: nothing.
    assert!(reader.read(6, 1 << 20).unwrap().bytes.is_empty());
    assert_eq!(reader.offset_for_timestamp(250).unwrap(), Some((3, 300)));
    assert_eq!(reader.offset_for_timestamp(50).unwrap(), Some((0, 200)));
    assert_eq!(reader.offset_for_timestamp(999).unwrap(), None);

    raft.shutdown().await.unwrap();
    drop(raft);
    drop(reader);
    // Restart: same offsets, and new appends continue from 6.
    let (raft, reader) = start(dir.path()).await;
    assert_eq!(reader.high_watermark(), 6);
    assert_eq!(
        offsets_in(&reader.read(0, 1 << 20).unwrap().bytes),
        vec![(0, 2), (2, 1), (3, 3)]
    );
    let r = raft
        .client_write(PartitionRequest::Append {
            batches: vec![ByteBuf::from(b.clone())],
        })
        .await
        .unwrap();
    assert_eq!(
        r.data,
        PartitionResponse::Appended {
            base_offsets: vec![6]
        }
    );
    raft.shutdown().await.unwrap();
}

/// Appends one batch; returns its base offset and log index.
async fn append(raft: &Raft<PartitionTest>, values: &[&[u8]], timestamp: i64) -> (u64, u64) {
    let r = raft
        .client_write(PartitionRequest::Append {
            batches: vec![ByteBuf::from(batch::build(values, timestamp))],
        })
        .await
        .unwrap();
    match r.data {
        PartitionResponse::Appended { base_offsets } => (base_offsets[0], r.log_id.index),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn trims_by_time_and_size_then_purges_the_log_and_keeps_the_start_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, reader) = start(dir.path()).await;
    // Five entries of two records each, timestamps 100..=500.
    let mut log_indexes = Vec::new();
    for i in 0..5u8 {
        let (_, index) = append(&raft, &[&[b'a', i], &[b'b', i]], 100 * (i64::from(i) + 1)).await;
        log_indexes.push(index);
    }
    let entry_bytes = reader.size_bytes() / 5;
    assert_eq!(reader.size_bytes(), entry_bytes * 5);
    assert_eq!(reader.log_start_offset(), 0);

    // By time: entries whose largest timestamp is below 350 (100, 200, 300).
    assert_eq!(reader.retention_point(Some(350), None).unwrap(), 6);
    // Nothing expired: the start stays.
    assert_eq!(reader.retention_point(Some(50), None).unwrap(), 0);
    // By size: keep at most two entries' bytes.
    assert_eq!(
        reader.retention_point(None, Some(entry_bytes * 2)).unwrap(),
        6
    );
    // Both: the later point wins.
    assert_eq!(
        reader
            .retention_point(Some(150), Some(entry_bytes * 4))
            .unwrap(),
        2
    );

    let r = raft
        .client_write(PartitionRequest::Trim {
            log_start_offset: 6,
        })
        .await
        .unwrap();
    assert_eq!(
        r.data,
        PartitionResponse::Trimmed {
            log_start_offset: 6
        }
    );
    assert_eq!(reader.log_start_offset(), 6);
    assert_eq!(reader.size_bytes(), entry_bytes * 2);
    // Reads from the start return the kept records only.
    let read = reader.read(6, 1 << 20).unwrap();
    assert_eq!(offsets_in(&read.bytes), vec![(6, 2), (8, 2)]);
    // A trim never moves the start back, nor past the high watermark.
    let r = raft
        .client_write(PartitionRequest::Trim {
            log_start_offset: 3,
        })
        .await
        .unwrap();
    assert_eq!(
        r.data,
        PartitionResponse::Trimmed {
            log_start_offset: 6
        }
    );
    // Mid-entry (as DeleteRecords may ask): the entry holding 7 stays whole.
    raft.client_write(PartitionRequest::Trim {
        log_start_offset: 7,
    })
    .await
    .unwrap();
    assert_eq!(reader.log_start_offset(), 7);
    assert_eq!(
        offsets_in(&reader.read(7, 1 << 20).unwrap().bytes),
        vec![(6, 2), (8, 2)]
    );

    // A snapshot ends just before the first kept entry; the log below it goes.
    raft.trigger().snapshot().await.unwrap();
    let metrics = raft
        .wait(Some(std::time::Duration::from_secs(5)))
        .metrics(|m| m.purged.is_some(), "log purged")
        .await
        .unwrap();
    let before_kept = log_indexes[3] - 1;
    assert_eq!(metrics.snapshot.map(|id| id.index), Some(before_kept));
    assert_eq!(metrics.purged.map(|id| id.index), Some(before_kept));
    // The kept records are still readable after the purge.
    assert_eq!(
        offsets_in(&reader.read(7, 1 << 20).unwrap().bytes),
        vec![(6, 2), (8, 2)]
    );

    // Restart: the start and the kept records survive.
    raft.shutdown().await.unwrap();
    drop(raft);
    drop(reader);
    let (raft, reader) = start(dir.path()).await;
    assert_eq!(reader.log_start_offset(), 7);
    assert_eq!(reader.high_watermark(), 10);
    assert_eq!(
        offsets_in(&reader.read(7, 1 << 20).unwrap().bytes),
        vec![(6, 2), (8, 2)]
    );
    // Appends continue at the next offset.
    assert_eq!(append(&raft, &[b"z"], 600).await.0, 10);
    raft.shutdown().await.unwrap();
}
