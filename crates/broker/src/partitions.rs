//! The partition groups hosted on this broker, kept in line with the metadata
//! catalogue: a group starts when a topic assigns this broker a replica (or
//! a partition moves here), and stops (and its data is deleted) when the
//! topic is deleted or the partition has moved away. On restart every
//! hosted group reopens from RocksDB and rejoins its peers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InitializeError, RaftError};
use openraft::{BasicNode, Raft};

use cairn_coordinator::txn::TxnConfig;
use cairn_coordinator::GroupCoordinatorConfig;
use cairn_meta::MetaState;
use cairn_raft::{GroupNetworkFactory, GroupRegistry, PartitionTypeConfig, RaftTiming, Transport};
use cairn_storage::{
    Engine, GroupId, GroupTypeConfig, LogStore, PartitionReader, PartitionStore,
    SnapshotStateMachine,
};

use crate::offsets::{
    CoordinatorHost, OffsetsHandle, OffsetsMachine, OffsetsTypeConfig, OFFSETS_TOPIC,
};

use crate::tasks::Tasks;
use crate::BrokerError;

/// Running partition groups with their read side and write queue.
pub type PartitionRegistry = GroupRegistry<PartitionTypeConfig, PartitionHandle>;
/// Running coordinator groups (`__consumer_offsets` and `__transaction_state`
/// partitions) with their coordinator state and host.
pub type OffsetsRegistry = GroupRegistry<OffsetsTypeConfig, OffsetsHandle>;

/// Snapshot a coordinator every this many applied entries (heartbeats are
/// entries too, so the log grows with group activity, not with data).
const OFFSETS_SNAPSHOT_EVERY: u64 = 1000;

/// A running partition's read side and write queue.
#[derive(Clone)]
pub struct PartitionHandle {
    /// Offsets and records.
    pub reader: PartitionReader<PartitionTypeConfig>,
    /// Produce requests and transaction markers for this partition.
    pub appender: tokio::sync::mpsc::UnboundedSender<crate::appender::Write>,
    /// The appender's proposals and leadership hand-off ([`crate::transfer`]).
    pub gate: crate::appender::Gate,
}

/// Starts, stops and deletes this broker's partition groups.
pub struct PartitionManager {
    id: u64,
    engine: Engine,
    transport: Transport,
    raft_config: Arc<openraft::Config>,
    /// Owns the fallback initializations and the appenders.
    tasks: Tasks,
    /// Timing of offsets groups: partition timing, snapshots on a schedule.
    offsets_raft_config: Arc<openraft::Config>,
    /// The group and transaction coordinator settings of the coordinator
    /// groups this broker leads.
    group_settings: (GroupCoordinatorConfig, TxnConfig),
    /// The running groups.
    pub registry: PartitionRegistry,
    /// The running `__consumer_offsets` groups.
    pub offsets: OffsetsRegistry,
    /// Woken when a coordinator group here decided to commit or abort a
    /// transaction: its markers are written at once
    /// ([`crate::txn::markers`]) rather than at the next scan.
    pub markers_due: Arc<tokio::sync::Notify>,
}

/// How a starting group gets its first membership.
enum Init {
    /// It has stored state: it rejoins as it was.
    Stored,
    /// This broker is the preferred leader of a new group: it initializes the
    /// group and campaigns at once, so the preferred leaders (spread evenly by
    /// placement) become the first leaders and elections do not collide.
    Now(BTreeMap<u64, BasicNode>),
    /// A new replica of an existing group, moved here: it waits for the
    /// leader to add it as a learner (see [`crate::reassign`]) and never
    /// initializes itself.
    Join,
    /// A new group whose preferred leader is elsewhere: it waits to hear from
    /// that leader and initializes itself only if it has not after a while
    /// (the preferred leader may be down). Initializing with the same
    /// membership on several replicas is safe.
    Fallback(BTreeMap<u64, BasicNode>),
}

async fn initialize<C: GroupTypeConfig>(
    raft: &Raft<C>,
    group: GroupId,
    members: BTreeMap<u64, BasicNode>,
) {
    match raft.initialize(members).await {
        Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
        Err(e) => tracing::warn!(group, error = %e, "cannot initialize partition group"),
    }
}

/// One partition replica this broker should run.
struct Wanted {
    replicas: Vec<u64>,
    /// This broker is not one of `replicas`: a partition is moving here.
    joining: bool,
    label: String,
    /// A partition of `__consumer_offsets` or `__transaction_state`: a
    /// coordinator group.
    offsets: bool,
}

