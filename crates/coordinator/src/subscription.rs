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
    fn truncated_or_garbage_metadata_does_not_parse() {
        let full = encode_subscription(&["orders"]);
        assert_eq!(subscribed_topics(&full[..7]), None);
        assert_eq!(subscribed_topics(b"\x00"), None);
        assert_eq!(subscribed_topics(&[0, 0, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
