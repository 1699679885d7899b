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
    start_after_vote(dir, None).await
}

/// [`start`], having first recorded a vote for this node in `term` (as if it
/// had stood for election then): it leads in a later term than before.
async fn start_after_vote(
    dir: &std::path::Path,
    term: Option<u64>,
) -> (
    Raft<PartitionTest>,
    cairn_storage::PartitionReader<PartitionTest>,
) {
    let engine = Engine::open(dir, &EngineOptions::default()).unwrap();
    if let Some(term) = term {
        use openraft::storage::RaftLogStorage;
        LogStore::<PartitionTest>::new(engine.clone(), 7)
            .save_vote(&openraft::Vote::new(term, 1))
            .await
            .unwrap();
    }
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
            base_offsets: vec![0, 2],
            rejected: vec![]
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
            base_offsets: vec![3],
            rejected: vec![]
        }
    );
    assert_eq!(reader.high_watermark(), 6);

    let all = reader.read(0, 1 << 20).unwrap();
    assert_eq!(offsets_in(&all.bytes), vec![(0, 2), (2, 1), (3, 3)]);
    // Bytes are as produced, except the base offset and the leader epoch
    // (the entry's term, as a Kafka leader stamps it).
    assert_eq!(&all.bytes[8..12], &a[8..12]);
    assert_eq!(&all.bytes[16..a.len()], &a[16..]);
    let first_term = raft.metrics().borrow().current_term;
    assert_eq!(epochs_in(&all.bytes), vec![first_term as i32; 3]);
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
    // Restart: same offsets, and new appends continue from 6, in a new term.
    let (raft, reader) = start_after_vote(dir.path(), Some(first_term + 1)).await;
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
            base_offsets: vec![6],
            rejected: vec![]
        }
    );
    // The new term's batch carries it, and each
    // epoch ends where the next term's records begin.
    let term = raft.metrics().borrow().current_term;
    assert!(term > first_term);
    let all = reader.read(0, 1 << 20).unwrap();
    let t = |term: u64| term as i32;
    assert_eq!(
        epochs_in(&all.bytes),
        vec![t(first_term), t(first_term), t(first_term), t(term)]
    );
    assert_eq!(
        reader.epoch_end(first_term, term).unwrap(),
        Some((first_term, 6))
    );
    assert_eq!(reader.epoch_end(term, term).unwrap(), Some((term, 7)));
    assert_eq!(reader.epoch_end(term + 1, term).unwrap(), None);
    raft.shutdown().await.unwrap();
}

/// The partitionLeaderEpoch of each batch in `bytes`.
fn epochs_in(bytes: &[u8]) -> Vec<i32> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = batch::parse_header(rest).unwrap();
        out.push(i32::from_be_bytes(rest[12..16].try_into().unwrap()));
        rest = &rest[header.size..];
    }
    out
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
        PartitionResponse::Appended { base_offsets, .. } => (base_offsets[0], r.log_id.index),
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

/// What the stored snapshot of the partition in `dir` (its group stopped)
/// carries: state, producers and transactions.
async fn stored_snapshot(
    dir: &std::path::Path,
) -> (
    cairn_storage::partition::PartitionState,
    cairn_storage::partition::Producers,
    cairn_storage::partition::TxnIndex,
) {
    use openraft::storage::RaftStateMachine;
    let engine = Engine::open(dir, &EngineOptions::default()).unwrap();
    let mut sm = PartitionStore::<PartitionTest>::open(engine, 7).unwrap();
    let snapshot = sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("a snapshot");
    cairn_storage::partition::snapshot::decode(snapshot.snapshot.get_ref()).unwrap()
}

/// Appends the given batches as one entry; returns what apply answered.
async fn append_batches(raft: &Raft<PartitionTest>, batches: &[Vec<u8>]) -> PartitionResponse {
    raft.client_write(PartitionRequest::Append {
        batches: batches.iter().cloned().map(ByteBuf::from).collect(),
    })
    .await
    .unwrap()
    .data
}

fn appended(base_offsets: Vec<u64>, rejected: Vec<(u32, i16)>) -> PartitionResponse {
    PartitionResponse::Appended {
        base_offsets,
        rejected,
    }
}

/// A batch of producer 5 at epoch 0: `n` records from sequence `seq`.
fn idempotent(seq: i32, n: usize, timestamp: i64) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("s{}", seq as usize + i).into_bytes())
        .collect();
    let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    batch::with_producer(batch::build(&values, timestamp), 5, 0, seq)
}

