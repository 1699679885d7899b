//! AlterReplicaLogDirs (key 34), v1-v2: move replicas between a broker's log
//! directories. A Cairn broker has one, its data dir (every replica lives in
//! its one RocksDB), so a request naming that directory is already
//! satisfied: NONE for every partition that exists, whether this broker
//! holds a replica of it now or gets one later, as Kafka answers for a
//! replica's current directory. Any other directory is LOG_DIR_NOT_FOUND; a
//! partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, ApiKey, RequestHeader,
};

use super::respond::{answer_now, Pending};
use crate::cluster::{ClusterMetadata, KafkaCluster};
use crate::error_code;

/// Handles AlterReplicaLogDirs.
pub fn handle_alter_replica_log_dirs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::AlterReplicaLogDirs,
        header,
        body,
        |request: AlterReplicaLogDirsRequest| {
            alter(&cluster.log_dir().path, &cluster.metadata(), request)
        },
    )
}

/// The answer for each partition of each directory, given this broker's one
/// directory and the cluster's topics.
fn alter(
    dir: &str,
    metadata: &ClusterMetadata,
    request: AlterReplicaLogDirsRequest,
) -> AlterReplicaLogDirsResponse {
    let same_dir = |path: &str| {
        std::path::Path::new(path.trim_end_matches('/'))
            == std::path::Path::new(dir.trim_end_matches('/'))
    };
    let mut results = Vec::new();
    for requested in request.dirs {
        let ours = same_dir(requested.path.as_str());
        for topic in requested.topics {
            let known = metadata
                .topics
                .iter()
                .find(|t| t.name == topic.name.as_str());
            let partitions = topic
                .partitions
                .iter()
                .map(|&p| {
                    let exists = known.is_some_and(|t| t.partitions.iter().any(|q| q.index == p));
                    let code = match (exists, ours) {
                        (false, _) => error_code::UNKNOWN_TOPIC_OR_PARTITION,
                        (true, false) => error_code::LOG_DIR_NOT_FOUND,
                        (true, true) => error_code::NONE,
                    };
                    AlterReplicaLogDirPartitionResult::default()
                        .with_partition_index(p)
                        .with_error_code(code)
                })
                .collect();
            results.push(
                AlterReplicaLogDirTopicResult::default()
                    .with_topic_name(topic.name)
                    .with_partitions(partitions),
            );
        }
    }
    AlterReplicaLogDirsResponse::default().with_results(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{PartitionMetadata, TopicMetadata};
    use kafka_protocol::messages::alter_replica_log_dirs_request::{
        AlterReplicaLogDir, AlterReplicaLogDirTopic,
    };
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::StrBytes;

    #[test]
    fn only_the_data_dir_and_existing_partitions_are_answered_none() {
        let metadata = ClusterMetadata {
            topics: vec![TopicMetadata {
                name: "t".into(),
                id: 1,
                partitions: vec![PartitionMetadata {
                    index: 0,
                    leader: Some(1),
                    leader_epoch: Some(1),
                    replicas: vec![1],
                    isr: vec![1],
                    offline: vec![],
                }],
            }],
            ..ClusterMetadata::default()
        };
        let dir = |path: &'static str| {
            AlterReplicaLogDir::default()
                .with_path(StrBytes::from_static_str(path))
                .with_topics(vec![AlterReplicaLogDirTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(vec![0, 5])])
        };
        let request = AlterReplicaLogDirsRequest::default()
            .with_dirs(vec![dir("/data/b1/"), dir("/elsewhere")]);
        let codes: Vec<Vec<(i32, i16)>> = alter("/data/b1", &metadata, request)
            .results
            .iter()
            .map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (p.partition_index, p.error_code))
                    .collect()
            })
            .collect();
        assert_eq!(
            codes,
            vec![
                vec![
                    (0, error_code::NONE),
                    (5, error_code::UNKNOWN_TOPIC_OR_PARTITION)
                ],
                vec![
                    (0, error_code::LOG_DIR_NOT_FOUND),
                    (5, error_code::UNKNOWN_TOPIC_OR_PARTITION)
                ],
            ]
        );
    }
}
