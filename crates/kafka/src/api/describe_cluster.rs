//! DescribeCluster (key 60), v0: the cluster id, the controller and every
//! live broker.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeClusterRequest, DescribeClusterResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles DescribeCluster.
pub fn handle_describe_cluster(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::DescribeCluster,
        header,
        body,
        |_: DescribeClusterRequest| describe_cluster(cluster.as_ref()),
    )
}

fn describe_cluster(cluster: &dyn KafkaCluster) -> DescribeClusterResponse {
    let metadata = cluster.metadata();
    let brokers = metadata
        .brokers
        .iter()
        .map(|b| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(b.id))
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(b.port)
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    DescribeClusterResponse::default()
        .with_error_code(error_code::NONE)
        .with_cluster_id(StrBytes::from_string(metadata.cluster_id))
        .with_controller_id(BrokerId(metadata.controller.unwrap_or(-1)))
        .with_brokers(brokers)
}
