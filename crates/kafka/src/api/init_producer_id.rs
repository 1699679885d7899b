//! InitProducerId (key 22), v0-v5: a producer id and epoch for an
//! idempotent producer. Without a transactional id the broker hands out a new
//! id with epoch 0 every time (as Kafka does; the id and epoch a v3+ client
//! sends to bump its epoch after an error are not needed: a new id starts
//! clean). Ids come from blocks the controller allocates in the metadata
//! group, so no two producers ever share one.
//!
//! Transactional ids are not served yet (transactions are a later step):
//! such a request gets INVALID_REQUEST (and a broker log line naming the
//! id), which clients report as fatal instead of retrying.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, RequestHeader,
};

use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles InitProducerId.
pub fn handle_init_producer_id(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::InitProducerId,
        header,
        body,
        move |request: InitProducerIdRequest| init_producer_id(cluster, request),
    )
}

async fn init_producer_id(
    cluster: Arc<dyn KafkaCluster>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let refused = |code| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if let Some(id) = request
        .transactional_id
        .as_ref()
        .filter(|id| !id.is_empty())
    {
        tracing::warn!(
            transactional_id = %id.0,
            "InitProducerId with a transactional id refused: transactions are not supported yet"
        );
        return refused(error_code::INVALID_REQUEST);
    }
    match cluster.init_producer_id().await {
        Ok((id, epoch)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => {
            tracing::warn!(code = e.code, message = ?e.message, "no producer id handed out");
            refused(e.code)
        }
    }
}
