//! Sending one request through the dispatch entry point as a client would:
//! header and body encoded at a version, the response frame decoded back.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use cairn_kafka::api::{handle_request, Outcome};
use cairn_kafka::{Client, KafkaCluster};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::memory_cluster::MemoryCluster;

const CORRELATION_ID: i32 = 4242;

/// The address every test request comes from (TEST-NET-1, RFC 5737).
pub const CLIENT_PEER: &str = "192.0.2.10:50123";
/// How Kafka reports that client's host.
pub const CLIENT_HOST: &str = "/192.0.2.10";

/// A fresh in-memory cluster, shared with the handlers.
pub fn cluster() -> Arc<MemoryCluster> {
    Arc::new(MemoryCluster::default())
}

/// Sends `request` as `key` v`version`; `None` if the broker sends nothing
/// back. Panics if the broker closes the connection or the frame is off.
pub async fn call<Req: Encodable, Resp: Decodable>(
    cluster: &Arc<MemoryCluster>,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Option<Resp> {
    let mut body = BytesMut::new();
    request.encode(&mut body, version).unwrap();
    call_raw(cluster, key, version, &body, version).await
}

/// Like [`call`], with a body encoded by hand (for versions kafka-protocol
/// does not know); the response is decoded as `response_version`, whose
/// wire form it shares.
pub async fn call_raw<Resp: Decodable>(
    cluster: &Arc<MemoryCluster>,
    key: ApiKey,
    version: i16,
    body: &[u8],
    response_version: i16,
) -> Option<Resp> {
    let mut frame = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(CORRELATION_ID)
        .with_client_id(Some(StrBytes::from_static_str("handler-test")))
        .encode(&mut frame, key.request_header_version(version))
        .unwrap();
    frame.extend_from_slice(body);
    let dyn_cluster: Arc<dyn KafkaCluster> = cluster.clone();
    let client = Client::from_peer(CLIENT_PEER.parse().unwrap());
    match handle_request(frame.freeze(), &dyn_cluster, &client).await {
        Outcome::Respond(bytes) => Some(decode_response(key, version, response_version, bytes)),
        Outcome::NoResponse => None,
        Outcome::Close(reason) => panic!("{key:?} v{version}: connection closed: {reason}"),
    }
}

/// Like [`call`], for requests that must be answered.
pub async fn answered<Req: Encodable, Resp: Decodable>(
    cluster: &Arc<MemoryCluster>,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Resp {
    call(cluster, key, version, request)
        .await
        .unwrap_or_else(|| panic!("{key:?} v{version} got no response"))
}

fn decode_response<Resp: Decodable>(
    key: ApiKey,
    version: i16,
    response_version: i16,
    mut frame: Bytes,
) -> Resp {
    let size = frame.get_i32();
    assert_eq!(
        size as usize,
        frame.len(),
        "{key:?} v{version}: size prefix"
    );
    let header = ResponseHeader::decode(&mut frame, key.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, CORRELATION_ID, "{key:?} v{version}");
    let response = Resp::decode(&mut frame, response_version).unwrap();
    assert!(
        frame.is_empty(),
        "{key:?} v{version}: {} bytes left over",
        frame.len()
    );
    response
}

/// Like [`call_raw`], for requests that must be answered.
pub async fn answered_raw<Resp: Decodable>(
    cluster: &Arc<MemoryCluster>,
    key: ApiKey,
    version: i16,
    body: &[u8],
    response_version: i16,
) -> Resp {
    call_raw(cluster, key, version, body, response_version)
        .await
        .unwrap_or_else(|| panic!("{key:?} v{version} got no response"))
}
