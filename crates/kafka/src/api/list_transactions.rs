//! ListTransactions (key 66), v0-v1 (KIP-664): the transactional ids this
//! broker coordinates, filtered by state and producer id, and (v1,
//! KIP-994) to transactions running longer than `duration_filter` ms. The
//! admin client asks every broker and merges the answers. A state filter
//! that names no state is listed back in `unknown_state_filters`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ApiKey, ListTransactionsRequest, ListTransactionsResponse, ProducerId, RequestHeader,
    TransactionalId,
};

use super::groups::wire;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;

/// Kafka's names of the transaction states.
const STATES: [&str; 6] = [
    "Empty",
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "CompleteCommit",
    "CompleteAbort",
];

/// Handles ListTransactions.
pub fn handle_list_transactions(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::ListTransactions,
        header,
        body,
        |request: ListTransactionsRequest| list(&**cluster, request),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn list(cluster: &dyn KafkaCluster, request: ListTransactionsRequest) -> ListTransactionsResponse {
    let unknown = request
        .state_filters
        .iter()
        .filter(|s| !STATES.contains(&s.as_str()))
        .cloned()
        .collect();
    let now = now_ms();
    let states = cluster
        .list_txns()
        .into_iter()
        .filter(|(_, meta)| {
            request.state_filters.is_empty()
                || request
                    .state_filters
                    .iter()
                    .any(|s| s.as_str() == meta.state.name())
        })
        .filter(|(_, meta)| {
            request.producer_id_filters.is_empty()
                || request
                    .producer_id_filters
                    .contains(&ProducerId(meta.producer_id))
        })
        .filter(|(_, meta)| {
            request.duration_filter < 0
                || meta.started_ms.is_some_and(|started| {
                    now.saturating_sub(started) >= request.duration_filter as u64
                })
        })
        .map(|(id, meta)| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(wire(id)))
                .with_producer_id(ProducerId(meta.producer_id))
                .with_transaction_state(wire(meta.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states)
}
