//! DescribeTopicPartitions (key 75), v0 (KIP-966): topics with their
//! partitions, a page at a time. Topics go in name order: the ones asked
//! for, or every topic if none is named. At most `response_partition_limit`
//! partitions (and never more than [`MAX_PARTITIONS`]) are answered; if more
//! remain, `next_cursor` names the topic and partition to go on from. A
//! topic asked for that does not exist is UNKNOWN_TOPIC_OR_PARTITION. A
//! cursor naming a topic that was not asked for is INVALID_REQUEST, as in
//! Kafka. Unlike Metadata, the leader epoch is the partition's Raft term:
//! this API only describes, no client validates positions with it.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
    RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::cluster::{KafkaCluster, TopicMetadata};
use crate::error_code;

/// The most partitions one response holds (Kafka's
/// `max.request.partition.size.limit` default).
pub const MAX_PARTITIONS: usize = 2000;

/// Kafka's "authorized operations not requested or unknown".
const NO_AUTHORIZED_OPERATIONS: i32 = i32::MIN;

/// Whether a topic is one Cairn keeps for itself.
fn is_internal(name: &str) -> bool {
    name == "__consumer_offsets"
}

/// One topic of a page: known with the partitions from `first` on (at most
/// `take`), or unknown.
#[derive(Debug, PartialEq, Eq)]
pub enum PageEntry<'a> {
    /// A topic that exists, and which of its partitions this page holds.
    Known {
        /// The topic.
        topic: &'a TopicMetadata,
        /// Index in `topic.partitions` of the first one.
        first: usize,
        /// How many.
        take: usize,
    },
    /// A topic asked for that does not exist.
    Unknown(String),
}

/// One page of topics.
#[derive(Debug, PartialEq, Eq)]
pub struct Page<'a> {
    /// The topics on it.
    pub entries: Vec<PageEntry<'a>>,
    /// Where the next page starts, as (topic name, partition index).
    pub next: Option<(String, i32)>,
}

/// One page of topics. `Err` if the cursor names a topic that was not
/// asked for.
pub fn page<'a>(
    topics: &'a [TopicMetadata],
    asked: &[String],
    limit: usize,
    cursor: Option<(&str, i32)>,
) -> Result<Page<'a>, String> {
    let mut names: Vec<&str> = if asked.is_empty() {
        topics.iter().map(|t| t.name.as_str()).collect()
    } else {
        asked.iter().map(String::as_str).collect()
    };
    names.sort_unstable();
    names.dedup();
    let (start_topic, start_partition) = match cursor {
        Some((name, partition)) => {
            if !asked.is_empty() && !names.contains(&name) {
                return Err(format!(
                    "the cursor's topic '{name}' is not one of the topics asked for"
                ));
            }
            (Some(name), partition.max(0) as usize)
        }
        None => (None, 0),
    };
    let mut left = limit.clamp(1, MAX_PARTITIONS);
    let mut entries = Vec::new();
    for name in names
        .into_iter()
        .filter(|n| start_topic.is_none_or(|s| *n >= s))
    {
        let Some(topic) = topics.iter().find(|t| t.name == name) else {
            entries.push(PageEntry::Unknown(name.to_string()));
            continue;
        };
        if left == 0 {
            return Ok(Page {
                entries,
                next: Some((name.to_string(), 0)),
            });
        }
        let first = if start_topic == Some(name) {
            start_partition.min(topic.partitions.len())
        } else {
            0
        };
        let take = (topic.partitions.len() - first).min(left);
        left -= take;
        entries.push(PageEntry::Known { topic, first, take });
        if first + take < topic.partitions.len() {
            let next = topic.partitions[first + take].index;
            return Ok(Page {
                entries,
                next: Some((name.to_string(), next)),
            });
        }
    }
    Ok(Page {
        entries,
        next: None,
    })
}

fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn entry(e: PageEntry<'_>) -> DescribeTopicPartitionsResponseTopic {
    let answer = DescribeTopicPartitionsResponseTopic::default()
        .with_topic_authorized_operations(NO_AUTHORIZED_OPERATIONS);
    match e {
        PageEntry::Unknown(topic) => answer
            .with_error_code(error_code::UNKNOWN_TOPIC_OR_PARTITION)
            .with_name(Some(name(&topic))),
        PageEntry::Known { topic, first, take } => answer
            .with_error_code(error_code::NONE)
            .with_name(Some(name(&topic.name)))
            .with_topic_id(uuid::Uuid::from_u128(topic.id))
            .with_is_internal(is_internal(&topic.name))
            .with_partitions(
                topic.partitions[first..first + take]
                    .iter()
                    .map(|p| {
                        DescribeTopicPartitionsResponsePartition::default()
                            .with_error_code(if p.leader.is_some() {
                                error_code::NONE
                            } else {
                                error_code::LEADER_NOT_AVAILABLE
                            })
                            .with_partition_index(p.index)
                            .with_leader_id(BrokerId(p.leader.unwrap_or(-1)))
                            .with_leader_epoch(p.leader_epoch.unwrap_or(-1))
                            .with_replica_nodes(ids(&p.replicas))
                            .with_isr_nodes(ids(&p.isr))
                            // No eligible leader replicas (KIP-966's ELR is
                            // for ISR-based election; Raft elects among the
                            // voters): empty, as Kafka answers with ELR off.
                            // The Java client reads them as lists.
                            .with_eligible_leader_replicas(Some(Vec::new()))
                            .with_last_known_elr(Some(Vec::new()))
                            .with_offline_replicas(ids(&p.offline))
                    })
                    .collect(),
            ),
    }
}

