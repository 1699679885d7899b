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
