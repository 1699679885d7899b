//! DescribeCluster (key 60), v0-v2: the cluster id, the controller and every
//! live broker; v2 adds the fenced brokers when asked (`is_fenced`). v1's
//! endpoint type 2 asks for the controllers' endpoints (KIP-919), which
//! Kafka serves only to clients of its controller listener: Cairn's brokers
//! answer UNSUPPORTED_ENDPOINT_TYPE, as Kafka's do.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeClusterRequest, DescribeClusterResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::cluster::{BrokerEndpoint, KafkaCluster};
use crate::error_code;

/// `endpoint_type` asking for the brokers (the default).
const ENDPOINT_BROKERS: i8 = 1;

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
        |request: DescribeClusterRequest| describe_cluster(cluster.as_ref(), &request),
    )
}

fn broker(b: &BrokerEndpoint, fenced: bool) -> DescribeClusterBroker {
    DescribeClusterBroker::default()
        .with_broker_id(BrokerId(b.id))
        .with_host(StrBytes::from_string(b.host.clone()))
        .with_port(b.port)
        .with_rack(b.rack.clone().map(StrBytes::from_string))
        .with_is_fenced(fenced)
}

fn describe_cluster(
    cluster: &dyn KafkaCluster,
    request: &DescribeClusterRequest,
) -> DescribeClusterResponse {
    let response = DescribeClusterResponse::default().with_endpoint_type(request.endpoint_type);
    if request.endpoint_type != ENDPOINT_BROKERS {
        return response
            .with_error_code(error_code::UNSUPPORTED_ENDPOINT_TYPE)
            .with_error_message(Some(StrBytes::from_string(format!(
                "endpoint type {} is not served: Cairn's brokers answer for the brokers (type 1); the controllers are brokers too",
                request.endpoint_type
            ))));
    }
    let metadata = cluster.metadata();
    let mut brokers: Vec<_> = metadata.brokers.iter().map(|b| broker(b, false)).collect();
    if request.include_fenced_brokers {
        brokers.extend(metadata.fenced.iter().map(|b| broker(b, true)));
    }
    response
        .with_error_code(error_code::NONE)
        .with_cluster_id(StrBytes::from_string(metadata.cluster_id))
        .with_controller_id(BrokerId(metadata.controller.unwrap_or(-1)))
        .with_brokers(brokers)
}
