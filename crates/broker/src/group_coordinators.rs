//! The broker's answers to the Kafka adapter's group questions: which broker
//! coordinates a group (the leader of the `__consumer_offsets` partition the
//! group hashes to, learned by dissemination; the topic is created on first
//! use), and this broker's coordinator of a group, if it is the one.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use cairn_common::error_code::{COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR};
use cairn_coordinator::offsets_partition_for;
use cairn_kafka::{BrokerEndpoint, KafkaError};
use cairn_meta::ControllerRequest;
use cairn_storage::GroupId;

use crate::kafka_metadata::split_host_port;
use crate::offsets::{OffsetsHandle, OFFSETS_TOPIC};
use crate::shared::Core;

/// How long creating `__consumer_offsets` may wait for the controller.
const CREATE_TIMEOUT: Duration = Duration::from_secs(15);

/// The Raft group of the `__consumer_offsets` partition `group_id` hashes
/// to, if the topic exists.
pub fn offsets_group_of(core: &Core, group_id: &str) -> Option<GroupId> {
    core.meta().reader.read(|state| {
        let topic = state.topics.get(OFFSETS_TOPIC)?;
        let count = NonZeroU32::new(u32::try_from(topic.partitions.len()).ok()?)?;
        let index = offsets_partition_for(group_id, count) as usize;
        topic.partitions.get(index).map(|p| p.group)
    })
}

/// Where `group_id`'s coordinator is; creates `__consumer_offsets` when it
/// does not exist yet (the client retries FindCoordinator meanwhile).
pub async fn find_coordinator(core: &Core, group_id: &str) -> Result<BrokerEndpoint, KafkaError> {
    let Some(group) = offsets_group_of(core, group_id) else {
        create_offsets_topic(core).await;
        return Err(KafkaError::new(
            COORDINATOR_NOT_AVAILABLE,
            format!("{OFFSETS_TOPIC} is being created"),
        ));
    };
    let leader = crate::dissemination::leader_of(core, group, Instant::now()).ok_or_else(|| {
        KafkaError::new(
            COORDINATOR_NOT_AVAILABLE,
            format!("no leader known for offsets group {group} (group '{group_id}')"),
        )
    })?;
    core.meta()
        .reader
        .read(|state| {
            let broker = state.brokers.get(&leader.leader).filter(|b| !b.fenced)?;
            let (host, port) = split_host_port(&broker.registration.kafka_addr)?;
            Some(BrokerEndpoint {
                id: leader.leader as i32,
                host,
                port,
                rack: broker.registration.rack.clone(),
            })
        })
        .ok_or_else(|| {
            KafkaError::new(
                COORDINATOR_NOT_AVAILABLE,
                format!("coordinator broker {} is not live", leader.leader),
            )
        })
}

/// Asks the controller for `__consumer_offsets`: `offsets_topic_num_partitions`
/// partitions, replication factor `offsets_topic_replication_factor` or the
/// live broker count if smaller. A topic that exists already is fine.
async fn create_offsets_topic(core: &Core) {
    let live = core.meta().reader.read(|s| s.live_brokers().count()) as u32;
    let config = core.config();
    let request = ControllerRequest::CreateTopic {
        name: OFFSETS_TOPIC.to_string(),
        partitions: config.offsets_topic_num_partitions,
        replication_factor: config.offsets_topic_replication_factor.min(live.max(1)),
        configs: Default::default(),
        validate_only: false,
    };
    match core.submit(request, CREATE_TIMEOUT).await {
        Ok(_) => tracing::info!("created {OFFSETS_TOPIC}"),
        Err(e) => tracing::debug!(error = %e, "{OFFSETS_TOPIC} not created"),
    }
}

/// This broker's coordinator of `group_id`: NOT_COORDINATOR unless this
/// broker runs the group's offsets partition (whether it leads it is checked
/// when the request is carried out).
pub fn local_coordinator(core: &Core, group_id: &str) -> Result<OffsetsHandle, KafkaError> {
    let not_here = || {
        KafkaError::new(
            NOT_COORDINATOR,
            format!(
                "broker {} does not coordinate group '{group_id}'",
                core.id()
            ),
        )
    };
    let group = offsets_group_of(core, group_id).ok_or_else(not_here)?;
    core.partitions()
        .offsets
        .get(group)
        .map(|(_, handle)| handle)
        .ok_or_else(not_here)
}

/// The groups in one of `states` (all when empty) of every offsets
/// partition this broker leads.
pub fn list_groups(core: &Core, states: &[&str]) -> Vec<cairn_coordinator::ListedGroup> {
    core.partitions()
        .offsets
        .all()
        .into_iter()
        .filter(|(_, _, handle)| handle.host.ready().is_ok())
        .flat_map(|(_, _, handle)| handle.reader.read(|m| m.0.list_groups(states)))
        .collect()
}
