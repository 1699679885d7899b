//! InitProducerId (key 22), v0-v5: a producer id and epoch for an
//! idempotent producer. Without a transactional id the broker hands out a new
//! id with epoch 0 every time (as Kafka does; the id and epoch a v3+ client
//! sends to bump its epoch after an error are not needed: a new id starts
//! clean). Ids come from blocks the controller allocates in the metadata
//! group, so no two producers ever share one.
//!
//! With a transactional id the request goes to the id's transaction
//! coordinator (this broker must be it): a new id gets a fresh producer id
//! at epoch 0, a known one its producer id with the epoch bumped, which
//! fences the previous producer of that id; a transaction it left open is
//! aborted first (the client retries on CONCURRENT_TRANSACTIONS meanwhile).
//! v3+ may name the producer id and epoch it had (KIP-360), to bump its
//! epoch after an error without becoming a new producer.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, RequestHeader,
};

use cairn_coordinator::txn::{TxnAnswer, TxnEvent};

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
    let transactional_id = request
        .transactional_id
        .as_ref()
        .filter(|id| !id.is_empty())
        .map(|id| id.0.to_string());
    let fresh = cluster.init_producer_id().await;
    if let Some(transactional_id) = transactional_id {
        let fresh_producer_id = match fresh {
            Ok((id, _)) => id,
            Err(e) => return refused(e.code),
        };
        let producer = (request.producer_id.0 >= 0 && request.producer_epoch >= 0)
            .then_some((request.producer_id.0, request.producer_epoch));
        let event = TxnEvent::InitProducerId {
            transactional_id: transactional_id.clone(),
            timeout_ms: request.transaction_timeout_ms,
            producer,
            fresh_producer_id,
        };
        return match cluster.txn_request(&transactional_id, event).await {
            Ok(TxnAnswer::Producer {
                producer_id,
                producer_epoch,
            }) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(producer_id))
                .with_producer_epoch(producer_epoch),
            Ok(TxnAnswer::Error(code)) => refused(code),
            Ok(TxnAnswer::Done) => refused(error_code::UNKNOWN_SERVER_ERROR),
            Err(e) => refused(e.code),
        };
    }
    match fresh {
        Ok((id, epoch)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => {
            tracing::warn!(code = e.code, message = ?e.message, "no producer id handed out");
            refused(e.code)
        }
    }
}