/// Handles DescribeTopicPartitions.
pub fn handle_describe_topic_partitions(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::DescribeTopicPartitions,
        header,
        body,
        |request: DescribeTopicPartitionsRequest| {
            let metadata = cluster.metadata();
            let asked: Vec<String> = request.topics.iter().map(|t| t.name.to_string()).collect();
            let cursor = request
                .cursor
                .as_ref()
                .map(|c| (c.topic_name.as_str(), c.partition_index));
            let limit = usize::try_from(request.response_partition_limit).unwrap_or(1);
            match page(&metadata.topics, &asked, limit, cursor) {
                Ok(Page { entries, next }) => DescribeTopicPartitionsResponse::default()
                    .with_topics(entries.into_iter().map(entry).collect())
                    .with_next_cursor(next.map(|(topic, partition)| {
                        Cursor::default()
                            .with_topic_name(name(&topic))
                            .with_partition_index(partition)
                    })),
                // The response has no request-level error: every topic asked
                // for carries it, as Kafka answers.
                Err(_) => DescribeTopicPartitionsResponse::default().with_topics(
                    asked
                        .iter()
                        .map(|t| {
                            DescribeTopicPartitionsResponseTopic::default()
                                .with_error_code(error_code::INVALID_REQUEST)
                                .with_name(Some(name(t)))
                                .with_topic_authorized_operations(NO_AUTHORIZED_OPERATIONS)
                        })
                        .collect(),
                ),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PartitionMetadata;

    fn topic(name: &str, partitions: i32) -> TopicMetadata {
        TopicMetadata {
            name: name.into(),
            id: name.len() as u128,
            partitions: (0..partitions)
                .map(|index| PartitionMetadata {
                    index,
                    leader: Some(1),
                    leader_epoch: Some(3),
                    replicas: vec![1],
                    isr: vec![1],
                    offline: vec![],
                })
                .collect(),
        }
    }

    /// (topic, first, take) of each entry (first -1: unknown), and the cursor.
    type Shape = (Vec<(String, i64, usize)>, Option<(String, i32)>);

    fn shape(result: Result<Page<'_>, String>) -> Shape {
        let Page { entries, next } = result.unwrap();
        let entries = entries
            .into_iter()
            .map(|e| match e {
                PageEntry::Known { topic, first, take } => (topic.name.clone(), first as i64, take),
                PageEntry::Unknown(name) => (name, -1, 0),
            })
            .collect();
        (entries, next)
    }

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn every_topic_in_name_order_within_the_limit() {
        let topics = [topic("b", 2), topic("a", 3)];
        let (entries, next) = shape(page(&topics, &[], 10, None));
        assert_eq!(entries, vec![(s("a"), 0, 3), (s("b"), 0, 2)]);
        assert_eq!(next, None);
    }

    #[test]
    fn a_limit_mid_topic_or_at_its_end_leaves_a_cursor() {
        let topics = [topic("a", 3), topic("b", 2)];
        let (entries, next) = shape(page(&topics, &[], 2, None));
        assert_eq!(entries, vec![(s("a"), 0, 2)]);
        assert_eq!(next, Some((s("a"), 2)));
        let (entries, next) = shape(page(&topics, &[], 2, Some(("a", 2))));
        assert_eq!(entries, vec![(s("a"), 2, 1), (s("b"), 0, 1)]);
        assert_eq!(next, Some((s("b"), 1)));
        let (entries, next) = shape(page(&topics, &[], 3, None));
        assert_eq!(entries, vec![(s("a"), 0, 3)]);
        assert_eq!(next, Some((s("b"), 0)));
        let (entries, next) = shape(page(&topics, &[], 2, Some(("b", 1))));
        assert_eq!(entries, vec![(s("b"), 1, 1)]);
        assert_eq!(next, None);
    }

    #[test]
    fn unknown_topics_are_answered_and_a_foreign_cursor_refused() {
        let topics = [topic("a", 1)];
        let asked = [s("zz"), s("a"), s("a")];
        let (entries, next) = shape(page(&topics, &asked, 0, None));
        // A limit below 1 still answers one partition.
        assert_eq!(entries, vec![(s("a"), 0, 1), (s("zz"), -1, 0)]);
        assert_eq!(next, None);
        assert!(page(&topics, &[s("a")], 10, Some(("b", 0)))
            .unwrap_err()
            .contains("'b'"));
    }
}
