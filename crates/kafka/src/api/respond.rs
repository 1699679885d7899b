//! What every API handler shares: the [`Outcome`] of a request, decoding its
//! body at the header's version, encoding the response with the header
//! version its API requires, and the decode → answer → encode skeleton
//! ([`answer_now`], [`answer_later`]) so that an API file holds only its
//! own logic.

use std::future::Future;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use cairn_common::metrics::metrics;

use super::response_errors::ResponseErrors;
use crate::cluster::BoxFuture;
use crate::error::KafkaError;
use crate::error_code;

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

/// A request answered already.
pub fn ready(outcome: Outcome) -> Pending {
    Box::pin(std::future::ready(outcome))
}

/// Decodes a request body at the header's version, or closes the connection
/// naming what failed.
pub fn decode_request<R: Decodable>(
    api_key: ApiKey,
    header: &RequestHeader,
    body: &mut Bytes,
) -> Result<R, Outcome> {
    R::decode(body, header.request_api_version).map_err(|e| {
        Outcome::Close(format!(
            "malformed {api_key:?} v{} request: {e}",
            header.request_api_version
        ))
    })
}

/// Encodes a response frame: size, header at the API's response header version, body.
pub fn encode_response<R: Encodable + ResponseErrors>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Outcome {
    count_errors(api_key, body);
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

/// Counts every error code `body` carries in the metrics, by API and error.
fn count_errors(api_key: ApiKey, body: &impl ResponseErrors) {
    let mut codes = Vec::new();
    body.error_codes(&mut codes);
    let api = super::api_name(api_key as i16);
    for code in codes.into_iter().filter(|&c| c != error_code::NONE) {
        metrics().kafka.error(api, error_code::static_name(code), 1);
    }
}

/// Decodes the request, answers it at once with `answer`, and encodes the response.
pub fn answer_now<Req, Resp>(
    api_key: ApiKey,
    header: &RequestHeader,
    body: &mut Bytes,
    answer: impl FnOnce(Req) -> Resp,
) -> Pending
where
    Req: Decodable,
    Resp: Encodable + ResponseErrors,
{
    let outcome = match decode_request(api_key, header, body) {
        Ok(request) => encode_response(
            api_key,
            header.request_api_version,
            header.correlation_id,
            &answer(request),
        ),
        Err(close) => close,
    };
    ready(outcome)
}

/// Decodes the request and calls `answer` at once (so that its side effects
/// keep the connection's order); the response is encoded when the future
/// `answer` returned resolves.
pub fn answer_later<Req, Resp, Answer>(
    api_key: ApiKey,
    header: &RequestHeader,
    body: &mut Bytes,
    answer: impl FnOnce(Req) -> Answer,
) -> Pending
where
    Req: Decodable,
    Resp: Encodable + ResponseErrors,
    Answer: Future<Output = Resp> + Send + 'static,
{
    let request = match decode_request(api_key, header, body) {
        Ok(request) => request,
        Err(close) => return ready(close),
    };
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let answer = answer(request);
    Box::pin(async move {
        let response = answer.await;
        encode_response(api_key, version, correlation_id, &response)
    })
}

/// The `error_code` and `error_message` fields of a response entry for the
/// result of a cluster operation.
pub fn error_fields(result: Result<(), KafkaError>) -> (i16, Option<StrBytes>) {
    match result {
        Ok(()) => (error_code::NONE, None),
        Err(e) => (e.code, e.message.map(StrBytes::from_string)),
    }
}
