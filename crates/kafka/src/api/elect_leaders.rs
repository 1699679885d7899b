//! ElectLeaders (key 43), v0-v2: move partition leaderships.
//!
//! - PREFERRED (v0's only type): each partition's leadership goes back to
//!   its preferred replica (the first of its replicas) by a leadership
//!   transfer, if that replica is live and in sync
//!   ([`KafkaCluster::elect_preferred_leaders`]). The answer comes once
//!   every transfer has ended: NONE, ELECTION_NOT_NEEDED (it leads already),
//!   PREFERRED_LEADER_NOT_AVAILABLE or REQUEST_TIMED_OUT, with a message.
//! - UNCLEAN: Kafka lets an out-of-sync replica lead, losing what it
//!   missed. A Raft group elects only a replica holding every committed
//!   entry, so there is nothing unclean to do: a partition with a leader is
//!   ELECTION_NOT_NEEDED, one without ELIGIBLE_LEADERS_NOT_AVAILABLE (its
//!   replicas elect one as soon as a majority is up).
//!
//! A null partition list means every partition; as in Kafka, the answer then
//! leaves out those that needed no election.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{
    ApiKey, ElectLeadersRequest, ElectLeadersResponse, RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_later, Pending};
use crate::cluster::{KafkaCluster, PartitionOutcome};
use crate::error::KafkaError;
use crate::error_code;

/// Kafka's election types.
const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

/// The longest a transfer may take, whatever the request asks.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Handles ElectLeaders.
pub fn handle_elect_leaders(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::ElectLeaders, header, body, move |request| {
        elect_leaders(cluster, request)
    })
}

/// The partitions a request names, each once, in request order.
fn named_partitions(request: &ElectLeadersRequest) -> Option<Vec<(String, i32)>> {
    let topics = request.topic_partitions.as_ref()?;
    let mut seen = BTreeSet::new();
    Some(
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |&p| (t.topic.as_str().to_string(), p))
            })
            .filter(|tp| seen.insert(tp.clone()))
            .collect(),
    )
}

/// Unclean elections: answered from the metadata alone.
fn unclean(
    cluster: &dyn KafkaCluster,
    partitions: Option<Vec<(String, i32)>>,
) -> Vec<PartitionOutcome> {
    let metadata = cluster.metadata();
    let leader_of = |topic: &str, partition: i32| {
        metadata
            .topics
            .iter()
            .find(|t| t.name == topic)
            .and_then(|t| t.partitions.iter().find(|p| p.index == partition))
            .map(|p| p.leader)
    };
    let partitions = partitions.unwrap_or_else(|| {
        metadata
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.index)))
            .collect()
    });
    partitions
        .into_iter()
        .map(|(topic, partition)| {
            let result = match leader_of(&topic, partition) {
                None => Err(KafkaError::new(
                    error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    format!("{topic}-{partition} does not exist"),
                )),
                Some(Some(_)) => Err(KafkaError::new(
                    error_code::ELECTION_NOT_NEEDED,
                    format!("{topic}-{partition} has a leader"),
                )),
                Some(None) => Err(KafkaError::new(
                    error_code::ELIGIBLE_LEADERS_NOT_AVAILABLE,
                    format!(
                        "{topic}-{partition} has no leader; Raft elects only a replica with every \
                         committed record, which it does as soon as a majority of the replicas is up"
                    ),
                )),
            };
            (topic, partition, result)
        })
        .collect()
}

/// Groups results by topic, in order of first appearance.
fn by_topic(results: Vec<PartitionOutcome>) -> Vec<ReplicaElectionResult> {
    let mut topics: Vec<ReplicaElectionResult> = Vec::new();
    for (topic, partition, result) in results {
        let (code, message) = match result {
            Ok(()) => (error_code::NONE, None),
            Err(e) => (e.code, e.message),
        };
        let partition = PartitionResult::default()
            .with_partition_id(partition)
            .with_error_code(code)
            .with_error_message(message.map(StrBytes::from_string));
        match topics.iter_mut().find(|t| t.topic.as_str() == topic) {
            Some(t) => t.partition_result.push(partition),
            None => topics.push(
                ReplicaElectionResult::default()
                    .with_topic(TopicName(StrBytes::from_string(topic)))
                    .with_partition_result(vec![partition]),
            ),
        }
    }
    topics
}

async fn elect_leaders(
    cluster: Arc<dyn KafkaCluster>,
    request: ElectLeadersRequest,
) -> ElectLeadersResponse {
    let everything = request.topic_partitions.is_none();
    let partitions = named_partitions(&request);
    let timeout = Duration::from_millis(request.timeout_ms.max(1) as u64).min(MAX_TIMEOUT);
    let results = match request.election_type {
        PREFERRED => cluster.elect_preferred_leaders(partitions, timeout).await,
        UNCLEAN => unclean(cluster.as_ref(), partitions),
        other => {
            let why = format!("election type {other} is not one of 0 (PREFERRED) and 1 (UNCLEAN)");
            if everything {
                return ElectLeadersResponse::default()
                    .with_error_code(error_code::INVALID_REQUEST);
            }
            partitions
                .unwrap_or_default()
                .into_iter()
                .map(|(t, p)| {
                    (
                        t,
                        p,
                        Err(KafkaError::new(error_code::INVALID_REQUEST, why.clone())),
                    )
                })
                .collect()
        }
    };
    // For every partition, those that needed nothing are left out.
    let results = results
        .into_iter()
        .filter(|(_, _, r)| {
            !(everything
                && r.as_ref()
                    .is_err_and(|e| e.code == error_code::ELECTION_NOT_NEEDED))
        })
        .collect();
    ElectLeadersResponse::default()
        .with_error_code(error_code::NONE)
        .with_replica_election_results(by_topic(results))
}
