//! WriteTxnMarkers (key 27), v1: in Kafka, how a transaction coordinator
//! asks partition leaders to write the markers of a transaction. Cairn's
//! coordinators write markers over the brokers' own transport (see
//! `cairn_broker::txn::markers`), where a marker is checked against the
//! coordinator's transaction number; a marker sent with this Kafka API would
//! come from a client, which may not end anyone's transaction, so every
//! partition answers CLUSTER_AUTHORIZATION_FAILED (as Kafka answers a
//! principal without cluster permission) and nothing is written.

use bytes::Bytes;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};

use super::respond::{answer_now, Pending};
use crate::error_code;

/// Handles WriteTxnMarkers.
pub fn handle_write_txn_markers(header: &RequestHeader, body: &mut Bytes) -> Pending {
    answer_now(
        ApiKey::WriteTxnMarkers,
        header,
        body,
        |request: WriteTxnMarkersRequest| refuse(request),
    )
}

fn refuse(request: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    tracing::warn!(
        markers = request.markers.len(),
        "WriteTxnMarkers from a client refused: only transaction coordinators write markers"
    );
    WriteTxnMarkersResponse::default().with_markers(
        request
            .markers
            .into_iter()
            .map(|m| {
                WritableTxnMarkerResult::default()
                    .with_producer_id(m.producer_id)
                    .with_topics(
                        m.topics
                            .into_iter()
                            .map(|t| {
                                WritableTxnMarkerTopicResult::default()
                                    .with_name(t.name)
                                    .with_partitions(
                                        t.partition_indexes
                                            .into_iter()
                                            .map(|p| {
                                                WritableTxnMarkerPartitionResult::default()
                                                    .with_partition_index(p)
                                                    .with_error_code(
                                                        error_code::CLUSTER_AUTHORIZATION_FAILED,
                                                    )
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
