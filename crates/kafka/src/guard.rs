//! A bounds check of request bodies before they are decoded.
//!
//! `kafka-protocol` 0.18 preallocates every array with the element count read
//! from the wire (`Vec::with_capacity(n)`), so a 16-byte request claiming two
//! billion topics makes the allocator fail and the process abort. This module
//! walks the wire format of every request this broker decodes, for every
//! version it serves, and rejects a body in which any array, string or bytes
//! length exceeds the bytes that remain — which no valid request does, since
//! every element takes at least one byte. Only then is the body decoded.

use kafka_protocol::messages::ApiKey;

type Check = Result<(), String>;

struct Walker<'a> {
    buf: &'a [u8],
    flexible: bool,
}

impl Walker<'_> {
    fn take(&mut self, n: usize, what: &str) -> Check {
        if n > self.buf.len() {
            return Err(format!(
                "{what} of {n} bytes but only {} remain",
                self.buf.len()
            ));
        }
        self.buf = &self.buf[n..];
        Ok(())
    }

    fn int(&mut self, bytes: usize) -> Result<i64, String> {
        let Some(head) = self.buf.get(..bytes) else {
            return Err(format!("truncated: a {bytes}-byte field at the end"));
        };
        let v = head.iter().fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
        self.buf = &self.buf[bytes..];
        // Sign-extend.
        Ok(if bytes < 8 && v >> (bytes * 8 - 1) & 1 == 1 {
            v - (1i64 << (bytes * 8))
        } else {
            v
        })
    }

    fn uvarint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = *self.buf.first().ok_or("truncated varint")?;
            self.buf = &self.buf[1..];
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    /// A length prefix: i16/i32 (-1 = null) or, in flexible versions, uvarint+1 (0 = null).
    fn length(&mut self, classic_bytes: usize) -> Result<Option<usize>, String> {
        let n = if self.flexible {
            self.uvarint()? as i64 - 1
        } else {
            self.int(classic_bytes)?
        };
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(format!("negative length {n}")),
            n => Ok(Some(n as usize)),
        }
    }

    fn string(&mut self) -> Check {
        match self.length(2)? {
            Some(n) => self.take(n, "string"),
            None => Ok(()),
        }
    }

    fn bytes(&mut self) -> Check {
        match self.length(4)? {
            Some(n) => self.take(n, "bytes"),
            None => Ok(()),
        }
    }

    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Check) -> Check {
        let Some(n) = self.length(4)? else {
            return Ok(());
        };
        if n > self.buf.len() {
            return Err(format!(
                "array of {n} elements but only {} bytes remain",
                self.buf.len()
            ));
        }
        (0..n).try_for_each(|_| element(self))
    }

    fn tagged(&mut self) -> Check {
        if !self.flexible {
            return Ok(());
        }
        let n = self.uvarint()?;
        if n > self.buf.len() as u64 {
            return Err(format!(
                "{n} tagged fields but only {} bytes remain",
                self.buf.len()
            ));
        }
        for _ in 0..n {
            self.uvarint()?;
            let size = self.uvarint()?;
            self.take(
                usize::try_from(size).map_err(|_| "tagged field too large")?,
                "tagged field",
            )?;
        }
        Ok(())
    }

    fn skip(&mut self, bytes: usize) -> Check {
        self.take(bytes, "field")
    }
}

