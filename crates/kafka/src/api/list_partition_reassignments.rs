//! ListPartitionReassignments (key 46), v0: the replica moves in progress.
//! Cairn cannot move replicas yet (AlterPartitionReassignments is not
//! served), so there are never any and the answer lists none, as Kafka
//! answers when nothing is moving. Tools that check for moves before they
//! act (`kafka-reassign-partitions --verify`, admin clients) get that truth
//! instead of a closed connection.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, RequestHeader,
};

use super::respond::{answer_now, Pending};
use crate::error_code;

/// Handles ListPartitionReassignments.
pub fn handle_list_partition_reassignments(header: &RequestHeader, body: &mut Bytes) -> Pending {
    answer_now(
        ApiKey::ListPartitionReassignments,
        header,
        body,
        |_: ListPartitionReassignmentsRequest| {
            ListPartitionReassignmentsResponse::default()
                .with_error_code(error_code::NONE)
                .with_error_message(None)
                .with_topics(Vec::new())
        },
    )
}
