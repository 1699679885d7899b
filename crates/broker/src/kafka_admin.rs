//! The admin requests of the Kafka API that the controller carries out
//! (CreateTopics, AlterPartitionReassignments), and the one mapping from the
//! metadata group's error categories to Kafka error codes.

use cairn_kafka::error_code::{
    COORDINATOR_NOT_AVAILABLE, INVALID_CONFIG, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
    INVALID_REPLICA_ASSIGNMENT, INVALID_TOPIC_EXCEPTION, LOG_DIR_NOT_FOUND, NOT_CONTROLLER,
    NO_REASSIGNMENT_IN_PROGRESS, TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION,
};
use cairn_kafka::{KafkaError, NewTopic};
use cairn_meta::{ControllerRequest, MetaError, MetaErrorCode};

use crate::kafka_view::ADMIN_TIMEOUT;
use crate::shared::Core;

/// The replication factor of a topic created without one: the broker's
/// `default_replication_factor`, or 3 — capped by the live brokers, so that a
/// one- or two-broker cluster can still create topics.
pub(crate) fn default_replication_factor(core: &Core) -> u32 {
    core.config().default_replication_factor.unwrap_or_else(|| {
        let live = core.meta().reader.read(|s| s.live_brokers().count()) as u32;
        live.clamp(1, 3)
    })
}

/// The controller request for a CreateTopics topic: its replica assignment
/// as given, or its partition count and replication factor (-1: this
/// broker's defaults).
pub(crate) fn create_topic_request(
    core: &Core,
    request: NewTopic,
) -> Result<ControllerRequest, KafkaError> {
    if let Some(assignment) = request.assignment {
        return Ok(ControllerRequest::CreateTopicAssigned {
            name: request.name,
            assignment,
            configs: request.configs,
            validate_only: request.validate_only,
        });
    }
    let partitions = match request.partitions {
        -1 => core.config().num_partitions,
        p if p >= 1 => p as u32,
        p => {
            return Err(KafkaError::new(
                INVALID_PARTITIONS,
                format!(
                    "topic '{}': partition count {p} must be at least 1",
                    request.name
                ),
            ))
        }
    };
    let replication_factor = match request.replication_factor {
        -1 => default_replication_factor(core),
        r if r >= 1 => r as u32,
        r => {
            return Err(KafkaError::new(
                INVALID_REPLICATION_FACTOR,
                format!(
                    "topic '{}': replication factor {r} must be at least 1",
                    request.name
                ),
            ))
        }
    };
    Ok(ControllerRequest::CreateTopic {
        name: request.name,
        partitions,
        replication_factor,
        configs: request.configs,
        validate_only: request.validate_only,
    })
}

/// Starts (or cancels) one partition's move for AlterPartitionReassignments.
pub(crate) async fn reassign(
    core: &Core,
    topic: &str,
    partition: i32,
    replicas: Option<Vec<i32>>,
    allow_replication_factor_change: bool,
) -> Result<(), KafkaError> {
    let index = u32::try_from(partition).map_err(|_| {
        KafkaError::new(
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("{topic}-{partition} does not exist"),
        )
    })?;
    let replicas = match replicas {
        None => None,
        Some(r) => Some(
            r.iter()
                .map(|b| u64::try_from(*b))
                .collect::<Result<Vec<u64>, _>>()
                .map_err(|_| {
                    KafkaError::new(
                        INVALID_REPLICA_ASSIGNMENT,
                        format!("{topic}-{partition}: replicas {r:?} name a negative broker id"),
                    )
                })?,
        ),
    };
    if let (Some(target), false) = (&replicas, allow_replication_factor_change) {
        let current = core.meta().reader.read(|state| {
            state
                .topics
                .get(topic)
                .and_then(|t| t.partitions.get(index as usize))
                .map(|p| p.replicas.len())
        });
        if let Some(current) = current.filter(|c| *c != target.len()) {
            return Err(KafkaError::new(
                INVALID_REPLICATION_FACTOR,
                format!(
                    "{topic}-{partition} has {current} replicas; moving it to {} changes the replication factor, which the request does not allow",
                    target.len()
                ),
            ));
        }
    }
    let request = ControllerRequest::Reassign {
        topic: topic.to_string(),
        partition: index,
        replicas,
        validate_only: false,
    };
    core.submit(request, ADMIN_TIMEOUT)
        .await
        .map(|_| ())
        .map_err(|e| match e.code {
            // Kafka names an unregistered broker in a target this way.
            MetaErrorCode::UnknownBroker => KafkaError::new(INVALID_REPLICA_ASSIGNMENT, e.message),
            _ => meta_error_to_kafka(e),
        })
}

/// The Kafka error a client gets for a refused metadata request: the one
/// mapping from the metadata group's error categories to Kafka codes.
pub(crate) fn meta_error_to_kafka(e: MetaError) -> KafkaError {
    let code = match e.code {
        MetaErrorCode::TopicAlreadyExists => TOPIC_ALREADY_EXISTS,
        MetaErrorCode::UnknownTopic => UNKNOWN_TOPIC_OR_PARTITION,
        MetaErrorCode::InvalidTopicName => INVALID_TOPIC_EXCEPTION,
        MetaErrorCode::InvalidPartitions => INVALID_PARTITIONS,
        MetaErrorCode::InvalidReplicationFactor => INVALID_REPLICATION_FACTOR,
        MetaErrorCode::InvalidConfig => INVALID_CONFIG,
        // The code Cairn has always sent here; Kafka's BROKER_NOT_AVAILABLE
        // (8) would name the problem better.
        MetaErrorCode::UnknownBroker => LOG_DIR_NOT_FOUND,
        MetaErrorCode::NotController => NOT_CONTROLLER,
        MetaErrorCode::Unavailable => COORDINATOR_NOT_AVAILABLE,
        MetaErrorCode::InvalidReplicaAssignment => INVALID_REPLICA_ASSIGNMENT,
        MetaErrorCode::NoReassignmentInProgress => NO_REASSIGNMENT_IN_PROGRESS,
        MetaErrorCode::InvalidRequest => cairn_kafka::error_code::INVALID_REQUEST,
    };
    KafkaError::new(code, e.message)
}

#[cfg(test)]
mod tests {
    use super::meta_error_to_kafka;
    use cairn_meta::{MetaError, MetaErrorCode};

    #[test]
    fn metadata_errors_keep_their_kafka_codes_and_messages() {
        // The codes clients have always seen for each category.
        let table = [
            (MetaErrorCode::TopicAlreadyExists, 36),
            (MetaErrorCode::UnknownTopic, 3),
            (MetaErrorCode::InvalidTopicName, 17),
            (MetaErrorCode::InvalidPartitions, 37),
            (MetaErrorCode::InvalidReplicationFactor, 38),
            (MetaErrorCode::InvalidConfig, 40),
            (MetaErrorCode::UnknownBroker, 57),
            (MetaErrorCode::NotController, 41),
            (MetaErrorCode::Unavailable, 15),
        ];
        for (category, code) in table {
            let e = meta_error_to_kafka(MetaError::new(category, format!("{category:?} happened")));
            assert_eq!(e.code, code, "{category:?}");
            assert_eq!(e.message, Some(format!("{category:?} happened")));
        }
    }
}
