//! Request dispatch: decodes the header, routes by API key to one module per
//! API, and encodes the response with the header version the API requires.
//! Anything the broker cannot answer (an unknown API key, a version outside
//! the supported range of an API other than ApiVersions, an undecodable
//! header) closes the connection, as Kafka brokers do.

pub mod admin;
pub mod api_versions;
pub mod fetch;
pub mod list_offsets;
pub mod metadata;
pub mod produce;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use std::sync::Arc;

use crate::cluster::{BoxFuture, KafkaCluster};

/// The APIs and version ranges this broker serves, in ApiVersions order.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 4),
    (ApiKey::DeleteTopics, 1, 4),
    (ApiKey::DescribeConfigs, 1, 2),
    (ApiKey::DescribeCluster, 0, 0),
    (ApiKey::CreatePartitions, 0, 1),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
];

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send these bytes (a whole frame, size prefix included).
    Respond(Bytes),
    /// Close the connection; the reason is logged.
    Close(String),
    /// Send nothing (Produce with acks=0).
    NoResponse,
}

/// A request being handled: its side effects that must keep the order of
/// the connection's requests (handing batches to a partition) are done; the
/// rest (waiting for commit, long-polling) runs in the future.
pub type Pending = BoxFuture<Outcome>;

fn ready(outcome: Outcome) -> Pending {
    Box::pin(std::future::ready(outcome))
}

/// The supported version range of `key`, if the API is served.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, min, max)| (*min, *max))
}

/// Handles one request frame body (without its size prefix).
pub fn handle(frame: Bytes, cluster: &Arc<dyn KafkaCluster>) -> Pending {
    match start(frame, cluster) {
        Ok(pending) => pending,
        Err(outcome) => ready(outcome),
    }
}

fn start(frame: Bytes, cluster: &Arc<dyn KafkaCluster>) -> Result<Pending, Outcome> {
    if frame.len() < crate::codec::MIN_REQUEST {
        return Err(Outcome::Close(format!(
            "request of {} bytes is too short",
            frame.len()
        )));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Err(Outcome::Close(format!("unknown API key {raw_key}")));
    };
    if api_key == ApiKey::ApiVersions && !(0..=api_versions::MAX_VERSION).contains(&version) {
        // A newer client's header may not parse at this version; the
        // correlation id is at a fixed place, and that is all the answer needs.
        let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        return Err(api_versions::unsupported(correlation_id));
    }
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, api_key.request_header_version(version))
        .map_err(|e| {
            Outcome::Close(format!(
                "malformed {api_key:?} v{version} request header: {e}"
            ))
        })?;
    crate::guard::check(api_key, version, &body)
        .map_err(|e| Outcome::Close(format!("malformed {api_key:?} v{version} request: {e}")))?;
    if api_key == ApiKey::ApiVersions {
        return Err(api_versions::handle(&header, &mut body));
    }
    match supported_versions(api_key) {
        Some((min, max)) if (min..=max).contains(&version) => {}
        Some((min, max)) => {
            return Err(Outcome::Close(format!(
                "{api_key:?} v{version} is not supported (supported: v{min}-v{max})"
            )));
        }
        None => {
            return Err(Outcome::Close(format!(
                "{api_key:?} is not supported by this broker"
            )))
        }
    }
    match api_key {
        ApiKey::Metadata => Err(metadata::handle(&header, &mut body, cluster.as_ref())),
        ApiKey::Produce => produce::handle(&header, &mut body, cluster),
        ApiKey::Fetch => fetch::handle(&header, &mut body, cluster),
        ApiKey::ListOffsets => Err(list_offsets::handle(&header, &mut body, cluster.as_ref())),
        ApiKey::CreateTopics => admin::create_topics(&header, &mut body, cluster),
        ApiKey::DeleteTopics => admin::delete_topics(&header, &mut body, cluster),
        ApiKey::CreatePartitions => admin::create_partitions(&header, &mut body, cluster),
        ApiKey::AlterConfigs => admin::alter_configs(&header, &mut body, cluster),
        ApiKey::IncrementalAlterConfigs => {
            admin::incremental_alter_configs(&header, &mut body, cluster)
        }
        ApiKey::DeleteRecords => admin::delete_records(&header, &mut body, cluster),
        ApiKey::DescribeConfigs => Err(admin::describe_configs(
            &header,
            &mut body,
            cluster.as_ref(),
        )),
        ApiKey::DescribeCluster => Err(admin::describe_cluster(
            &header,
            &mut body,
            cluster.as_ref(),
        )),
        other => Err(Outcome::Close(format!(
            "{other:?} is not supported by this broker"
        ))),
    }
}

/// Decodes a request body, or closes the connection naming what failed.
pub fn decode<R: Decodable>(
    header: &RequestHeader,
    body: &mut Bytes,
    what: &str,
) -> Result<R, Outcome> {
    R::decode(body, header.request_api_version).map_err(|e| {
        Outcome::Close(format!(
            "malformed {what} v{} request: {e}",
            header.request_api_version
        ))
    })
}

/// Encodes a response frame: size, header at the API's response header version, body.
pub fn respond<R: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Outcome {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0); // size, patched below
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let encoded = header
        .encode(&mut buf, api_key.response_header_version(version))
        .and_then(|()| body.encode(&mut buf, version));
    if let Err(e) = encoded {
        return Outcome::Close(format!(
            "cannot encode {api_key:?} v{version} response: {e}"
        ));
    }
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Outcome::Respond(buf.freeze())
}
