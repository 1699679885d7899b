//! ApiVersions (key 18): the APIs and versions this broker serves. An
//! unsupported request version gets a v0 response with UNSUPPORTED_VERSION and
//! the full list, so the client can retry with a version it shares (KIP-511).

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader};

use super::{decode, respond, Outcome, SUPPORTED};
use crate::error_code;

/// The highest ApiVersions version served.
pub const MAX_VERSION: i16 = 3;

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
    respond(ApiKey::ApiVersions, 0, correlation_id, &response)
}

/// Handles ApiVersions at any version.
pub fn handle(header: &RequestHeader, body: &mut Bytes) -> Outcome {
    let version = header.request_api_version;
    if !(0..=MAX_VERSION).contains(&version) {
        return unsupported(header.correlation_id);
    }
    if let Err(close) = decode::<ApiVersionsRequest>(header, body, "ApiVersions") {
        return close;
    }
    let response = ApiVersionsResponse::default()
        .with_error_code(error_code::NONE)
        .with_api_keys(api_list());
    respond(
        ApiKey::ApiVersions,
        version,
        header.correlation_id,
        &response,
    )
}
