//! ApiVersions (key 18): the APIs and versions this broker serves. An
//! unsupported request version gets a v0 response with UNSUPPORTED_VERSION and
//! the full list, so the client can retry with a version it shares (KIP-511).
//! The table here is also what dispatch checks every request's version against.

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader};

use super::respond::{answer_now, encode_response, ready, Outcome, Pending};
use crate::error_code;

/// The APIs and version ranges this broker serves, in ApiVersions order.
///
/// The consumer group APIs cover every version of the classic protocol that
/// kafka-protocol 0.18 knows, to Kafka 3.2+'s maxima (JoinGroup 9, LeaveGroup
/// 5, OffsetCommit 9, OffsetFetch 9, ListGroups 5). OffsetCommit 0-1 and
/// OffsetFetch 0 predate the crate's schemas (Kafka 4.0 dropped them) and
/// are read by hand. FindCoordinator stops at 4 (v5 lets transactions answer
/// TRANSACTION_ABORTABLE, v6 finds share group coordinators) and
/// DescribeGroups at 5 (v6 answers GROUP_ID_NOT_FOUND for an unknown group,
/// KIP-1043). JoinGroup 9 makes kafka-python guess a 3.2 broker instead of
/// 3.0; it gates no feature on a release between the two. The transaction
/// APIs stop before TRANSACTION_ABORTABLE (AddOffsetsToTxn 4, EndTxn 4,
/// TxnOffsetCommit 4) and KIP-890's epoch bump per transaction (EndTxn 5).
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 17),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::OffsetCommit, 0, 9),
    (ApiKey::OffsetFetch, 0, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, MAX_VERSION),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::AddPartitionsToTxn, 0, 4),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    (ApiKey::TxnOffsetCommit, 0, 3),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::AlterReplicaLogDirs, 1, 2),
    (ApiKey::DescribeQuorum, 0, 2),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 1),
    (ApiKey::DescribeTopicPartitions, 0, 0),
];

/// The highest ApiVersions version served.
pub const MAX_VERSION: i16 = 4;

/// The supported version range of `key`, if the API is served.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, min, max)| (*min, *max))
}

fn api_list() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(*key as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect()
}

/// Answers an ApiVersions request of a version this broker does not know.
pub fn unsupported(correlation_id: i32) -> Outcome {
    let response = ApiVersionsResponse::default()
        .with_error_code(error_code::UNSUPPORTED_VERSION)
        .with_api_keys(api_list());
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &response)
}

/// Handles ApiVersions at any version.
pub fn handle_api_versions(header: &RequestHeader, body: &mut Bytes) -> Pending {
    if !(0..=MAX_VERSION).contains(&header.request_api_version) {
        return ready(unsupported(header.correlation_id));
    }
    answer_now(
        ApiKey::ApiVersions,
        header,
        body,
        |_: ApiVersionsRequest| {
            ApiVersionsResponse::default()
                .with_error_code(error_code::NONE)
                .with_api_keys(api_list())
        },
    )
}