fn flexible_from(key: ApiKey) -> i16 {
    match key {
        ApiKey::Produce => 9,
        ApiKey::Fetch => 12,
        ApiKey::ListOffsets => 6,
        ApiKey::Metadata => 9,
        ApiKey::CreateTopics => 5,
        ApiKey::DeleteTopics => 4,
        ApiKey::DescribeConfigs => 4,
        ApiKey::CreatePartitions => 2,
        ApiKey::DeleteRecords => 2,
        ApiKey::AlterConfigs => 2,
        ApiKey::IncrementalAlterConfigs => 1,
        ApiKey::ApiVersions => 3,
        ApiKey::FindCoordinator => 3,
        ApiKey::JoinGroup => 6,
        ApiKey::SyncGroup => 4,
        ApiKey::Heartbeat => 4,
        ApiKey::LeaveGroup => 4,
        ApiKey::OffsetCommit => 8,
        ApiKey::OffsetFetch => 6,
        ApiKey::ListGroups => 3,
        ApiKey::DescribeGroups => 5,
        ApiKey::DeleteGroups => 2,
        // OffsetDelete has no flexible version.
        ApiKey::OffsetDelete => i16::MAX,
        ApiKey::ConsumerGroupHeartbeat | ApiKey::ConsumerGroupDescribe => 0,
        ApiKey::InitProducerId => 2,
        ApiKey::DescribeProducers => 0,
        ApiKey::DescribeAcls | ApiKey::CreateAcls | ApiKey::DeleteAcls => 2,
        ApiKey::DescribeLogDirs => 2,
        ApiKey::DescribeTopicPartitions => 0,
        ApiKey::DescribeQuorum => 0,
        ApiKey::AlterReplicaLogDirs => 2,
        ApiKey::OffsetForLeaderEpoch => 4,
        ApiKey::ListPartitionReassignments => 0,
        ApiKey::ElectLeaders => 2,
        ApiKey::AlterPartitionReassignments => 0,
        _ => 0,
    }
}

/// An ACL filter (DescribeAcls v1+, each of DeleteAcls's filters).
fn acl_filter(w: &mut Walker<'_>) -> Check {
    w.skip(1)?; // resource type
    w.string()?; // resource name
    w.skip(1)?; // pattern type
    w.string()?; // principal
    w.string()?; // host
    w.skip(2) // operation, permission type
}

