//! Produce (key 0), v3-v12. Each partition's records are split into batches and
//! validated (magic 2, CRC-32C, lengths, counts, codec, `max.message.bytes`)
//! before anything is written; a bad batch fails only its partition. Valid
//! batches are handed to the partition leader immediately, in request order,
//! and the response waits for every partition's write: committed by a Raft
//! majority with acks=-1, appended to the leader's log with acks=1.
//! acks=0 gets no response at all.
//!
//! Batches of an idempotent producer (producer id set) are checked against
//! the producer's state when the partition applies them (see
//! `cairn_storage::partition::producers`): a retry answers the offset it got
//! first, a gap or a fenced epoch its error code. Here they only need a
//! non-negative epoch and sequence. A transactional batch opens its
//! producer's transaction in the partition (which holds back the last
//! stable offset until the marker); control batches are the coordinator's
//! to write and are refused from clients (INVALID_RECORD).
//!
//! From v10 a partition answered NOT_LEADER_OR_FOLLOWER names the leader this
//! broker knows (KIP-951, see [`super::leader_hint`]). v11 and v12 change
//! nothing on the wire; v12 lets a transactional producer skip
//! AddPartitionsToTxn when the broker advertises transaction version 2,
//! which Cairn does not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, BrokerId, ProduceRequest, ProduceResponse, RequestHeader};
use kafka_protocol::protocol::StrBytes;

use cairn_common::batch::{self, BatchError};
use cairn_common::metrics::metrics;

use super::leader_hint::LeaderHints;
use super::respond::{decode_request, encode_response, ready, Outcome, Pending};
use crate::cluster::{BoxFuture, KafkaCluster};
use crate::error::KafkaError;
use crate::error_code;

/// The first version whose NOT_LEADER_OR_FOLLOWER names the leader (KIP-951).
const LEADER_HINTS_FROM: i16 = 10;

/// The Kafka error code for an invalid batch.
pub fn batch_error_code(e: &BatchError) -> i16 {
    match e {
        BatchError::Truncated { .. } | BatchError::BadLength(_) | BatchError::BadCrc { .. } => {
            error_code::CORRUPT_MESSAGE
        }
        BatchError::TooLarge { .. } => error_code::MESSAGE_TOO_LARGE,
        BatchError::BadMagic(_) | BatchError::BadCount { .. } | BatchError::BadCompression(_) => {
            error_code::INVALID_RECORD
        }
    }
}

/// Why batches that are otherwise valid cannot be written: a control batch
/// (only transaction coordinators write markers), a transactional batch
/// without a producer, or an idempotent producer's batch without an epoch
/// or sequence.
fn producer_fields_error(header: &batch::BatchHeader) -> Option<String> {
    if header.is_control {
        return Some(format!(
            "control batch of producer {}: clients may not write control records",
            header.producer_id
        ));
    }
    if header.is_transactional && !header.has_producer() {
        return Some("transactional batch without a producer id".into());
    }
    (header.has_producer() && (header.producer_epoch < 0 || header.base_sequence < 0)).then(|| {
        format!(
            "batch of producer {} has epoch {} and base sequence {}: both must be >= 0",
            header.producer_id, header.producer_epoch, header.base_sequence
        )
    })
}

/// One partition's part of the answer: known now, or once its write completes.
enum Slot {
    Done(i16, Option<String>),
    /// The write, and its record-batch bytes (counted once it succeeds).
    Waiting(BoxFuture<Result<i64, KafkaError>>, u64),
}

