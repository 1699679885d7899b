//! KIP-320 leader epochs against real brokers: Metadata reports each
//! partition's Raft term as its leader epoch, the same one `/v1/cluster`
//! shows; after the leader is SIGKILLed the new leader fences the old epoch
//! and refuses a future one; fetched batches carry the epoch they were
//! written in; OffsetForLeaderEpoch answers where the old epoch ended; and a
//! librdkafka consumer reading across the leader change (which validates its
//! position with OffsetForLeaderEpoch) reads every record once.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Buf;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, MetadataRequest, MetadataResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;

use support::wire::{call, connect};
use support::{ok, partitions, TestCluster};

const TOPIC: &str = "epochs";
const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

/// (leader, leader epoch) of partition 0 in a Metadata v12 answer from `port`.
fn metadata_leader(port: u16) -> Option<(i32, i32)> {
    let response: MetadataResponse = call(
        &mut connect(port),
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name()))
        ])),
    );
    let p = response.topics.first()?.partitions.first()?;
    (p.error_code == 0).then_some((p.leader_id.0, p.leader_epoch))
}

/// (leader, leader epoch) of partition 0 as `/v1/cluster` of broker `id` shows it.
fn view_leader(cluster: &TestCluster, id: u64) -> Option<(i32, i32)> {
    let view: Value = cluster.view(id)?;
    let p = partitions(&view, TOPIC).into_iter().next()?;
    Some((
        p["leader"].as_i64()? as i32,
        p["leader_epoch"].as_i64()? as i32,
    ))
}

/// Fetch v12 of partition 0 from offset 0 with `current_leader_epoch`.
fn fetch(port: u16, current_leader_epoch: i32) -> (i16, Vec<i32>) {
    let response: FetchResponse = call(
        &mut connect(port),
        ApiKey::Fetch,
        12,
        &FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic_name())
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(current_leader_epoch)
                    .with_fetch_offset(0)
                    .with_partition_max_bytes(1 << 20)])]),
    );
    let p = &response.responses[0].partitions[0];
    // The partitionLeaderEpoch of every batch returned.
    let mut epochs = Vec::new();
    let mut rest = p.records.clone().unwrap_or_default();
    while rest.remaining() >= 61 {
        let size = i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize + 12;
        epochs.push(i32::from_be_bytes(rest[12..16].try_into().unwrap()));
        rest.advance(size.min(rest.remaining()));
    }
    (p.error_code, epochs)
}

/// OffsetForLeaderEpoch v4 of partition 0: (error, epoch, end offset).
fn epoch_end(port: u16, current: i32, epoch: i32) -> (i16, i32, i64) {
    let response: OffsetForLeaderEpochResponse = call(
        &mut connect(port),
        ApiKey::OffsetForLeaderEpoch,
        4,
        &OffsetForLeaderEpochRequest::default().with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(topic_name())
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(current)
                .with_leader_epoch(epoch)])]),
    );
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

fn produce(bootstrap: &str, from: usize, to: usize) {
    let mut child = Command::new(support::cairn_bin())
        .args(["produce", TOPIC, "--acks", "all", "--partition", "0"])
        .env("CAIRN_BOOTSTRAP", bootstrap)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = (from..to).map(|i| format!("m{i}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    ok(&child.wait_with_output().unwrap());
}

#[test]
fn leader_epochs_fence_stale_clients_and_consumers_cross_a_leader_change() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 1, 3);
    let bootstrap = cluster.bootstrap();
    let port = |cluster: &TestCluster, id: i32| cluster.brokers[&(id as u64)].kafka;

    // Metadata's epoch is the term /v1/cluster shows, on every broker.
    let (leader, epoch) = cluster.wait_for(
        "Metadata and /v1/cluster to agree on leader and epoch",
        Duration::from_secs(30),
        || {
            let shown = view_leader(&cluster, 1)?;
            let all_agree = (1..=3u64).all(|id| {
                metadata_leader(cluster.brokers[&id].kafka) == Some(shown)
                    && view_leader(&cluster, id) == Some(shown)
            });
            (all_agree && shown.1 >= 1).then_some(shown)
        },
    );
    produce(&bootstrap, 0, 100);
    let (code, epochs) = fetch(port(&cluster, leader), epoch);
    assert_eq!(code, 0);
    assert!(
        !epochs.is_empty() && epochs.iter().all(|&e| e == epoch),
        "{epochs:?}"
    );
    // A consumer that will read across the leader change, as a librdkafka
    // client (it validates its position once it sees the new epoch).
    let consumer = Command::new(support::cairn_bin())
        .args([
            "consume",
            TOPIC,
            "--partition",
            "0",
            "--from-beginning",
            "--max-messages",
            "200",
            "--idle-timeout",
            "60s",
            "--format",
            "%o %v",
        ])
        .env("CAIRN_BOOTSTRAP", &bootstrap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The leader dies; a new one leads in a later term.
    cluster.kill(leader as u64);
    let survivor = (1..=3).find(|&id| id != leader as u64).unwrap();
    let (new_leader, new_epoch) = cluster.wait_for(
        "a new leader in a later epoch, in Metadata",
        Duration::from_secs(30),
        || {
            let (l, e) = metadata_leader(cluster.brokers[&survivor].kafka)?;
            (l != leader && e > epoch).then_some((l, e))
        },
    );
    let new_port = port(&cluster, new_leader);
    assert_eq!(fetch(new_port, epoch).0, FENCED_LEADER_EPOCH);
    assert_eq!(fetch(new_port, new_epoch + 1).0, UNKNOWN_LEADER_EPOCH);
    let (code, epochs) = fetch(new_port, new_epoch);
    assert_eq!(code, 0);
    assert!(
        epochs.iter().all(|&e| e == epoch),
        "old records keep their epoch: {epochs:?}"
    );
    // Nothing written in the new epoch yet: the old one ends at the high watermark.
    assert_eq!(epoch_end(new_port, new_epoch, epoch), (0, epoch, 100));
    assert_eq!(epoch_end(new_port, epoch, epoch).0, FENCED_LEADER_EPOCH);

    produce(&bootstrap, 100, 200);
    let (_, epochs) = fetch(new_port, -1);
    assert_eq!(epochs.first(), Some(&epoch));
    assert_eq!(epochs.last(), Some(&new_epoch));
    // The old epoch ends where the new one's records begin; the new one at the end.
    assert_eq!(epoch_end(new_port, -1, epoch), (0, epoch, 100));
    assert_eq!(epoch_end(new_port, -1, new_epoch), (0, new_epoch, 200));
    assert_eq!(epoch_end(new_port, -1, new_epoch + 1), (0, -1, -1));

    let out = consumer.wait_with_output().unwrap();
    let text = ok(&out);
    let read: Vec<String> = text.lines().map(str::to_string).collect();
    let expected: Vec<String> = (0..200).map(|i| format!("{i} m{i}")).collect();
    assert_eq!(
        read, expected,
        "every record once, in order, across the leader change"
    );
}
