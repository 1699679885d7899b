//! Fetch (key 1), v4-v17, sessionless. Only the partition leader serves; data
//! is returned up to the high watermark (`read_uncommitted`) or the last
//! stable offset (`read_committed`, with the aborted transactions among the
//! records, so that the consumer drops theirs), whole batches as stored with
//! their assigned base offsets. If fewer than `min_bytes` are available the request
//! long-polls: it wakes as soon as any requested partition's high watermark
//! moves, or at `max_wait_ms`.
//!
//! From v9 a partition's `current_leader_epoch` is checked (KIP-320, see
//! [`super::leader_epoch`]); each batch carries the leader epoch (Raft term)
//! it was written in. From v13 topics are named by id (KIP-516); an id no topic has answers
//! UNKNOWN_TOPIC_ID. From v16 a partition answered NOT_LEADER_OR_FOLLOWER
//! names the leader this broker knows (KIP-951). v15's replica state and
//! v17's replica directory concern brokers fetching from each other, which
//! Cairn's brokers do over Raft instead.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ProducerId, RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use cairn_common::metrics::metrics;

use super::leader_epoch;
use super::leader_hint::LeaderHints;
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

struct Wanted {
    /// The topic as the request names it (v12-) ...
    topic: TopicName,
    /// ... or by id (v13+).
    id: uuid::Uuid,
    /// Its name, if a topic has that id.
    name: Option<String>,
    /// (partition, fetch offset, max bytes, current leader epoch).
    partitions: Vec<(i32, i64, usize, i32)>,
}

/// The first version that names topics by id.
const TOPIC_IDS_FROM: i16 = 13;
/// The first version whose NOT_LEADER_OR_FOLLOWER names the leader (KIP-951).
const LEADER_HINTS_FROM: i16 = 16;

/// `isolation_level` of a `read_committed` consumer.
const READ_COMMITTED: i8 = 1;

fn read_all(
    cluster: &dyn KafkaCluster,
    wanted: &[Wanted],
    (max_bytes, committed): (usize, bool),
    hint_leaders: bool,
    hints: &mut Option<LeaderHints>,
) -> (Vec<FetchableTopicResponse>, usize) {
    let mut total = 0usize;
    let mut topics = Vec::new();
    for w in wanted {
        let mut partitions = Vec::new();
        for &(index, offset, partition_max, epoch) in &w.partitions {
            let budget = partition_max.min(max_bytes.saturating_sub(total));
            let data = PartitionData::default().with_partition_index(index);
            let read = match &w.name {
                Some(name) => leader_epoch::check(cluster, name, index, epoch).and_then(|()| {
                    cluster.read_isolated(name, index, offset, budget.max(1), committed)
                }),
                None => Err(KafkaError::new(
                    error_code::UNKNOWN_TOPIC_ID,
                    format!("no topic has id {}", w.id),
                )),
            };
            let data = match read {
                Ok(read) => {
                    // Over the request budget, return only what fits (at least one batch overall).
                    let records = if total > 0 && read.records.len() > budget {
                        Bytes::new()
                    } else {
                        read.records
                    };
                    total += records.len();
                    let aborted = committed.then(|| {
                        read.aborted
                            .iter()
                            .map(|&(producer_id, first_offset)| {
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(producer_id))
                                    .with_first_offset(first_offset)
                            })
                            .collect()
                    });
                    data.with_error_code(error_code::NONE)
                        .with_high_watermark(read.high_watermark)
                        .with_last_stable_offset(read.last_stable_offset)
                        .with_log_start_offset(read.log_start_offset)
                        .with_aborted_transactions(aborted)
                        .with_records(Some(records))
                }
                Err(e) => {
                    let hint = match &w.name {
                        Some(name)
                            if hint_leaders && e.code == error_code::NOT_LEADER_OR_FOLLOWER =>
                        {
                            hints
                                .get_or_insert_with(|| LeaderHints::new(cluster.metadata()))
                                .leader(name, index)
                        }
                        _ => None,
                    };
                    let data = data
                        .with_error_code(e.code)
                        .with_high_watermark(-1)
                        .with_records(Some(Bytes::new()));
                    match hint {
                        Some(hint) => data.with_current_leader(
                            LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(hint.leader))
                                .with_leader_epoch(hint.epoch),
                        ),
                        None => data,
                    }
                }
            };
            partitions.push(data);
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(w.topic.clone())
                .with_topic_id(w.id)
                .with_partitions(partitions),
        );
    }
    (topics, total)
}

/// Handles Fetch; the read (and any long-poll) happens in the returned future.
pub fn handle_fetch(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    let version = header.request_api_version;
    answer_later(ApiKey::Fetch, header, body, move |request| {
        fetch(cluster, version, request)
    })
}

async fn fetch(
    cluster: Arc<dyn KafkaCluster>,
    version: i16,
    request: FetchRequest,
) -> FetchResponse {
    let wanted: Vec<Wanted> = request
        .topics
        .into_iter()
        .map(|t| Wanted {
            name: if version >= TOPIC_IDS_FROM {
                cluster.topic_name(t.topic_id.as_u128())
            } else {
                Some(t.topic.0.to_string())
            },
            topic: t.topic,
            id: t.topic_id,
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition,
                        p.fetch_offset,
                        p.partition_max_bytes.max(0) as usize,
                        p.current_leader_epoch,
                    )
                })
                .collect(),
        })
        .collect();
    let max_bytes = if request.max_bytes <= 0 {
        usize::MAX
    } else {
        request.max_bytes as usize
    };
    let committed = request.isolation_level == READ_COMMITTED;
    let min_bytes = request.min_bytes.max(0) as usize;
    let max_wait = Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let deadline = tokio::time::Instant::now() + max_wait;
    let mut watches: Vec<_> = wanted
        .iter()
        .filter_map(|w| Some((w.name.as_ref()?, &w.partitions)))
        .flat_map(|(name, partitions)| partitions.iter().map(move |p| (name, p.0)))
        .filter_map(|(t, p)| cluster.high_watermark_changes(t, p))
        .collect();
    for w in &mut watches {
        w.borrow_and_update();
    }
    loop {
        let mut hints = None;
        let (topics, total) = read_all(
            cluster.as_ref(),
            &wanted,
            (max_bytes, committed),
            version >= LEADER_HINTS_FROM,
            &mut hints,
        );
        if total >= min_bytes.max(1)
            || tokio::time::Instant::now() >= deadline
            || watches.is_empty()
        {
            for p in topics.iter().flat_map(|t| &t.partitions) {
                if p.error_code != error_code::NONE {
                    metrics()
                        .kafka
                        .error("Fetch", error_code::static_name(p.error_code), 1);
                }
            }
            metrics().kafka.fetched_bytes.inc_by(total as u64);
            let endpoints = hints.map(LeaderHints::endpoints).unwrap_or_default();
            return FetchResponse::default()
                .with_error_code(error_code::NONE)
                .with_session_id(0)
                .with_responses(topics)
                .with_node_endpoints(
                    endpoints
                        .into_iter()
                        .map(|b| {
                            NodeEndpoint::default()
                                .with_node_id(BrokerId(b.id))
                                .with_host(StrBytes::from_string(b.host))
                                .with_port(b.port)
                                .with_rack(b.rack.map(StrBytes::from_string))
                        })
                        .collect(),
                );
        }
        let changed =
            futures::future::select_all(watches.iter_mut().map(|w| Box::pin(w.changed())));
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            continue; // deadline: read once more and answer
        }
    }
}