/// Checks that every length in a request body fits in the body.
pub fn check(key: ApiKey, v: i16, body: &[u8]) -> Check {
    let mut w = Walker {
        buf: body,
        flexible: v >= flexible_from(key),
    };
    match key {
        ApiKey::ApiVersions if v >= 3 => {
            w.string()?;
            w.string()?;
        }
        ApiKey::Metadata => {
            w.array(|w| {
                if v >= 10 {
                    w.skip(16)?;
                }
                w.string()?;
                w.tagged()
            })?;
            if v >= 4 {
                w.skip(1)?; // allow auto topic creation
            }
            if (8..=10).contains(&v) {
                w.skip(1)?; // include cluster authorized operations
            }
            if v >= 8 {
                w.skip(1)?; // include topic authorized operations
            }
        }
        ApiKey::Produce => {
            w.string()?; // transactional id
            w.skip(2 + 4)?; // acks, timeout
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.skip(4)?;
                    w.bytes()?;
                    w.tagged()
                })?;
                w.tagged()
            })?;
        }
        ApiKey::Fetch => {
            if v <= 14 {
                w.skip(4)?; // replica id (a tagged replica state from v15)
            }
            w.skip(4 + 4 + 4 + 1)?; // max wait, min bytes, max bytes, isolation
            if v >= 7 {
                w.skip(4 + 4)?; // session id, epoch
            }
            // A topic is named by its name, or by its id from v13.
            let topic = |w: &mut Walker<'_>| {
                if v >= 13 {
                    w.skip(16)
                } else {
                    w.string()
                }
            };
            w.array(|w| {
                topic(w)?;
                w.array(|w| {
                    w.skip(4)?; // partition
                    if v >= 9 {
                        w.skip(4)?; // current leader epoch
                    }
                    w.skip(8)?; // fetch offset
                    if v >= 12 {
                        w.skip(4)?; // last fetched epoch
                    }
                    if v >= 5 {
                        w.skip(8)?; // log start offset
                    }
                    w.skip(4)?; // partition max bytes
                    w.tagged()
                })?;
                w.tagged()
            })?;
            if v >= 7 {
                w.array(|w| {
                    topic(w)?;
                    w.array(|w| w.skip(4))?;
                    w.tagged()
                })?;
            }
            if v >= 11 {
                w.string()?;
            }
        }
        ApiKey::ListOffsets => {
            w.skip(4)?; // replica id
            if v >= 2 {
                w.skip(1)?; // isolation level
            }
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.skip(4)?;
                    if v >= 4 {
                        w.skip(4)?;
                    }
                    w.skip(8)?;
                    w.tagged()
                })?;
                w.tagged()
            })?;
            if v >= 10 {
                w.skip(4)?; // timeout
            }
        }
        ApiKey::CreateTopics => {
            w.array(|w| {
                w.string()?;
                w.skip(4 + 2)?;
                w.array(|w| {
                    w.skip(4)?;
                    w.array(|w| w.skip(4))?;
                    w.tagged()
                })?;
                w.array(|w| {
                    w.string()?;
                    w.string()?;
                    w.tagged()
                })?;
                w.tagged()
            })?;
            w.skip(4)?; // timeout
            if v >= 1 {
                w.skip(1)?; // validate only
            }
        }
        ApiKey::DeleteTopics => {
            if v <= 5 {
                w.array(|w| w.string())?;
            } else {
                w.array(|w| {
                    w.string()?; // name (null: by id)
                    w.skip(16)?; // topic id
                    w.tagged()
                })?;
            }
            w.skip(4)?; // timeout
        }
        ApiKey::DescribeConfigs => {
            w.array(|w| {
                w.skip(1)?;
                w.string()?;
                w.array(|w| w.string())?;
                w.tagged()
            })?;
            w.skip(1)?; // include synonyms (v1+, the oldest served)
            if v >= 3 {
                w.skip(1)?; // include documentation
            }
        }
        ApiKey::CreatePartitions => {
            w.array(|w| {
                w.string()?;
                w.skip(4)?;
                w.array(|w| {
                    w.array(|w| w.skip(4))?;
                    w.tagged()
                })?;
                w.tagged()
            })?;
            w.skip(4 + 1)?; // timeout, validate only
        }
        ApiKey::DeleteRecords => {
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.skip(4 + 8)?; // partition, offset
                    w.tagged()
                })?;
                w.tagged()
            })?;
            w.skip(4)?; // timeout
        }
        ApiKey::AlterConfigs | ApiKey::IncrementalAlterConfigs => {
            let incremental = key == ApiKey::IncrementalAlterConfigs;
            w.array(|w| {
                w.skip(1)?; // resource type
                w.string()?;
                w.array(|w| {
                    w.string()?;
                    if incremental {
                        w.skip(1)?; // operation
                    }
                    w.string()?;
                    w.tagged()
                })?;
                w.tagged()
            })?;
            w.skip(1)?; // validate only
        }
        ApiKey::FindCoordinator => {
            if v <= 3 {
                w.string()?; // key
            }
            if v >= 1 {
                w.skip(1)?; // key type
            }
            if v >= 4 {
                w.array(|w| w.string())?; // coordinator keys
            }
        }
        ApiKey::JoinGroup => {
            w.string()?; // group id
            w.skip(4)?; // session timeout
            if v >= 1 {
                w.skip(4)?; // rebalance timeout
            }
            w.string()?; // member id
            if v >= 5 {
                w.string()?; // group instance id
            }
            w.string()?; // protocol type
            w.array(|w| {
                w.string()?;
                w.bytes()?;
                w.tagged()
            })?;
            if v >= 8 {
                w.string()?; // reason
            }
        }
        ApiKey::SyncGroup => {
            w.string()?; // group id
            w.skip(4)?; // generation
            w.string()?; // member id
            if v >= 3 {
                w.string()?; // group instance id
            }
            if v >= 5 {
                w.string()?; // protocol type
                w.string()?; // protocol name
            }
            w.array(|w| {
                w.string()?;
                w.bytes()?;
                w.tagged()
            })?;
        }
        ApiKey::Heartbeat => {
            w.string()?; // group id
            w.skip(4)?; // generation
            w.string()?; // member id
            if v >= 3 {
                w.string()?; // group instance id
            }
        }
        ApiKey::LeaveGroup => {
            w.string()?; // group id
            if v <= 2 {
                w.string()?; // member id
            } else {
                w.array(|w| {
                    w.string()?; // member id
                    w.string()?; // group instance id
                    if v >= 5 {
                        w.string()?; // reason
                    }
                    w.tagged()
                })?;
            }
        }
        ApiKey::OffsetCommit => {
            w.string()?; // group id
            if v >= 1 {
                w.skip(4)?; // generation
                w.string()?; // member id
            }
            if v >= 7 {
                w.string()?; // group instance id
            }
            if (2..=4).contains(&v) {
                w.skip(8)?; // retention time
            }
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.skip(4 + 8)?; // partition, offset
                    if v >= 6 {
                        w.skip(4)?; // leader epoch
                    }
                    if v == 1 {
                        w.skip(8)?; // commit timestamp
                    }
                    w.string()?; // metadata
                    w.tagged()
                })?;
                w.tagged()
            })?;
        }
        ApiKey::OffsetFetch => {
            fn topics(w: &mut Walker<'_>) -> Check {
                w.array(|w| {
                    w.string()?;
                    w.array(|w| w.skip(4))?;
                    w.tagged()
                })
            }
            if v <= 7 {
                w.string()?; // group id
                topics(&mut w)?;
            } else {
                w.array(|w| {
                    w.string()?; // group id
                    if v >= 9 {
                        w.string()?; // member id
                        w.skip(4)?; // member epoch
                    }
                    topics(w)?;
                    w.tagged()
                })?;
            }
            if v >= 7 {
                w.skip(1)?; // require stable
            }
        }
        ApiKey::ListGroups => {
            if v >= 4 {
                w.array(|w| w.string())?; // states filter
            }
            if v >= 5 {
                w.array(|w| w.string())?; // types filter
            }
        }
        ApiKey::DescribeGroups => {
            w.array(|w| w.string())?;
            if v >= 3 {
                w.skip(1)?; // include authorized operations
            }
        }
        ApiKey::DeleteGroups => {
            w.array(|w| w.string())?;
        }
        ApiKey::OffsetDelete => {
            w.string()?; // group id
            w.array(|w| {
                w.string()?;
                w.array(|w| w.skip(4))?;
                Ok(())
            })?;
        }
        ApiKey::ConsumerGroupHeartbeat => {
            w.string()?; // group id
            w.string()?; // member id
            w.skip(4)?; // member epoch
            w.string()?; // instance id
            w.string()?; // rack id
            w.skip(4)?; // rebalance timeout
            w.array(|w| w.string())?; // subscribed topic names
            if v >= 1 {
                w.string()?; // subscribed topic regex
            }
            w.string()?; // server assignor
            w.array(|w| {
                w.skip(16)?; // topic id
                w.array(|w| w.skip(4))?;
                w.tagged()
            })?;
        }
        ApiKey::ConsumerGroupDescribe => {
            w.array(|w| w.string())?;
            w.skip(1)?; // include authorized operations
        }
        ApiKey::InitProducerId => {
            w.string()?; // transactional id
            w.skip(4)?; // transaction timeout
            if v >= 3 {
                w.skip(10)?; // producer id, producer epoch
            }
        }
        ApiKey::DescribeProducers => {
            w.array(|w| {
                w.string()?;
                w.array(|w| w.skip(4))?;
                w.tagged()
            })?;
        }
        ApiKey::DescribeAcls => acl_filter(&mut w)?,
        ApiKey::DeleteAcls => {
            w.array(|w| {
                acl_filter(w)?;
                w.tagged()
            })?;
        }
        ApiKey::CreateAcls => {
            w.array(|w| {
                w.skip(1)?; // resource type
                w.string()?; // resource name
                w.skip(1)?; // pattern type (v1+, the oldest served)
                w.string()?; // principal
                w.string()?; // host
                w.skip(2)?; // operation, permission type
                w.tagged()
            })?;
        }
        ApiKey::ListPartitionReassignments => {
            w.skip(4)?; // timeout
            w.array(|w| {
                w.string()?;
                w.array(|w| w.skip(4))?;
                w.tagged()
            })?;
        }
        ApiKey::OffsetForLeaderEpoch => {
            if v >= 3 {
                w.skip(4)?; // replica id
            }
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.skip(4 + 4 + 4)?; // partition, current leader epoch, leader epoch
                    w.tagged()
                })?;
                w.tagged()
            })?;
        }
        ApiKey::AlterReplicaLogDirs => {
            w.array(|w| {
                w.string()?; // path
                w.array(|w| {
                    w.string()?;
                    w.array(|w| w.skip(4))?;
                    w.tagged()
                })?;
                w.tagged()
            })?;
        }
        ApiKey::AlterPartitionReassignments => {
            w.skip(4)?; // timeout
            if v >= 1 {
                w.skip(1)?; // allow replication factor change
            }
            w.array(|w| {
                w.string()?; // topic
                w.array(|w| {
                    w.skip(4)?; // partition
                    w.array(|w| w.skip(4))?; // replicas (nullable)
                    w.tagged()
                })?;
                w.tagged()
            })?;
        }
        ApiKey::ElectLeaders => {
            if v >= 1 {
                w.skip(1)?; // election type
            }
            w.array(|w| {
                w.string()?; // topic
                w.array(|w| w.skip(4))?; // partitions
                w.tagged()
            })?;
            w.skip(4)?; // timeout
        }
        ApiKey::DescribeQuorum => {
            w.array(|w| {
                w.string()?;
                w.array(|w| {
                    w.skip(4)?; // partition index
                    w.tagged()
                })?;
                w.tagged()
            })?;
        }
        ApiKey::DescribeTopicPartitions => {
            w.array(|w| {
                w.string()?;
                w.tagged()
            })?;
            w.skip(4)?; // response partition limit
            if w.int(1)? >= 0 {
                // A cursor: topic name, partition index.
                w.string()?;
                w.skip(4)?;
                w.tagged()?;
            }
        }
        ApiKey::DescribeLogDirs => {
            w.array(|w| {
                w.string()?;
                w.array(|w| w.skip(4))?;
                w.tagged()
            })?;
        }
        _ => return Ok(()),
    }
    // Every flexible request body ends with its tagged fields.
    w.tagged()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_array_counts_are_rejected() {
        // Metadata v1: topics claims i32::MAX elements in a 4-byte body.
        let e = check(ApiKey::Metadata, 1, &i32::MAX.to_be_bytes()).unwrap_err();
        assert!(e.contains("2147483647 elements"), "{e}");
        // Flexible Metadata v12: compact array of 2^35 elements.
        assert!(check(ApiKey::Metadata, 12, &[0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        // Produce v3 with a huge partition array inside a topic.
        let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0, 0, 0, 1, 0, 1, b't'];
        body.extend_from_slice(&0x4000_0000i32.to_be_bytes());
        assert!(check(ApiKey::Produce, 3, &body)
            .unwrap_err()
            .contains("elements"));
        // Tagged fields claiming more than is there.
        assert!(check(ApiKey::ApiVersions, 3, &[1, 1, 0x7f]).is_err());
    }

    #[test]
    fn null_arrays_and_strings_pass() {
        assert_eq!(check(ApiKey::Metadata, 1, &(-1i32).to_be_bytes()), Ok(()));
        // Null topics, allow auto-creation, include topic operations, tagged fields.
        assert_eq!(check(ApiKey::Metadata, 12, &[0, 0, 0, 0]), Ok(()));
    }
}
