//! Reads the topics out of a consumer's protocol metadata
//! (`ConsumerProtocolSubscription`), so the coordinator knows which topics a
//! `consumer` group reads: OffsetDelete refuses those, and retention of a
//! Stable group expires only the others.
//!
//! Every version of the subscription starts with the v0 layout, which is all
//! this reads: `version: i16`, `topics: [string]` (an `i32` count, then per
//! topic an `i16` length and UTF-8 bytes), all big-endian.

use std::collections::BTreeSet;

/// The protocol type of Kafka consumers.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The topics of a serialized subscription, or `None` if it does not parse.
pub fn subscribed_topics(metadata: &[u8]) -> Option<BTreeSet<String>> {
    let mut rest = metadata;
    let _version = i16::from_be_bytes(take(&mut rest)?);
    let count = i32::from_be_bytes(take(&mut rest)?);
    let count = usize::try_from(count).ok()?;
    let mut topics = BTreeSet::new();
    for _ in 0..count {
        let len = usize::try_from(i16::from_be_bytes(take(&mut rest)?)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (name, tail) = rest.split_at(len);
        topics.insert(std::str::from_utf8(name).ok()?.to_owned());
        rest = tail;
    }
    Some(topics)
}

/// Encodes a v0 subscription with `topics` and no user data (for tests and tools).
pub fn encode_subscription(topics: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for topic in topics {
        out.extend_from_slice(&(topic.len() as i16).to_be_bytes());
        out.extend_from_slice(topic.as_bytes());
    }
    // Null user data.
    out.extend_from_slice(&(-1i32).to_be_bytes());
    out
}

/// Encodes a v0 `ConsumerProtocolAssignment` (topic, partitions; no user
/// data): how DescribeGroups shows a consumer (KIP-848) group member's
/// partitions to tools written for classic groups.
pub fn encode_assignment(topics: &[(String, Vec<i32>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for (topic, partitions) in topics {
        out.extend_from_slice(&(topic.len() as i16).to_be_bytes());
        out.extend_from_slice(topic.as_bytes());
        out.extend_from_slice(&(partitions.len() as i32).to_be_bytes());
        for partition in partitions {
            out.extend_from_slice(&partition.to_be_bytes());
        }
    }
    // Null user data.
    out.extend_from_slice(&(-1i32).to_be_bytes());
    out
}

fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    if rest.len() < N {
        return None;
    }
    let (head, tail) = rest.split_at(N);
    *rest = tail;
    head.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_topics_of_an_encoded_subscription() {
        let topics = subscribed_topics(&encode_subscription(&["orders", "trucks"])).unwrap();
        assert_eq!(topics.into_iter().collect::<Vec<_>>(), ["orders", "trucks"]);
    }

    #[test]
    fn an_encoded_assignment_has_kafkas_layout() {
        let bytes = encode_assignment(&[("t".to_owned(), vec![1, 2])]);
        let expected: Vec<u8> = [
            &[0, 0][..],   // version
            &[0, 0, 0, 1], // one topic
            &[0, 1, b't'], // "t"
            &[0, 0, 0, 2], // two partitions
            &[0, 0, 0, 1, 0, 0, 0, 2],
            &[0xff, 0xff, 0xff, 0xff], // null user data
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn truncated_or_garbage_metadata_does_not_parse() {
        let full = encode_subscription(&["orders"]);
        assert_eq!(subscribed_topics(&full[..7]), None);
        assert_eq!(subscribed_topics(b"\x00"), None);
        assert_eq!(subscribed_topics(&[0, 0, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
