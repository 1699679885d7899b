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
/// The consumer group APIs stop at the classic protocol's maxima of Kafka
/// 2.6-3.0 (JoinGroup 7, SyncGroup 5, ListGroups 4, OffsetCommit 8), below
/// the versions that name a later release (JoinGroup 9 is 3.2), so that
/// kafka-python, which guesses the broker release from such maxima, keeps
/// guessing 3.0 from ListOffsets 7. OffsetFetch stops at 7: v8 batches groups.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, MAX_VERSION),
    (ApiKey::CreateTopics, 2, 4),
    (ApiKey::DeleteTopics, 1, 4),
    (ApiKey::DescribeConfigs, 1, 2),
    (ApiKey::DescribeCluster, 0, 0),
    (ApiKey::CreatePartitions, 0, 1),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 0),
];

/// The highest ApiVersions version served.
pub const MAX_VERSION: i16 = 3;

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
