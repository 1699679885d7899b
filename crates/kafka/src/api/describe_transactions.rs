//! DescribeTransactions (key 65), v0 (KIP-664): the state of transactional
//! ids, answered by their coordinator (an id this broker does not
//! coordinate gets NOT_COORDINATOR; the admin client sends each id to its
//! coordinator). An unknown id gets TRANSACTIONAL_ID_NOT_FOUND.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, RequestHeader,
    TopicName,
};

use super::groups::wire;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles DescribeTransactions.
pub fn handle_describe_transactions(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::DescribeTransactions,
        header,
        body,
        |request: DescribeTransactionsRequest| describe(&**cluster, request),
    )
}

fn describe(
    cluster: &dyn KafkaCluster,
    request: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let states = request
        .transactional_ids
        .into_iter()
        .map(|id| {
            let state = TransactionState::default()
                .with_transactional_id(id.clone())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .with_transaction_start_time_ms(-1);
            match cluster.describe_txn(&id.0) {
                Err(e) => state.with_error_code(e.code),
                Ok(None) => state.with_error_code(error_code::TRANSACTIONAL_ID_NOT_FOUND),
                Ok(Some(meta)) => {
                    let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                    for (topic, partition) in &meta.partitions {
                        topics.entry(topic.clone()).or_default().push(*partition);
                    }
                    state
                        .with_transaction_state(wire(meta.state.name()))
                        .with_transaction_timeout_ms(meta.timeout_ms)
                        .with_transaction_start_time_ms(meta.started_ms.map_or(-1, |ms| ms as i64))
                        .with_producer_id(ProducerId(meta.producer_id))
                        .with_producer_epoch(meta.producer_epoch)
                        .with_topics(
                            topics
                                .into_iter()
                                .map(|(topic, partitions)| {
                                    TopicData::default()
                                        .with_topic(TopicName(wire(topic)))
                                        .with_partitions(partitions)
                                })
                                .collect(),
                        )
                }
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
