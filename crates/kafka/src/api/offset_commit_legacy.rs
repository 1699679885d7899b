//! OffsetCommit v0 and v1 on the wire. kafka-protocol 0.18 follows Kafka
//! 4.0's schemas, which dropped these versions (KIP-896), so this module
//! reads them into the crate's [`OffsetCommitRequest`]: its v2 form holds
//! every field they carry except v1's commit timestamp. Their response is
//! v2's on the wire ([`RESPONSE_WIRE_VERSION`]).
//!
//! ```text
//! v0: group_id topics[name partitions[partition_index committed_offset committed_metadata]]
//! v1: group_id generation_id member_id
//!     topics[name partitions[partition_index committed_offset commit_timestamp committed_metadata]]
//! ```
//!
//! v0 names no member: it becomes a commit outside group management
//! (generation -1, no member id). v1's commit timestamp is read and dropped:
//! offsets expire by the broker's retention, as Kafka does since 2.1.
//! The body has passed the bounds check ([`crate::guard`]) already.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, TopicName};
use kafka_protocol::protocol::buf::ByteBuf;
use kafka_protocol::protocol::StrBytes;

/// The first version kafka-protocol reads; below it, this module does.
pub const FIRST_DECODED_VERSION: i16 = 2;

/// The version whose response is v0's and v1's on the wire.
pub const RESPONSE_WIRE_VERSION: i16 = 2;

/// The version that carries a commit timestamp per partition.
const COMMIT_TIMESTAMP_VERSION: i16 = 1;

/// Reads an OffsetCommit v0 or v1 request body.
pub fn decode_request(body: &mut Bytes, version: i16) -> Result<OffsetCommitRequest, String> {
    let mut request = OffsetCommitRequest::default()
        .with_group_id(GroupId(string(body, "group_id")?))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(StrBytes::default());
    if version >= 1 {
        request.generation_id_or_member_epoch = i32_field(body, "generation_id")?;
        request.member_id = string(body, "member_id")?;
    }
    let topics = count(body, "topics")?;
    let mut decoded = Vec::with_capacity(topics);
    for _ in 0..topics {
        let name = TopicName(string(body, "topic name")?);
        let partitions = count(body, "partitions")?;
        let mut entries = Vec::with_capacity(partitions);
        for _ in 0..partitions {
            let partition_index = i32_field(body, "partition_index")?;
            let committed_offset = body
                .try_get_i64()
                .map_err(|_| "truncated committed_offset".to_string())?;
            if version == COMMIT_TIMESTAMP_VERSION {
                body.try_get_i64()
                    .map_err(|_| "truncated commit_timestamp".to_string())?;
            }
            let committed_metadata = nullable_string(body, "committed_metadata")?;
            entries.push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(partition_index)
                    .with_committed_offset(committed_offset)
                    .with_committed_metadata(committed_metadata),
            );
        }
        decoded.push(
            OffsetCommitRequestTopic::default()
                .with_name(name)
                .with_partitions(entries),
        );
    }
    Ok(request.with_topics(decoded))
}

fn i32_field(body: &mut Bytes, what: &str) -> Result<i32, String> {
    body.try_get_i32().map_err(|_| format!("truncated {what}"))
}

/// An array's element count; these versions have no null arrays.
fn count(body: &mut Bytes, what: &str) -> Result<usize, String> {
    let n = i32_field(body, what)?;
    let n = usize::try_from(n).map_err(|_| format!("{what}: negative count {n}"))?;
    // Every element takes at least one byte (the bounds check holds this too).
    if n > body.remaining() {
        return Err(format!(
            "{what}: {n} elements but only {} bytes remain",
            body.remaining()
        ));
    }
    Ok(n)
}

fn nullable_string(body: &mut Bytes, what: &str) -> Result<Option<StrBytes>, String> {
    let len = body
        .try_get_i16()
        .map_err(|_| format!("truncated length of {what}"))?;
    if len == -1 {
        return Ok(None);
    }
    let len = usize::try_from(len).map_err(|_| format!("{what}: negative length {len}"))?;
    let bytes = body
        .try_get_bytes(len)
        .map_err(|_| format!("{what}: {len} bytes but only {} remain", body.remaining()))?;
    StrBytes::try_from(bytes)
        .map(Some)
        .map_err(|e| format!("{what} is not UTF-8: {e}"))
}

fn string(body: &mut Bytes, what: &str) -> Result<StrBytes, String> {
    nullable_string(body, what)?.ok_or_else(|| format!("{what} is null"))
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};

    use super::*;

    fn put_string(buf: &mut BytesMut, s: Option<&str>) {
        match s {
            Some(s) => {
                buf.put_i16(s.len() as i16);
                buf.put_slice(s.as_bytes());
            }
            None => buf.put_i16(-1),
        }
    }

    fn body(version: i16) -> Bytes {
        let mut buf = BytesMut::new();
        put_string(&mut buf, Some("g"));
        if version == 1 {
            buf.put_i32(7);
            put_string(&mut buf, Some("m-1"));
        }
        buf.put_i32(1);
        put_string(&mut buf, Some("t"));
        buf.put_i32(2);
        for (partition, metadata) in [(0, Some("meta")), (3, None)] {
            buf.put_i32(partition);
            buf.put_i64(40 + i64::from(partition));
            if version == 1 {
                buf.put_i64(1_700_000_000_000);
            }
            put_string(&mut buf, metadata);
        }
        buf.freeze()
    }

    #[test]
    fn v0_and_v1_read_into_the_v2_request() {
        for version in [0, 1] {
            let mut wire = body(version);
            let request = decode_request(&mut wire, version).unwrap();
            assert!(wire.is_empty(), "v{version}: every byte read");
            assert_eq!(request.group_id.as_str(), "g");
            let (generation, member) = if version == 0 { (-1, "") } else { (7, "m-1") };
            assert_eq!(request.generation_id_or_member_epoch, generation);
            assert_eq!(request.member_id.as_str(), member);
            let topic = &request.topics[0];
            assert_eq!(topic.name.as_str(), "t");
            let partitions: Vec<_> = topic
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.committed_metadata.as_deref().map(str::to_owned),
                    )
                })
                .collect();
            assert_eq!(
                partitions,
                vec![(0, 40, -1, Some("meta".to_owned())), (3, 43, -1, None)],
                "v{version}"
            );
        }
    }

    #[test]
    fn truncated_and_hostile_bodies_are_refused() {
        for version in [0, 1] {
            let wire = body(version);
            for cut in 0..wire.len() {
                let mut prefix = wire.slice(..cut);
                assert!(
                    decode_request(&mut prefix, version).is_err(),
                    "v{version} cut at {cut}"
                );
            }
        }
        let mut hostile = BytesMut::new();
        put_string(&mut hostile, Some("g"));
        hostile.put_i32(i32::MAX);
        let e = decode_request(&mut hostile.freeze(), 0).unwrap_err();
        assert!(e.contains("2147483647 elements"), "{e}");
    }
}
