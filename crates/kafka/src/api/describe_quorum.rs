//! DescribeQuorum (key 55), v0-v2: the metadata Raft group, which Kafka
//! calls `__cluster_metadata` partition 0: its leader (the controller), term,
//! high watermark, and each voter's and observer's log end offset. Every
//! broker answers by asking the controller, as Kafka's brokers forward the
//! request to their active controller. v2 adds each voter's Kafka listener
//! (Cairn has one, PLAINTEXT). Asking for any other topic or partition is
//! UNKNOWN_TOPIC_OR_PARTITION. When and how long ago each member last
//! fetched are not tracked: -1.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_later, Pending};
use crate::cluster::{KafkaCluster, QuorumMember};
use crate::error_code;

/// Kafka's name for the metadata log.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// Handles DescribeQuorum.
pub fn handle_describe_quorum(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    let version = header.request_api_version;
    answer_later(ApiKey::DescribeQuorum, header, body, move |request| {
        describe_quorum(cluster, version, request)
    })
}

fn asks_for_the_metadata_log(request: &DescribeQuorumRequest) -> bool {
    matches!(request.topics.as_slice(), [topic]
        if topic.topic_name.as_str() == METADATA_TOPIC
            && matches!(topic.partitions.as_slice(), [p] if p.partition_index == 0))
}

fn replica(m: &QuorumMember) -> ReplicaState {
    ReplicaState::default()
        .with_replica_id(BrokerId(m.id))
        .with_log_end_offset(m.log_end_offset)
        .with_last_fetch_timestamp(-1)
        .with_last_caught_up_timestamp(-1)
}

async fn describe_quorum(
    cluster: Arc<dyn KafkaCluster>,
    version: i16,
    request: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    if !asks_for_the_metadata_log(&request) {
        return DescribeQuorumResponse::default()
            .with_error_code(error_code::UNKNOWN_TOPIC_OR_PARTITION)
            .with_error_message((version >= 2).then(|| {
                StrBytes::from_string(format!(
                    "DescribeQuorum describes {METADATA_TOPIC} partition 0 only"
                ))
            }));
    }
    let partition = PartitionData::default().with_partition_index(0);
    let (partition, nodes) = match cluster.describe_quorum().await {
        Ok(quorum) => {
            let brokers = cluster.metadata().brokers;
            let nodes = quorum
                .voters
                .iter()
                .filter_map(|v| brokers.iter().find(|b| b.id == v.id))
                .map(|b| {
                    Node::default()
                        .with_node_id(BrokerId(b.id))
                        .with_listeners(vec![Listener::default()
                            .with_name(StrBytes::from_static_str("PLAINTEXT"))
                            .with_host(StrBytes::from_string(b.host.clone()))
                            .with_port(u16::try_from(b.port).unwrap_or(0))])
                })
                .collect();
            let partition = partition
                .with_error_code(error_code::NONE)
                .with_leader_id(BrokerId(quorum.leader))
                .with_leader_epoch(quorum.epoch)
                .with_high_watermark(quorum.high_watermark)
                .with_current_voters(quorum.voters.iter().map(replica).collect())
                .with_observers(quorum.observers.iter().map(replica).collect());
            (partition, nodes)
        }
        Err(e) => (
            partition
                .with_error_code(e.code)
                .with_error_message(
                    e.message
                        .filter(|_| version >= 2)
                        .map(StrBytes::from_string),
                )
                .with_leader_id(BrokerId(-1))
                .with_leader_epoch(-1)
                .with_high_watermark(-1),
            Vec::new(),
        ),
    };
    DescribeQuorumResponse::default()
        .with_error_code(error_code::NONE)
        .with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
            .with_partitions(vec![partition])])
        .with_nodes(if version >= 2 { nodes } else { Vec::new() })
}