#[tokio::test]
async fn retried_batches_are_written_once_across_trims_snapshots_purges_restarts_and_expiry() {
    use cairn_common::error_code::{OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID};

    let dir = tempfile::tempdir().unwrap();
    let (raft, reader) = start(dir.path()).await;
    // A batch and its retry merged into one entry, then the next batch.
    assert_eq!(
        append_batches(&raft, &[idempotent(0, 2, 100), idempotent(0, 2, 100)]).await,
        appended(vec![0, 0], vec![])
    );
    assert_eq!(
        append_batches(&raft, &[idempotent(2, 1, 200)]).await,
        appended(vec![2], vec![])
    );
    // The retry's bytes stay in the log entry but are never read.
    assert_eq!(
        offsets_in(&reader.read(0, 1 << 20).unwrap().bytes),
        vec![(0, 2), (2, 1)]
    );
    // A gap is refused and takes no offset.
    assert_eq!(
        append_batches(&raft, &[idempotent(9, 1, 300)]).await,
        appended(vec![3], vec![(0, OUT_OF_ORDER_SEQUENCE_NUMBER)])
    );
    assert_eq!(reader.high_watermark(), 3);
    let known = reader.producers().unwrap();
    assert_eq!(known.get(5).map(|p| p.last_sequence()), Some(Some(2)));

    // Retention deletes every record; the snapshot and purge follow. The
    // producer's state survives them.
    raft.client_write(PartitionRequest::Trim {
        log_start_offset: 3,
    })
    .await
    .unwrap();
    raft.trigger().snapshot().await.unwrap();
    raft.wait(Some(std::time::Duration::from_secs(5)))
        .metrics(|m| m.purged.is_some(), "log purged")
        .await
        .unwrap();
    assert_eq!(
        append_batches(&raft, &[idempotent(2, 1, 200)]).await,
        appended(vec![2], vec![])
    );

    // Restart: the state is read back; the retry is still a duplicate, and
    // the producer goes on where it was.
    raft.shutdown().await.unwrap();
    drop(raft);
    drop(reader);
    // The stored snapshot carries the producer as of its point.
    let (state, producers, _) = stored_snapshot(dir.path()).await;
    assert_eq!(state.next_offset, 3);
    assert_eq!(producers.get(5).map(|p| p.last_sequence()), Some(Some(2)));
    let (raft, reader) = start(dir.path()).await;
    assert_eq!(
        append_batches(&raft, &[idempotent(2, 1, 200), idempotent(3, 2, 400)]).await,
        appended(vec![2, 3], vec![])
    );
    assert_eq!(
        offsets_in(&reader.read(3, 1 << 20).unwrap().bytes),
        vec![(3, 2)]
    );

    // Expiry forgets the producer: a batch mid-stream is then unknown.
    let r = raft
        .client_write(PartitionRequest::ExpireProducers {
            last_seen_before_ms: 1_000,
        })
        .await
        .unwrap();
    assert_eq!(
        r.data,
        PartitionResponse::ProducersExpired { producers: vec![5] }
    );
    assert!(reader.producers().unwrap().is_empty());
    assert_eq!(
        append_batches(&raft, &[idempotent(5, 1, 2_000)]).await,
        appended(vec![5], vec![(0, UNKNOWN_PRODUCER_ID)])
    );
    raft.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_snapshot_before_the_kept_records_carries_the_producers_as_they_were_there() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, reader) = start(dir.path()).await;
    let other = batch::with_producer(batch::build(&[b"o"], 300), 6, 0, 0);
    assert_eq!(
        append_batches(&raft, &[idempotent(0, 2, 100)]).await,
        appended(vec![0], vec![])
    );
    assert_eq!(
        append_batches(&raft, &[idempotent(2, 1, 200)]).await,
        appended(vec![2], vec![])
    );
    assert_eq!(
        append_batches(&raft, &[other]).await,
        appended(vec![3], vec![])
    );
    // Keep offsets 2 and up: the snapshot ends after the first entry, where
    // only producer 5's first batch had been written.
    raft.client_write(PartitionRequest::Trim {
        log_start_offset: 2,
    })
    .await
    .unwrap();
    raft.trigger().snapshot().await.unwrap();
    raft.wait(Some(std::time::Duration::from_secs(5)))
        .metrics(|m| m.snapshot.is_some(), "snapshot built")
        .await
        .unwrap();
    raft.shutdown().await.unwrap();
    drop(raft);
    drop(reader);
    let (state, producers, _) = stored_snapshot(dir.path()).await;
    assert_eq!(state.next_offset, 2);
    assert_eq!(producers.get(5).map(|p| p.last_sequence()), Some(Some(1)));
    assert!(producers.get(6).is_none());
}

