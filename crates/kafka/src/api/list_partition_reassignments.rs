//! ListPartitionReassignments (key 46), v0: the replica moves in progress
//! (see AlterPartitionReassignments): every one when the topics are null,
//! else those of the named partitions. Each lists the replicas (the target
//! first, then those being removed), the adding and the removing ones; a
//! partition that is not moving is left out, as Kafka does.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
    RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles ListPartitionReassignments.
pub fn handle_list_partition_reassignments(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_now(
        ApiKey::ListPartitionReassignments,
        header,
        body,
        move |request: ListPartitionReassignmentsRequest| {
            let wanted = |topic: &str, partition: i32| match &request.topics {
                None => true,
                Some(topics) => topics
                    .iter()
                    .any(|t| t.name.as_str() == topic && t.partition_indexes.contains(&partition)),
            };
            let ids = |v: &[i32]| v.iter().map(|b| BrokerId(*b)).collect::<Vec<_>>();
            let mut topics: Vec<OngoingTopicReassignment> = Vec::new();
            for m in cluster.partition_reassignments() {
                if !wanted(&m.topic, m.partition) {
                    continue;
                }
                let ongoing = OngoingPartitionReassignment::default()
                    .with_partition_index(m.partition)
                    .with_replicas(ids(&m.replicas))
                    .with_adding_replicas(ids(&m.adding))
                    .with_removing_replicas(ids(&m.removing));
                match topics.iter_mut().find(|t| t.name.as_str() == m.topic) {
                    Some(t) => t.partitions.push(ongoing),
                    None => topics.push(
                        OngoingTopicReassignment::default()
                            .with_name(TopicName(StrBytes::from_string(m.topic)))
                            .with_partitions(vec![ongoing]),
                    ),
                }
            }
            ListPartitionReassignmentsResponse::default()
                .with_error_code(error_code::NONE)
                .with_error_message(None)
                .with_topics(topics)
        },
    )
}
