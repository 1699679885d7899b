//! AddOffsetsToTxn (key 25), v0-v3: a transactional producer is about to
//! commit a consumer group's offsets in its transaction
//! (`sendOffsetsToTransaction`): the group's `__consumer_offsets` partition
//! joins the transaction, so that its marker releases (or drops) the
//! offsets TxnOffsetCommit holds. Until that topic exists the answer is
//! COORDINATOR_NOT_AVAILABLE, which clients retry.

use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::offsets_partition_for;
use cairn_coordinator::txn::TxnEvent;
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, ApiKey, RequestHeader,
};

use super::respond::{answer_later, Pending};
use super::txn::answer_code;
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Kafka's name of the topic holding consumer groups and their offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Handles AddOffsetsToTxn.
pub fn handle_add_offsets_to_txn(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::AddOffsetsToTxn,
        header,
        body,
        move |request: AddOffsetsToTxnRequest| add_offsets(cluster, request),
    )
}

async fn add_offsets(
    cluster: Arc<dyn KafkaCluster>,
    request: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let count = cluster
        .partition_count(OFFSETS_TOPIC)
        .and_then(|n| NonZeroU32::new(u32::try_from(n).ok()?));
    let code = match count {
        None => error_code::COORDINATOR_NOT_AVAILABLE,
        Some(count) => {
            let partition = offsets_partition_for(&request.group_id.0, count) as i32;
            let transactional_id = request.transactional_id.0.to_string();
            let event = TxnEvent::AddPartitions {
                transactional_id: transactional_id.clone(),
                producer_id: request.producer_id.0,
                producer_epoch: request.producer_epoch,
                partitions: vec![(OFFSETS_TOPIC.to_string(), partition)],
            };
            answer_code(&*cluster, &transactional_id, event).await
        }
    };
    AddOffsetsToTxnResponse::default().with_error_code(code)
}