/// Validates and hands off every partition's batches; returns the pending
/// response. Produce decodes and encodes itself rather than through
/// [`super::respond::answer_later`]: with acks=0 there is no response at all.
pub fn handle_produce(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let arrived = Instant::now();
    let request: ProduceRequest = match decode_request(ApiKey::Produce, header, body) {
        Ok(request) => request,
        Err(close) => return ready(close),
    };
    let acks = request.acks;
    if !matches!(acks, -1..=1) {
        let topics = request.topic_data.into_iter().map(|t| {
            let parts = t
                .partition_data
                .iter()
                .map(|p| (p.index, Slot::Done(error_code::INVALID_REQUIRED_ACKS, None)))
                .collect();
            (t.name, parts)
        });
        let slots: Vec<_> = topics.collect();
        return finish(header, cluster, slots, 0, (acks, arrived));
    }
    let mut slots = Vec::new();
    for topic in request.topic_data {
        let name = topic.name.0.to_string();
        let max = cluster.max_message_bytes(&name);
        let mut parts = Vec::new();
        for p in topic.partition_data {
            let slot = match (max, p.records) {
                (None, _) => Slot::Done(error_code::UNKNOWN_TOPIC_OR_PARTITION, None),
                (Some(_), None) => {
                    Slot::Done(error_code::CORRUPT_MESSAGE, Some("no records".into()))
                }
                (Some(max), Some(records)) => match batch::split_and_validate(&records, max) {
                    Err(e) => Slot::Done(
                        batch_error_code(&e),
                        Some(format!("partition {}: {e}", p.index)),
                    ),
                    Ok(batches) if batches.is_empty() => {
                        Slot::Done(error_code::CORRUPT_MESSAGE, Some("empty record set".into()))
                    }
                    Ok(batches)
                        if batches
                            .iter()
                            .any(|(_, h)| producer_fields_error(h).is_some()) =>
                    {
                        let message = batches
                            .iter()
                            .find_map(|(_, h)| producer_fields_error(h))
                            .map(|m| format!("partition {}: {m}", p.index));
                        Slot::Done(error_code::INVALID_RECORD, message)
                    }
                    Ok(batches) => {
                        let batches: Vec<Bytes> =
                            batches.iter().map(|(b, _)| records.slice_ref(b)).collect();
                        let bytes = batches.iter().map(|b| b.len() as u64).sum();
                        Slot::Waiting(cluster.produce(&name, p.index, batches, acks == 1), bytes)
                    }
                },
            };
            parts.push((p.index, slot));
        }
        slots.push((topic.name, parts));
    }
    if acks == 0 {
        // Nothing is sent back. The writes were handed to their partitions
        // when `produce` was called (its contract), so the futures that would
        // only report their outcome are dropped.
        let handed: u64 = slots
            .iter()
            .flat_map(|(_, parts)| parts)
            .map(|(_, slot)| match slot {
                Slot::Waiting(_, bytes) => *bytes,
                Slot::Done(..) => 0,
            })
            .sum();
        metrics().kafka.produced_bytes.inc_by(handed);
        drop(slots);
        metrics().kafka.produce(acks, arrived.elapsed());
        return ready(Outcome::NoResponse);
    }
    finish(header, cluster, slots, request.timeout_ms, (acks, arrived))
}

/// Waits for every partition's write (each up to `timeout_ms`) and encodes
/// the response; records its latency by acks (`timed`: acks and arrival)
/// and every partition's error in the metrics.
fn finish(
    header: &RequestHeader,
    cluster: &Arc<dyn KafkaCluster>,
    slots: Vec<(kafka_protocol::messages::TopicName, Vec<(i32, Slot)>)>,
    timeout_ms: i32,
    timed: (i16, Instant),
) -> Pending {
    let version = header.request_api_version;
    let cluster = cluster.clone();
    let correlation_id = header.correlation_id;
    let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
    Box::pin(async move {
        let mut responses = Vec::new();
        let mut hints = LeaderHints::default();
        let mut hinting = false;
        for (name, parts) in slots {
            let mut partition_responses = Vec::new();
            for (index, slot) in parts {
                let (code, base_offset, message) = match slot {
                    Slot::Done(code, message) => (code, -1, message),
                    Slot::Waiting(write, bytes) => match tokio::time::timeout(timeout, write).await
                    {
                        Ok(Ok(base)) => {
                            metrics().kafka.produced_bytes.inc_by(bytes);
                            (error_code::NONE, base, None)
                        }
                        Ok(Err(e)) => (e.code, -1, e.message),
                        Err(_) => (
                            error_code::REQUEST_TIMED_OUT,
                            -1,
                            Some(format!("not committed within {timeout_ms} ms")),
                        ),
                    },
                };
                if code != error_code::NONE {
                    metrics()
                        .kafka
                        .error("Produce", error_code::static_name(code), 1);
                }
                let mut response = PartitionProduceResponse::default()
                    .with_index(index)
                    .with_error_code(code)
                    .with_base_offset(base_offset)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(-1)
                    .with_error_message(message.map(StrBytes::from_string));
                if code == error_code::NOT_LEADER_OR_FOLLOWER && version >= LEADER_HINTS_FROM {
                    if !hinting {
                        hints = LeaderHints::new(cluster.metadata());
                        hinting = true;
                    }
                    if let Some(hint) = hints.leader(name.as_str(), index) {
                        response = response.with_current_leader(
                            LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(hint.leader))
                                .with_leader_epoch(hint.epoch),
                        );
                    }
                }
                partition_responses.push(response);
            }
            responses.push(
                TopicProduceResponse::default()
                    .with_name(name)
                    .with_partition_responses(partition_responses),
            );
        }
        let (acks, arrived) = timed;
        metrics().kafka.produce(acks, arrived.elapsed());
        encode_response(
            ApiKey::Produce,
            version,
            correlation_id,
            &ProduceResponse::default()
                .with_responses(responses)
                .with_node_endpoints(
                    hints
                        .endpoints()
                        .into_iter()
                        .map(|b| {
                            NodeEndpoint::default()
                                .with_node_id(BrokerId(b.id))
                                .with_host(StrBytes::from_string(b.host))
                                .with_port(b.port)
                                .with_rack(b.rack.map(StrBytes::from_string))
                        })
                        .collect(),
                ),
        )
    })
}
