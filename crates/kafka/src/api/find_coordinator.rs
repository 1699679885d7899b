//! FindCoordinator (key 10), v0-v4: the broker that coordinates a consumer
//! group (key type 0) or a transactional id (key type 1). v4 batches keys
//! (`coordinator_keys`) and answers one [`Coordinator`] entry per key; older
//! versions answer one key at the top level. An error answers node -1,
//! host "", port -1.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::groups::wire;
use super::respond::{answer_later, Pending};
use crate::cluster::{BrokerEndpoint, KafkaCluster};
use crate::error::KafkaError;
use crate::error_code;

/// `key_type` of a consumer group.
const KEY_TYPE_GROUP: i8 = 0;
/// `key_type` of a transactional id.
const KEY_TYPE_TRANSACTION: i8 = 1;
/// The first version that batches keys.
const BATCHED_FROM: i16 = 4;

/// Handles FindCoordinator.
pub fn handle_find_coordinator(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    let version = header.request_api_version;
    answer_later(
        ApiKey::FindCoordinator,
        header,
        body,
        move |request: FindCoordinatorRequest| find_coordinator(cluster, version, request),
    )
}

async fn find_coordinator(
    cluster: Arc<dyn KafkaCluster>,
    version: i16,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    if version >= BATCHED_FROM {
        let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
        for key in request.coordinator_keys {
            let found = locate(&*cluster, request.key_type, &key).await;
            coordinators.push(entry(key, found));
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let found = locate(&*cluster, request.key_type, &request.key).await;
    let Coordinator {
        node_id,
        host,
        port,
        error_code,
        error_message,
        ..
    } = entry(request.key, found);
    FindCoordinatorResponse::default()
        .with_error_code(error_code)
        .with_error_message(if version >= 1 { error_message } else { None })
        .with_node_id(node_id)
        .with_host(host)
        .with_port(port)
}

async fn locate(
    cluster: &dyn KafkaCluster,
    key_type: i8,
    key: &StrBytes,
) -> Result<BrokerEndpoint, KafkaError> {
    match key_type {
        KEY_TYPE_GROUP => cluster.find_group_coordinator(key).await,
        KEY_TYPE_TRANSACTION => cluster.find_txn_coordinator(key).await,
        other => Err(KafkaError::new(
            error_code::INVALID_REQUEST,
            format!("unknown coordinator key type {other} for key {key:?}"),
        )),
    }
}

fn entry(key: StrBytes, found: Result<BrokerEndpoint, KafkaError>) -> Coordinator {
    let entry = Coordinator::default().with_key(key);
    match found {
        Ok(broker) => entry
            .with_node_id(BrokerId(broker.id))
            .with_host(wire(broker.host))
            .with_port(broker.port),
        Err(e) => entry
            .with_error_code(e.code)
            .with_error_message(e.message.map(StrBytes::from_string))
            .with_node_id(BrokerId(-1))
            .with_host(StrBytes::default())
            .with_port(-1),
    }
}
