//! `cairn topic describe NAME --producers`: the idempotent producers each
//! partition knows, asked of each partition's leader with Kafka's
//! DescribeProducers (KIP-664), as `kafka-transactions.sh describe-producers`
//! does. The leaders and their Kafka listeners come from the admin API.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, RequestHeader, ResponseHeader,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use serde::Serialize;

use cairn_broker::view::{ClusterView, TopicView};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One producer of one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerRow {
    /// Partition index.
    pub partition: u32,
    /// Producer id.
    pub producer_id: i64,
    /// Its current epoch.
    pub epoch: i32,
    /// The sequence of its last record written.
    pub last_sequence: i32,
    /// The largest timestamp of its batches (ms since the epoch).
    pub last_timestamp: i64,
}

/// One request to `addr`, its response decoded.
pub(crate) fn call<Q: Encodable, R: Decodable>(
    addr: &str,
    key: ApiKey,
    version: i16,
    body: &Q,
) -> anyhow::Result<R> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    s.set_read_timeout(Some(TIMEOUT))?;
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("cairn-cli")))
        .encode(&mut buf, key.request_header_version(version))?;
    body.encode(&mut buf, version)?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    s.write_all(&buf)?;
    let mut size = [0u8; 4];
    s.read_exact(&mut size)
        .with_context(|| format!("{addr} closed the connection ({key:?} v{version})"))?;
    let mut frame = vec![0u8; i32::from_be_bytes(size).max(0) as usize];
    s.read_exact(&mut frame)?;
    let mut frame = Bytes::from(frame);
    ResponseHeader::decode(&mut frame, key.response_header_version(version))?;
    let response = R::decode(&mut frame, version)?;
    if frame.has_remaining() {
        bail!(
            "{addr} answered {key:?} with {} trailing bytes",
            frame.remaining()
        );
    }
    Ok(response)
}

/// The producers of every partition of `topic`, in partition order.
pub fn describe(cluster: &ClusterView, topic: &TopicView) -> anyhow::Result<Vec<ProducerRow>> {
    // The partitions each leader is asked about.
    let mut by_leader: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
    for p in &topic.partitions {
        let leader = p.leader.ok_or_else(|| {
            anyhow!(
                "partition {} of '{}' has no leader now",
                p.partition,
                topic.name
            )
        })?;
        by_leader
            .entry(leader)
            .or_default()
            .push(p.partition as i32);
    }
    let mut rows = Vec::new();
    for (leader, partitions) in by_leader {
        let broker = cluster
            .brokers
            .iter()
            .find(|b| b.id == leader)
            .ok_or_else(|| anyhow!("leader {leader} is not a registered broker"))?;
        let request = DescribeProducersRequest::default()
            .with_topics(vec![TopicRequest::default()
                .with_name(TopicName(StrBytes::from_string(topic.name.clone())))
                .with_partition_indexes(partitions)]);
        let response: DescribeProducersResponse =
            call(&broker.kafka_addr, ApiKey::DescribeProducers, 0, &request)?;
        for t in response.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    bail!(
                        "broker {leader} cannot describe the producers of partition {}: error {}{}",
                        p.partition_index,
                        p.error_code,
                        p.error_message
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    );
                }
                rows.extend(p.active_producers.into_iter().map(|s| ProducerRow {
                    partition: p.partition_index as u32,
                    producer_id: s.producer_id.0,
                    epoch: s.producer_epoch,
                    last_sequence: s.last_sequence,
                    last_timestamp: s.last_timestamp,
                }));
            }
        }
    }
    rows.sort_by_key(|r| (r.partition, r.producer_id));
    Ok(rows)
}

/// The rows as a table.
pub fn table(rows: &[ProducerRow]) -> String {
    let mut out = format!(
        "{:<10} {:<14} {:<6} {:<14} {}\n",
        "PARTITION", "PRODUCER_ID", "EPOCH", "LAST_SEQUENCE", "LAST_TIMESTAMP"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<10} {:<14} {:<6} {:<14} {}\n",
            r.partition, r.producer_id, r.epoch, r.last_sequence, r.last_timestamp
        ));
    }
    if rows.is_empty() {
        out.push_str("(no idempotent producers)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_producer_and_says_when_there_is_none() {
        let rows = [ProducerRow {
            partition: 2,
            producer_id: 7000,
            epoch: 0,
            last_sequence: 41,
            last_timestamp: 1_700_000_000_000,
        }];
        let t = table(&rows);
        assert!(t.starts_with("PARTITION"), "{t}");
        assert!(t.lines().nth(1).unwrap().split_whitespace().eq([
            "2",
            "7000",
            "0",
            "41",
            "1700000000000"
        ]));
        assert!(table(&[]).contains("no idempotent producers"));
    }
}
