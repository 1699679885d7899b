//! The running broker: opens storage, binds the listeners, assembles the
//! [`Core`], starts every long-running task and stops them in order. This is
//! the only place that starts or stops things; every task it starts is owned
//! (a stop signal and a join for each), including the short-lived ones other
//! components spawn into [`crate::tasks::Tasks`].

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use cairn_meta::{BrokerRegistration, ControllerRequest};
use cairn_raft::{Transport, TransportConfig};
use cairn_storage::{Engine, EngineOptions};

use crate::config::BrokerConfig;
use crate::metadata::MetaNode;
use crate::partitions::PartitionManager;
use crate::rpc::RpcRouter;
use crate::shared::{Core, CoreParts};
use crate::tasks::Tasks;
use crate::{admin, controller, dissemination, kafka_view, retention, BrokerError};

/// How long shutdown waits for the owned background tasks once every
/// component has stopped (they end with the groups they wait on).
const TASK_JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running broker.
pub struct Broker {
    core: Arc<Core>,
    stop: watch::Sender<bool>,
    /// The long-running loops, each joined on shutdown.
    loops: Tasks,
}

impl Broker {
    /// Validates `config`, opens storage, binds the listeners and starts every task.
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        config.validate().map_err(BrokerError::Config)?;
        let raft_listener = bind("raft", &config.raft_addr).await?;
        let admin_listener = bind("admin", &config.admin_addr).await?;
        let kafka_listener = bind("kafka", &config.kafka_addr).await?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| BrokerError::Bind {
            what: "data dir",
            addr: config.data_dir.display().to_string(),
            source,
        })?;
        let engine = Engine::open(
            config.data_dir.join("rocksdb"),
            &EngineOptions {
                fsync_log: config.log_fsync,
                ..EngineOptions::default()
            },
        )?;
        let transport = Transport::new(
            config.id,
            TransportConfig {
                max_frame_bytes: config.max_raft_frame_bytes,
                local_ip: raft_listener
                    .local_addr()
                    .ok()
                    .map(|a| a.ip())
                    .filter(|ip| !ip.is_unspecified()),
                ..TransportConfig::default()
            },
        );
        for seed in config.seeds_with_self() {
            transport.set_address(seed.id, &seed.addr);
        }
        let tasks = Tasks::default();
        let meta = MetaNode::start(&config, &engine, &transport).await?;
        let partitions = PartitionManager::new(
            config.id,
            &config.cluster_name,
            (config.group_coordinator(), config.txn_coordinator()),
            engine.clone(),
            transport.clone(),
            tasks.clone(),
        )?;
        let core = Arc::new(Core::new(CoreParts {
            config,
            engine,
            transport: transport.clone(),
            meta,
            partitions,
            tasks,
        }));
        transport.set_handler(RpcRouter::new(&core));
        let (stop, _) = watch::channel(false);
        let loops = Tasks::default();
        loops.spawn("raft listener", {
            let transport = transport.clone();
            async move { transport.serve(raft_listener).await }
        });
        loops.spawn("registration", register(core.clone(), stop.subscribe()));
        loops.spawn("reconcile", reconcile_loop(core.clone(), stop.subscribe()));
        loops.spawn(
            "heartbeat",
            dissemination::heartbeat_loop(core.clone(), stop.subscribe()),
        );
        loops.spawn("retention", retention::run(core.clone(), stop.subscribe()));
        loops.spawn(
            "controller",
            controller::run(core.clone(), stop.subscribe()),
        );
        loops.spawn(
            "leader balance",
            crate::leader_balance::run(core.clone(), stop.subscribe()),
        );
        loops.spawn(
            "failover",
            crate::failover::run(core.clone(), stop.subscribe()),
        );
        loops.spawn(
            "transaction markers",
            crate::txn::markers::run(core.clone(), stop.subscribe()),
        );
        loops.spawn(
            "partition moves",
            crate::reassign::run(core.clone(), stop.subscribe()),
        );
        loops.spawn(
            "kafka listener",
            cairn_kafka::serve(
                kafka_listener,
                Arc::new(kafka_view::KafkaView(core.clone())),
                cairn_kafka::KafkaConfig {
                    max_frame_bytes: core.config().kafka_max_frame_bytes,
                },
                stop.subscribe(),
            ),
        );
        loops.spawn(
            "traffic history",
            crate::console::history::run(core.history().clone(), stop.subscribe()),
        );
        loops.spawn(
            "admin listener",
            admin::serve(core.clone(), admin_listener, stop.subscribe()),
        );
        tracing::info!(
            id = core.id(),
            raft = %core.config().raft_addr,
            kafka = %core.config().kafka_addr,
            admin = %core.config().admin_addr,
            voters = ?core.config().voters(),
            "broker started"
        );
        Ok(Broker { core, stop, loops })
    }

    /// The shared state, for embedding and tests.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Stops accepting, stops every task, closes every group, syncs storage.
    /// Returns the number of tasks that had to be aborted (0 on a clean stop).
    pub async fn shutdown(self) -> usize {
        let core = &self.core;
        tracing::info!(id = core.id(), "broker shutting down");
        core.set_stopping();
        // Leaders first hand their groups over, while everything still runs,
        // so that no group waits out an election timeout.
        let timeout = Duration::from_millis(core.config().shutdown_transfer_timeout_ms);
        if !timeout.is_zero() {
            let started = std::time::Instant::now();
            let (moved, kept) = crate::transfer::hand_off_all(core, timeout).await;
            tracing::info!(
                moved,
                kept,
                took_ms = started.elapsed().as_millis() as u64,
                "leadership handed over before stopping"
            );
        }
        self.stop.send_replace(true);
        core.transport().shutdown();
        let mut aborted = self.loops.join(TASK_JOIN_TIMEOUT).await;
        core.partitions().shutdown().await;
        aborted += core.tasks().cancel_and_join(TASK_JOIN_TIMEOUT).await;
        if let Err(e) = core.meta().raft.shutdown().await {
            tracing::warn!(error = %e, "metadata group did not shut down cleanly");
        }
        if let Err(e) = core.engine().sync().await {
            tracing::error!(error = %e, "final storage sync failed");
        }
        tracing::info!(id = core.id(), aborted, "broker stopped");
        aborted
    }
}

async fn bind(what: &'static str, addr: &str) -> Result<TcpListener, BrokerError> {
    let socket = BrokerConfig::bind_addr(addr)
        .map_err(|e| BrokerError::Config(format!("{what}_addr: {e}")))?;
    TcpListener::bind(socket)
        .await
        .map_err(|source| BrokerError::Bind {
            what,
            addr: addr.to_string(),
            source,
        })
}

/// Registers this broker with the controller, retrying until it succeeds.
async fn register(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let config = core.config();
    let registration = BrokerRegistration {
        id: config.id,
        raft_addr: config.raft_addr.clone(),
        kafka_addr: config.kafka_addr.clone(),
        admin_addr: config.admin_addr.clone(),
        rack: config.rack.clone(),
    };
    loop {
        let attempt = core.submit(
            ControllerRequest::Register(registration.clone()),
            Duration::from_secs(5),
        );
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            result = attempt => match result {
                Ok(_) => {
                    tracing::info!(id = config.id, "registered with the controller");
                    return;
                }
                Err(e) => tracing::info!(error = %e, "registration not done yet; retrying"),
            },
        }
    }
}

/// Reconciles partition groups whenever the catalogue changes.
async fn reconcile_loop(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut changes = core.meta().reader.changes();
    loop {
        let state = core.meta().reader.read(Clone::clone);
        core.partitions().reconcile(&state).await;
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
        // Let a burst of applies settle into one reconcile.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
