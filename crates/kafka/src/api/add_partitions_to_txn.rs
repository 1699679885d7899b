//! AddPartitionsToTxn (key 24), v0-v4: a transactional producer names the
//! partitions it is about to write to, before its first write to each, so
//! that the coordinator writes their markers when the transaction ends.
//! Partitions of topics that do not exist answer UNKNOWN_TOPIC_OR_PARTITION
//! and the rest OPERATION_NOT_ATTEMPTED (as Kafka does: nothing is added
//! unless all can be); otherwise every partition gets the coordinator's
//! answer. v4 (KIP-890) batches transactions for brokers that verify
//! partitions; clients send v3 and below, whose fields it keeps apart.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::txn::TxnEvent;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, RequestHeader,
};

use super::respond::{answer_later, Pending};
use super::txn::answer_code;
use crate::cluster::KafkaCluster;
use crate::error_code;

/// The first version that batches transactions (KIP-890).
const BATCHED_FROM: i16 = 4;

/// Handles AddPartitionsToTxn.
pub fn handle_add_partitions_to_txn(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    let version = header.request_api_version;
    answer_later(
        ApiKey::AddPartitionsToTxn,
        header,
        body,
        move |request: AddPartitionsToTxnRequest| add(cluster, version, request),
    )
}

async fn add(
    cluster: Arc<dyn KafkaCluster>,
    version: i16,
    request: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    if version < BATCHED_FROM {
        let results = add_one(
            &*cluster,
            &request.v3_and_below_transactional_id.0,
            request.v3_and_below_producer_id.0,
            request.v3_and_below_producer_epoch,
            &request.v3_and_below_topics,
            false,
        )
        .await;
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    let mut results = Vec::with_capacity(request.transactions.len());
    for txn in &request.transactions {
        let topic_results = add_one(
            &*cluster,
            &txn.transactional_id.0,
            txn.producer_id.0,
            txn.producer_epoch,
            &txn.topics,
            txn.verify_only,
        )
        .await;
        results.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(topic_results),
        );
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

/// One transaction's partitions: added (or, `verify_only`, checked to be
/// in the transaction), each answered with a code.
async fn add_one(
    cluster: &dyn KafkaCluster,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let unknown: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| {
            let count = cluster.partition_count(&t.name.0);
            t.partitions
                .iter()
                .filter(move |&&p| !count.is_some_and(|n| (0..n).contains(&p)))
                .map(move |&p| (t.name.0.to_string(), p))
        })
        .collect();
    let code_of = |topic: &str, partition: i32, fallback: i16| {
        if unknown.iter().any(|(t, p)| t == topic && *p == partition) {
            error_code::UNKNOWN_TOPIC_OR_PARTITION
        } else {
            fallback
        }
    };
    let answered = if !unknown.is_empty() {
        error_code::OPERATION_NOT_ATTEMPTED
    } else if verify_only {
        verify(
            cluster,
            transactional_id,
            producer_id,
            producer_epoch,
            topics,
        )
    } else {
        let partitions = topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|&p| (t.name.0.to_string(), p)))
            .collect();
        let event = TxnEvent::AddPartitions {
            transactional_id: transactional_id.to_string(),
            producer_id,
            producer_epoch,
            partitions,
        };
        answer_code(cluster, transactional_id, event).await
    };
    topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(
                    t.partitions
                        .iter()
                        .map(|&p| {
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(p)
                                .with_partition_error_code(code_of(&t.name.0, p, answered))
                        })
                        .collect(),
                )
        })
        .collect()
}

/// v4's `verify_only`: whether the producer's open transaction holds every
/// partition (INVALID_TXN_STATE otherwise), without adding any.
fn verify(
    cluster: &dyn KafkaCluster,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
) -> i16 {
    match cluster.describe_txn(transactional_id) {
        Err(e) => e.code,
        Ok(None) => error_code::INVALID_PRODUCER_ID_MAPPING,
        Ok(Some(meta)) if meta.producer_id != producer_id => {
            error_code::INVALID_PRODUCER_ID_MAPPING
        }
        Ok(Some(meta)) if meta.producer_epoch != producer_epoch => error_code::PRODUCER_FENCED,
        Ok(Some(meta)) => {
            let all = topics.iter().all(|t| {
                t.partitions
                    .iter()
                    .all(|&p| meta.partitions.contains(&(t.name.0.to_string(), p)))
            });
            if all {
                error_code::NONE
            } else {
                error_code::INVALID_TXN_STATE
            }
        }
    }
}
