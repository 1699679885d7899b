//! What the transaction APIs share: carrying an event to the transaction
//! coordinator and turning its answer into a Kafka error code.

use cairn_coordinator::txn::{TxnAnswer, TxnEvent};

use crate::cluster::KafkaCluster;
use crate::error_code;

/// The error code of the coordinator's answer to `event` for
/// `transactional_id` (NONE when it succeeded).
pub async fn answer_code(
    cluster: &dyn KafkaCluster,
    transactional_id: &str,
    event: TxnEvent,
) -> i16 {
    match cluster.txn_request(transactional_id, event).await {
        Ok(TxnAnswer::Done | TxnAnswer::Producer { .. }) => error_code::NONE,
        Ok(TxnAnswer::Error(code)) => code,
        Err(e) => e.code,
    }
}
