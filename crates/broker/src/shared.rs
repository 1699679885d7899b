//! [`Core`]: what a running broker's tasks share — its configuration, storage,
//! transport, metadata replica, partition groups, the knowledge learned by
//! dissemination, quiescence, and the set of owned background tasks. Read-only
//! accessors only: components change their own state through their own methods.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_meta::{ControllerRequest, MetaError, MetaResponse};
use cairn_raft::Transport;
use cairn_storage::Engine;

use crate::config::BrokerConfig;
use crate::dissemination::knowledge::ClusterKnowledge;
use crate::metadata::MetaNode;
use crate::partitions::PartitionManager;
use crate::producer_ids::ProducerIds;
use crate::quiesce::Quiescence;
use crate::tasks::Tasks;

/// Everything a running broker shares between its tasks.
pub struct Core {
    config: BrokerConfig,
    engine: Engine,
    transport: Transport,
    meta: MetaNode,
    partitions: PartitionManager,
    knowledge: ClusterKnowledge,
    quiet: Quiescence,
    tasks: Tasks,
    producer_ids: ProducerIds,
    started: Instant,
    /// Set when shutdown begins: the broker takes no leadership handed to it.
    stopping: std::sync::atomic::AtomicBool,
    /// Since when it leads each group (for leadership hand-off).
    leadership: crate::transfer::Leadership,
    /// The last minutes of its traffic, for the console.
    history: std::sync::Arc<crate::console::history::History>,
}

/// The parts a [`Core`] is assembled from (see [`crate::Broker::start`]).
pub struct CoreParts {
    /// The validated configuration.
    pub config: BrokerConfig,
    /// The RocksDB engine.
    pub engine: Engine,
    /// The node-to-node transport.
    pub transport: Transport,
    /// The metadata group replica.
    pub meta: MetaNode,
    /// The partition groups.
    pub partitions: PartitionManager,
    /// The owned background tasks.
    pub tasks: Tasks,
}

impl Core {
    /// Assembles a core; dissemination knowledge and quiescence start empty.
    pub fn new(parts: CoreParts) -> Self {
        Self {
            config: parts.config,
            engine: parts.engine,
            transport: parts.transport,
            meta: parts.meta,
            partitions: parts.partitions,
            knowledge: ClusterKnowledge::default(),
            quiet: Quiescence::default(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            leadership: crate::transfer::Leadership::default(),
            history: Default::default(),
            tasks: parts.tasks,
            producer_ids: ProducerIds::default(),
            started: Instant::now(),
        }
    }

    /// The last minutes of this broker's traffic (see
    /// [`crate::console::history`]).
    pub fn history(&self) -> &std::sync::Arc<crate::console::history::History> {
        &self.history
    }

    /// Every topic partition's (topic, partition index), by Raft group,
    /// from the metadata.
    pub fn partition_names(&self) -> BTreeMap<u64, (String, u32)> {
        self.meta.reader.read(|s| {
            s.topics
                .values()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (p.group, (t.name.clone(), p.partition)))
                })
                .collect()
        })
    }

    /// The Raft group of `topic`'s partition `partition`, if there is one.
    pub fn partition_group(&self, topic: &str, partition: u32) -> Option<u64> {
        self.meta.reader.read(|s| {
            s.topics
                .get(topic)
                .and_then(|t| t.partitions.get(partition as usize))
                .map(|p| p.group)
        })
    }

    /// The live brokers other than this one, by id.
    pub fn live_peers(&self) -> Vec<u64> {
        self.meta.reader.read(|s| {
            s.live_brokers()
                .map(|b| b.registration.id)
                .filter(|id| *id != self.id())
                .collect()
        })
    }

    /// This broker's id.
    pub fn id(&self) -> u64 {
        self.config.id
    }

    /// The validated configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The RocksDB engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The node-to-node transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The metadata group replica.
    pub fn meta(&self) -> &MetaNode {
        &self.meta
    }

    /// The partition groups hosted here.
    pub fn partitions(&self) -> &PartitionManager {
        &self.partitions
    }

    /// Leaders and liveness learned from heartbeats.
    pub fn knowledge(&self) -> &ClusterKnowledge {
        &self.knowledge
    }

    /// Which partition replicas are quiescent (idle, Raft heartbeats off).
    pub fn quiet(&self) -> &Quiescence {
        &self.quiet
    }

    /// The broker's owned background tasks; spawn into it, never detached.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// The idempotent producer ids this broker hands out.
    pub fn producer_ids(&self) -> &ProducerIds {
        &self.producer_ids
    }

    /// How long this broker has been running.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The topic config defaults this broker's config sets (by topic key).
    pub fn topic_defaults(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "retention.ms".to_string(),
                self.config.log_retention_ms.to_string(),
            ),
            (
                "retention.bytes".to_string(),
                self.config.log_retention_bytes.to_string(),
            ),
        ])
    }

    /// Since when this broker leads each group.
    pub fn leadership(&self) -> &crate::transfer::Leadership {
        &self.leadership
    }

    /// Marks the broker as stopping (see [`Core::is_stopping`]).
    pub fn set_stopping(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether shutdown has begun: peers handing leadership over look elsewhere.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The session timeout as a duration.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.config.session_timeout_ms)
    }

    /// Gets a controller request carried out wherever the controller is (see
    /// [`MetaNode::submit`]).
    pub async fn submit(
        &self,
        request: ControllerRequest,
        timeout: Duration,
    ) -> Result<MetaResponse, MetaError> {
        self.meta.submit(request, timeout).await
    }
}
