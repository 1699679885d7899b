//! The broker's answers to the Kafka adapter's coordinator questions: which
//! broker coordinates a group or a transactional id (the leader of the
//! `__consumer_offsets` or `__transaction_state` partition the key hashes
//! to, learned by dissemination; the topic is created on first use), and
//! this broker's coordinator of a key, if it is the one.

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

/// How long creating a coordinator topic may wait for the controller.
const CREATE_TIMEOUT: Duration = Duration::from_secs(15);

/// Which coordinator a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinatorKind {
    /// A consumer group: `__consumer_offsets`.
    Group,
    /// A transactional id: `__transaction_state`.
    Txn,
}

impl CoordinatorKind {
    /// The internal topic whose partitions coordinate these keys.
    pub fn topic(self) -> &'static str {
        match self {
            CoordinatorKind::Group => OFFSETS_TOPIC,
            CoordinatorKind::Txn => crate::offsets::TXN_STATE_TOPIC,
        }
    }

    fn what(self) -> &'static str {
        match self {
            CoordinatorKind::Group => "group",
            CoordinatorKind::Txn => "transactional id",
        }
    }
}

/// The Raft group of the coordinator topic partition `key` hashes to (as
/// Kafka's `partitionFor`), if the topic exists.
pub fn coordinator_group_of(core: &Core, kind: CoordinatorKind, key: &str) -> Option<GroupId> {
    core.meta().reader.read(|state| {
        let topic = state.topics.get(kind.topic())?;
        let count = NonZeroU32::new(u32::try_from(topic.partitions.len()).ok()?)?;
        let index = offsets_partition_for(key, count) as usize;
        topic.partitions.get(index).map(|p| p.group)
    })
}

/// The Raft group of the `__consumer_offsets` partition `group_id` hashes
/// to, if the topic exists.
pub fn offsets_group_of(core: &Core, group_id: &str) -> Option<GroupId> {
    coordinator_group_of(core, CoordinatorKind::Group, group_id)
}

/// Where `group_id`'s coordinator is; creates `__consumer_offsets` when it
/// does not exist yet (the client retries FindCoordinator meanwhile).
pub async fn find_coordinator(core: &Core, group_id: &str) -> Result<BrokerEndpoint, KafkaError> {
    find_coordinator_of(core, CoordinatorKind::Group, group_id).await
}

/// Where the coordinator of `key` is; creates its topic when it does not
/// exist yet (the client retries FindCoordinator meanwhile).
pub async fn find_coordinator_of(
    core: &Core,
    kind: CoordinatorKind,
    key: &str,
) -> Result<BrokerEndpoint, KafkaError> {
    let Some(group) = coordinator_group_of(core, kind, key) else {
        create_coordinator_topic(core, kind).await;
        return Err(KafkaError::new(
            COORDINATOR_NOT_AVAILABLE,
            format!("{} is being created", kind.topic()),
        ));
    };
    let leader = crate::dissemination::leader_of(core, group, Instant::now()).ok_or_else(|| {
        KafkaError::new(
            COORDINATOR_NOT_AVAILABLE,
            format!(
                "no leader known for coordinator group {group} ({} '{key}')",
                kind.what()
            ),
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

/// Asks the controller for the coordinator topic of `kind`: the configured
/// partitions, and the configured replication factor or the live broker
/// count if smaller (`offsets_topic_*` or `transaction_state_*`). A topic
/// that exists already is fine.
async fn create_coordinator_topic(core: &Core, kind: CoordinatorKind) {
    let live = core.meta().reader.read(|s| s.live_brokers().count()) as u32;
    let config = core.config();
    let (partitions, replication_factor) = match kind {
        CoordinatorKind::Group => (
            config.offsets_topic_num_partitions,
            config.offsets_topic_replication_factor,
        ),
        CoordinatorKind::Txn => (
            config.transaction_state_num_partitions,
            config.transaction_state_replication_factor,
        ),
    };
    let name = kind.topic();
    let request = ControllerRequest::CreateTopic {
        name: name.to_string(),
        partitions,
        replication_factor: replication_factor.min(live.max(1)),
        configs: Default::default(),
        validate_only: false,
    };
    match core.submit(request, CREATE_TIMEOUT).await {
        Ok(_) => tracing::info!("created {name}"),
        Err(e) => tracing::debug!(error = %e, "{name} not created"),
    }
}

/// This broker's coordinator of `group_id`: NOT_COORDINATOR unless this
/// broker runs the group's offsets partition (whether it leads it is checked
/// when the request is carried out).
pub fn local_coordinator(core: &Core, group_id: &str) -> Result<OffsetsHandle, KafkaError> {
    local_coordinator_of(core, CoordinatorKind::Group, group_id)
}

/// This broker's coordinator of `key`: NOT_COORDINATOR unless this broker
/// runs the coordinator partition `key` hashes to.
pub fn local_coordinator_of(
    core: &Core,
    kind: CoordinatorKind,
    key: &str,
) -> Result<OffsetsHandle, KafkaError> {
    let not_here = || {
        KafkaError::new(
            NOT_COORDINATOR,
            format!(
                "broker {} does not coordinate {} '{key}'",
                core.id(),
                kind.what()
            ),
        )
    };
    let group = coordinator_group_of(core, kind, key).ok_or_else(not_here)?;
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