/// A transactional batch of producer `id` at `epoch`: one record `value`.
fn transactional(id: i64, epoch: i16, seq: i32, value: &str) -> Vec<u8> {
    batch::transactional(batch::build(&[value.as_bytes()], 100), id, epoch, seq)
}

/// Writes the marker of producer `id`'s transaction `txn_seq`.
async fn marker(
    raft: &Raft<PartitionTest>,
    id: i64,
    commit: bool,
    txn_seq: u64,
) -> PartitionResponse {
    use cairn_common::txn_marker::{encode, TxnMarker};
    let batch = encode(
        &TxnMarker {
            producer_id: id,
            producer_epoch: 0,
            commit,
            coordinator_epoch: 1,
        },
        500,
    );
    raft.client_write(PartitionRequest::TxnMarker {
        batch: ByteBuf::from(batch),
        txn_seq,
    })
    .await
    .unwrap()
    .data
}

#[tokio::test]
async fn read_committed_stops_at_the_open_transaction_and_the_index_survives_snapshots_and_restarts(
) {
    use cairn_storage::PartitionResponse::Marker;
    let dir = tempfile::tempdir().unwrap();
    let (raft, reader) = start(dir.path()).await;
    // Offset 0 plain; 1 producer 8's open transaction; 2 plain; 3 producer
    // 9's transaction; 4 its abort marker.
    append(&raft, &[b"p"], 100).await;
    append_batches(&raft, &[transactional(8, 0, 0, "a")]).await;
    append(&raft, &[b"q"], 100).await;
    append_batches(&raft, &[transactional(9, 0, 0, "b")]).await;
    assert_eq!(
        marker(&raft, 9, false, 1).await,
        Marker {
            offset: Some(4),
            error: 0
        }
    );
    let committed = reader.read_isolated(0, 1 << 20, true).unwrap();
    assert_eq!(
        (committed.high_watermark, committed.last_stable_offset),
        (5, 1)
    );
    assert_eq!(offsets_in(&committed.bytes), vec![(0, 1)]);
    let all = reader.read_isolated(0, 1 << 20, false).unwrap();
    assert_eq!(
        offsets_in(&all.bytes),
        vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)]
    );
    // A late duplicate of producer 9's marker writes nothing.
    assert_eq!(
        marker(&raft, 9, false, 1).await,
        Marker {
            offset: None,
            error: 0
        }
    );

    // Retention keeps offsets 2 and up: the snapshot ends before them, with
    // the transactions as they were there (producer 8's open, replayed from
    // the log), and the index itself is read back on restart.
    raft.client_write(PartitionRequest::Trim {
        log_start_offset: 2,
    })
    .await
    .unwrap();
    raft.trigger().snapshot().await.unwrap();
    raft.wait(Some(std::time::Duration::from_secs(5)))
        .metrics(|m| m.snapshot.is_some(), "snapshot built")
        .await
        .unwrap();
    raft.shutdown().await.unwrap();
    drop(raft);
    drop(reader);
    let (state, _, txns) = stored_snapshot(dir.path()).await;
    assert_eq!(state.next_offset, 2);
    assert_eq!(txns.open().collect::<Vec<_>>(), vec![(8, 1)]);
    let (raft, reader) = start(dir.path()).await;
    assert_eq!(reader.last_stable_offset(), 1);
    assert_eq!(reader.open_transactions(), vec![(8, 1)]);
    // Producer 8 commits: everything is stable, and a read_committed read
    // lists producer 9's aborted transaction.
    assert_eq!(
        marker(&raft, 8, true, 1).await,
        Marker {
            offset: Some(5),
            error: 0
        }
    );
    assert_eq!(reader.last_stable_offset(), 6);
    let committed = reader.read_isolated(2, 1 << 20, true).unwrap();
    assert_eq!(committed.aborted.len(), 1);
    assert_eq!(
        (
            committed.aborted[0].producer_id,
            committed.aborted[0].first_offset
        ),
        (9, 3)
    );
    assert_eq!(offsets_in(&committed.bytes).len(), 4);
    raft.shutdown().await.unwrap();
}
