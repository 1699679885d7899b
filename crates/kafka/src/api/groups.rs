//! What the consumer group handlers share: carrying an event to the group's
//! coordinator ([`send_group_event`]), turning its errors into Kafka codes,
//! and the wire string conversions. The handlers themselves (one file per
//! API) only map between the Kafka messages and the coordinator's
//! [`Event`]s and [`Response`]s.

use cairn_coordinator::{CoordinatorError, Event, RequestId, Response};
use kafka_protocol::messages::RequestHeader;
use kafka_protocol::protocol::StrBytes;

use crate::cluster::{BoxFuture, KafkaCluster};
use crate::error::KafkaError;
use crate::error_code;

/// Hands the event built by `build` to the coordinator of `group_id` at once
/// (so that a connection's group requests reach it in order); the future
/// resolves with the coordinator's answer.
pub fn send_group_event(
    cluster: &dyn KafkaCluster,
    group_id: &str,
    build: impl FnOnce(RequestId) -> Event + Send + 'static,
) -> BoxFuture<Result<Response, KafkaError>> {
    cluster.group_request(group_id, Box::new(build))
}

/// The error for a coordinator answer of the wrong kind (a broker bug).
pub fn unexpected(api: &str, response: &Response) -> KafkaError {
    KafkaError::new(
        error_code::UNKNOWN_SERVER_ERROR,
        format!("{api}: the coordinator answered with {response:?}"),
    )
}

/// The Kafka code of an optional coordinator error (0 for none).
pub fn code(error: Option<&CoordinatorError>) -> i16 {
    error.map_or(error_code::NONE, CoordinatorError::code)
}

/// A wire string from an owned string.
pub fn wire(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// An optional wire string from an optional owned string.
pub fn wire_opt(s: Option<String>) -> Option<StrBytes> {
    s.map(StrBytes::from_string)
}

/// An owned string from an optional wire string.
pub fn owned_opt(s: Option<&StrBytes>) -> Option<String> {
    s.map(|s| s.to_string())
}

/// The client id a request's header carries, or "" (as Kafka reports a
/// member without one).
pub fn client_id(header: &RequestHeader) -> String {
    header
        .client_id
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_default()
}