impl PartitionManager {
    /// A manager for broker `id`.
    pub fn new(
        id: u64,
        cluster_name: &str,
        group_settings: (GroupCoordinatorConfig, TxnConfig),
        engine: Engine,
        transport: Transport,
        tasks: Tasks,
    ) -> Result<Self, BrokerError> {
        let raft_config = RaftTiming::PARTITION
            // Snapshot only when retention asks: the log holds the records.
            .config(cluster_name, None)
            .map_err(|e| BrokerError::Raft {
                group: 0,
                message: e.to_string(),
            })?;
        let offsets_raft_config = RaftTiming::PARTITION
            .config(cluster_name, Some(OFFSETS_SNAPSHOT_EVERY))
            .map_err(|e| BrokerError::Raft {
                group: 0,
                message: e.to_string(),
            })?;
        Ok(Self {
            id,
            engine,
            transport,
            raft_config,
            offsets_raft_config,
            group_settings,
            tasks,
            registry: GroupRegistry::default(),
            offsets: GroupRegistry::default(),
            markers_due: Arc::default(),
        })
    }

    /// Brings the running groups in line with `state`.
    pub async fn reconcile(&self, state: &MetaState) {
        for broker in state.brokers.values() {
            self.transport
                .set_address(broker.registration.id, &broker.registration.raft_addr);
        }
        let wanted: BTreeMap<GroupId, Wanted> = state
            .hosted_on(self.id)
            .into_iter()
            .map(|(topic, p)| {
                (
                    p.group,
                    Wanted {
                        replicas: p.replicas.clone(),
                        joining: !p.replicas.contains(&self.id),
                        label: format!("{}/{}", topic.name, p.partition),
                        offsets: topic.name == OFFSETS_TOPIC
                            || topic.name == crate::offsets::TXN_STATE_TOPIC,
                    },
                )
            })
            .collect();
        let running: BTreeSet<GroupId> = self
            .registry
            .ids()
            .into_iter()
            .chain(self.offsets.ids())
            .collect();
        for group in running.iter().filter(|g| !wanted.contains_key(g)) {
            self.stop_and_delete(*group).await;
        }
        let stored: BTreeSet<GroupId> = match self.engine.groups() {
            Ok(groups) => groups.into_iter().map(|(g, _)| g).collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot list stored groups; skipping reconcile");
                return;
            }
        };
        // Groups stored here that the catalogue allocated but no longer assigns
        // to this broker were deleted while it was down.
        for group in stored.iter().filter(|g| {
            **g < state.next_group_id && !wanted.contains_key(g) && !running.contains(g)
        }) {
            tracing::info!(
                group,
                "deleting data of a partition deleted while this broker was down"
            );
            if let Err(e) = self.engine.delete_group(*group).await {
                tracing::error!(group, error = %e, "cannot delete partition data");
            }
        }
        for (group, wanted) in &wanted {
            if running.contains(group) {
                continue;
            }
            let members: BTreeMap<u64, BasicNode> = wanted
                .replicas
                .iter()
                .map(|r| {
                    let addr = state
                        .brokers
                        .get(r)
                        .map(|b| b.registration.raft_addr.clone())
                        .unwrap_or_default();
                    (*r, BasicNode { addr })
                })
                .collect();
            let fresh = !stored.contains(group);
            let init = match (fresh, wanted.replicas.first()) {
                (false, _) => Init::Stored,
                (true, _) if wanted.joining => Init::Join,
                (true, Some(&preferred)) if preferred == self.id => Init::Now(members),
                (true, _) => Init::Fallback(members),
            };
            let started = if wanted.offsets {
                self.start_offsets_group(*group, &wanted.label, init).await
            } else {
                self.start_group(*group, &wanted.label, init).await
            };
            if let Err(e) = started {
                tracing::error!(group, partition = %wanted.label, error = %e, "cannot start partition group");
            }
        }
    }

    /// Registers a fresh group's label, opens its log (`log` adjusts it) and
    /// the state machine `open` returns (with its read side), starts its Raft
    /// node and gives it its first membership as `init` says.
    async fn open_group<C, SM, R>(
        &self,
        group: GroupId,
        label: &str,
        init: Init,
        config: Arc<openraft::Config>,
        log: impl FnOnce(LogStore<C>) -> LogStore<C>,
        open: impl FnOnce(Engine) -> Result<(SM, R), openraft::StorageError<u64>>,
    ) -> Result<(Raft<C>, R), BrokerError>
    where
        C: GroupTypeConfig,
        SM: openraft::storage::RaftStateMachine<C>,
    {
        let raft_err = |e: &dyn std::fmt::Display| BrokerError::Raft {
            group,
            message: e.to_string(),
        };
        if !matches!(init, Init::Stored) {
            self.engine.register_group(group, label.as_bytes()).await?;
        }
        let log = log(LogStore::<C>::new(self.engine.clone(), group).of_node(self.id));
        let (sm, reader) = open(self.engine.clone()).map_err(|e| raft_err(&e))?;
        let network = GroupNetworkFactory::new(self.transport.clone(), group);
        let raft = Raft::new(self.id, config, network, log, sm)
            .await
            .map_err(|e| raft_err(&e))?;
        self.apply_init(group, &raft, init).await;
        Ok((raft, reader))
    }

    async fn start_group(
        &self,
        group: GroupId,
        label: &str,
        init: Init,
    ) -> Result<(), BrokerError> {
        let fresh = !matches!(init, Init::Stored);
        let (raft, reader) = self
            .open_group(
                group,
                label,
                init,
                self.raft_config.clone(),
                // The partition's state stores its applied point itself.
                LogStore::without_commit_index,
                |engine| {
                    let sm = PartitionStore::<PartitionTypeConfig>::open(engine, group)?;
                    let reader = sm.reader();
                    Ok((sm, reader))
                },
            )
            .await?;
        tracing::info!(group, partition = label, fresh, "partition group started");
        let gate = crate::appender::Gate::default();
        let appender = crate::appender::spawn(
            group,
            raft.clone(),
            reader.clone(),
            gate.clone(),
            &self.tasks,
        );
        self.registry.insert(
            group,
            raft,
            PartitionHandle {
                reader,
                appender,
                gate,
            },
        );
        Ok(())
    }

    /// Starts a `__consumer_offsets` partition: a Raft group whose state
    /// machine is a group coordinator, with its host's timer loop.
    async fn start_offsets_group(
        &self,
        group: GroupId,
        label: &str,
        init: Init,
    ) -> Result<(), BrokerError> {
        let config = self.offsets_raft_config.clone();
        let (raft, reader) = self
            .open_group(
                group,
                label,
                init,
                config,
                |log| log,
                |engine| {
                    let sm = SnapshotStateMachine::<OffsetsTypeConfig, OffsetsMachine>::open(
                        engine, group,
                    )?;
                    let reader = sm.reader();
                    Ok((sm, reader))
                },
            )
            .await?;
        let host = Arc::new(CoordinatorHost::new(
            self.id,
            group,
            raft.clone(),
            reader.clone(),
            self.group_settings.clone(),
            self.markers_due.clone(),
        ));
        self.tasks.spawn("coordinator timers", {
            let host = host.clone();
            async move { host.run_timers().await }
        });
        tracing::info!(group, partition = label, "offsets group started");
        self.offsets
            .insert(group, raft, OffsetsHandle { reader, host });
        Ok(())
    }

    /// Gives a started group its first membership as `init` says.
    async fn apply_init<C: GroupTypeConfig>(&self, group: GroupId, raft: &Raft<C>, init: Init) {
        match init {
            Init::Stored | Init::Join => {}
            Init::Now(members) => initialize(raft, group, members).await,
            Init::Fallback(members) => {
                let raft = raft.clone();
                let delay = Duration::from_millis(RaftTiming::PARTITION.election_max_ms * 2);
                self.tasks.spawn("partition init fallback", async move {
                    tokio::time::sleep(delay).await;
                    if matches!(raft.is_initialized().await, Ok(false)) {
                        tracing::info!(
                            group,
                            "preferred leader did not start the group; initializing it here"
                        );
                        initialize(&raft, group, members).await;
                    }
                });
            }
        }
    }

    async fn stop_and_delete(&self, group: GroupId) {
        if let Some((raft, _)) = self.registry.remove(group) {
            if let Err(e) = raft.shutdown().await {
                tracing::warn!(group, error = %e, "partition group did not shut down cleanly");
            }
        }
        if let Some((raft, handle)) = self.offsets.remove(group) {
            handle.host.stop();
            if let Err(e) = raft.shutdown().await {
                tracing::warn!(group, error = %e, "offsets group did not shut down cleanly");
            }
        }
        match self.engine.delete_group(group).await {
            Ok(()) => tracing::info!(group, "partition group stopped and its data deleted"),
            Err(e) => tracing::error!(group, error = %e, "cannot delete partition data"),
        }
    }

    /// Stops every group (their data stays).
    pub async fn shutdown(&self) {
        let stops = self
            .registry
            .all()
            .into_iter()
            .map(|(group, raft, _)| async move {
                self.registry.remove(group);
                if let Err(e) = raft.shutdown().await {
                    tracing::warn!(group, error = %e, "partition group did not shut down cleanly");
                }
            });
        let offsets = self
            .offsets
            .all()
            .into_iter()
            .map(|(group, raft, handle)| async move {
                self.offsets.remove(group);
                handle.host.stop();
                if let Err(e) = raft.shutdown().await {
                    tracing::warn!(group, error = %e, "offsets group did not shut down cleanly");
                }
            });
        futures::future::join_all(stops).await;
        futures::future::join_all(offsets).await;
    }
}
