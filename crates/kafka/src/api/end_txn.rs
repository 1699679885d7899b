//! EndTxn (key 26), v0-v3: a transactional producer commits or aborts its
//! transaction. The coordinator decides it (PrepareCommit or
//! PrepareAbort, replicated) and answers at once; the markers follow, and
//! the producer's next transaction waits for them (its requests answer
//! CONCURRENT_TRANSACTIONS meanwhile, which clients retry). A retried
//! EndTxn of a decided transaction gets the same answer; EndTxn without an
//! open transaction, or with the other outcome, INVALID_TXN_STATE.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::txn::TxnEvent;
use kafka_protocol::messages::{ApiKey, EndTxnRequest, EndTxnResponse, RequestHeader};

use super::respond::{answer_later, Pending};
use super::txn::answer_code;
use crate::cluster::KafkaCluster;

/// Handles EndTxn.
pub fn handle_end_txn(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::EndTxn,
        header,
        body,
        move |request: EndTxnRequest| end(cluster, request),
    )
}

async fn end(cluster: Arc<dyn KafkaCluster>, request: EndTxnRequest) -> EndTxnResponse {
    let transactional_id = request.transactional_id.0.to_string();
    let event = TxnEvent::EndTxn {
        transactional_id: transactional_id.clone(),
        producer_id: request.producer_id.0,
        producer_epoch: request.producer_epoch,
        commit: request.committed,
    };
    let code = answer_code(&*cluster, &transactional_id, event).await;
    EndTxnResponse::default()
        .with_error_code(code)
        .with_producer_id(request.producer_id)
        .with_producer_epoch(request.producer_epoch)
}
