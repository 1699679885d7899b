//! DescribeLogDirs (key 35), v1–4: the broker's one log directory (its data
//! dir: every partition lives in the broker's one RocksDB) with the size of
//! each partition replica it holds, and from v4 the file system's total and
//! usable bytes. A null topic list asks for every replica; partitions the
//! broker holds no replica of are left out, as Kafka does. Offset lag is 0:
//! Cairn never moves a replica between directories (Kafka reports the lag of
//! such "future" replicas here).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{
    ApiKey, DescribeLogDirsRequest, DescribeLogDirsResponse, RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::cluster::{KafkaCluster, LogDir};

/// Handles DescribeLogDirs.
pub fn handle_describe_log_dirs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::DescribeLogDirs,
        header,
        body,
        |request: DescribeLogDirsRequest| describe(cluster.log_dir(), request),
    )
}

fn describe(dir: LogDir, request: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let wanted: Option<BTreeSet<(String, i32)>> = request.topics.map(|topics| {
        topics
            .into_iter()
            .flat_map(|t| {
                let topic = t.topic.0.to_string();
                t.partitions.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect()
    });
    let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for r in dir.replicas {
        let key = (r.topic, r.partition);
        if wanted.as_ref().is_some_and(|w| !w.contains(&key)) {
            continue;
        }
        topics.entry(key.0).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(key.1)
                .with_partition_size(r.size_bytes)
                .with_offset_lag(0)
                .with_is_future_key(false),
        );
    }
    let result = DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(dir.path))
        .with_topics(
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(partitions)
                })
                .collect(),
        )
        .with_total_bytes(dir.total_bytes)
        .with_usable_bytes(dir.usable_bytes);
    DescribeLogDirsResponse::default().with_results(vec![result])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::LogDirReplica;
    use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;

    fn dir() -> LogDir {
        let replica = |topic: &str, partition, size_bytes| LogDirReplica {
            topic: topic.into(),
            partition,
            size_bytes,
        };
        LogDir {
            path: "/data/b1".into(),
            replicas: vec![replica("a", 0, 10), replica("a", 1, 20), replica("b", 0, 5)],
            total_bytes: 1000,
            usable_bytes: 400,
        }
    }

    #[test]
    fn every_replica_or_only_the_asked_ones_that_are_here() {
        let all = describe(dir(), DescribeLogDirsRequest::default().with_topics(None));
        assert_eq!(all.results.len(), 1);
        let r = &all.results[0];
        assert_eq!(
            (r.log_dir.as_str(), r.total_bytes, r.usable_bytes),
            ("/data/b1", 1000, 400)
        );
        let sizes: Vec<(String, i32, i64)> = r
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.name.0.to_string(), p.partition_index, p.partition_size))
            })
            .collect();
        assert_eq!(
            sizes,
            vec![("a".into(), 0, 10), ("a".into(), 1, 20), ("b".into(), 0, 5)]
        );

        let some = describe(
            dir(),
            DescribeLogDirsRequest::default().with_topics(Some(vec![
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(StrBytes::from_static_str("a")))
                    .with_partitions(vec![1, 7]),
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(StrBytes::from_static_str("zzz")))
                    .with_partitions(vec![0]),
            ])),
        );
        let topics = &some.results[0].topics;
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].partitions.len(), 1);
        assert_eq!(topics[0].partitions[0].partition_index, 1);
    }
}
