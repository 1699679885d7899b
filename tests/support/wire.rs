//! Kafka requests on bytes, for tests that need exact control over what is
//! sent (a version, a field a client would not set) and see exactly what the
//! broker answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// A connection to a Kafka listener on loopback, with a 10 s read timeout.
pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One request frame: size, header (client id `cairn-test`), body.
pub fn request<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &R) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("cairn-test")))
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.to_vec()
}

/// Reads one response frame; `None` if the broker closed the connection.
pub fn read_frame(s: &mut TcpStream) -> Option<Bytes> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).ok()?;
    Some(Bytes::from(body))
}

/// Decodes a response frame; asserts nothing trails the body.
pub fn response<R: Decodable>(frame: Bytes, key: ApiKey, version: i16) -> (i32, R) {
    let mut frame = frame;
    let header = ResponseHeader::decode(&mut frame, key.response_header_version(version)).unwrap();
    let body = R::decode(&mut frame, version).unwrap();
    assert!(
        !frame.has_remaining(),
        "trailing bytes in {key:?} v{version} response"
    );
    (header.correlation_id, body)
}

/// Whether the broker closed the connection.
pub fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

/// Sends one request on `s` and decodes its answer.
pub fn call<Q: Encodable, R: Decodable>(
    s: &mut TcpStream,
    key: ApiKey,
    version: i16,
    body: &Q,
) -> R {
    s.write_all(&request(key, version, 1, body)).unwrap();
    let frame = read_frame(s).unwrap_or_else(|| panic!("{key:?} v{version}: connection closed"));
    response(frame, key, version).1
}
