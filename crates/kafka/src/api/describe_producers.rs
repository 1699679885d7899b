//! DescribeProducers (key 61), v0 (KIP-664): the idempotent producers each
//! asked partition knows, answered by the partition's leader (other brokers
//! answer NOT_LEADER_OR_FOLLOWER for it), with the first offset of a
//! producer's open transaction there (`current_txn_start_offset`, -1 if
//! none). `coordinator_epoch` is -1: partitions keep no coordinator epoch.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, ProducerId, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;

/// Handles DescribeProducers.
pub fn handle_describe_producers(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::DescribeProducers,
        header,
        body,
        |request: DescribeProducersRequest| describe(&**cluster, request),
    )
}

fn describe(
    cluster: &dyn KafkaCluster,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let answer = PartitionResponse::default().with_partition_index(index);
                    match cluster.describe_producers(&topic.name.0, index) {
                        Ok(producers) => answer.with_active_producers(
                            producers
                                .into_iter()
                                .map(|p| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(p.producer_id))
                                        .with_producer_epoch(i32::from(p.epoch))
                                        .with_last_sequence(p.last_sequence)
                                        .with_last_timestamp(p.last_timestamp)
                                        .with_coordinator_epoch(-1)
                                        .with_current_txn_start_offset(p.current_txn_start_offset)
                                })
                                .collect(),
                        ),
                        Err(e) => answer
                            .with_error_code(e.code)
                            .with_error_message(e.message.map(StrBytes::from_string)),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
