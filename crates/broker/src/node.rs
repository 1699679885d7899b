//! The running broker: wires storage, transport, the metadata group, the
//! partition groups, dissemination/heartbeats, the controller loop and the
//! admin HTTP API, and shuts them down in order.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use cairn_meta::{BrokerRegistration, ControllerRequest, MetaError, MetaErrorCode, MetaResponse};
use cairn_raft::{serve_raft_rpc, service, HandlerFuture, RpcHandler, Transport, TransportConfig};
use cairn_storage::{Engine, EngineOptions, METADATA_GROUP};

use crate::config::BrokerConfig;
use crate::leaders::{ClusterKnowledge, Heartbeat};
use crate::metadata::{decode_forward, encode_forward, MetaNode, SUBMIT_RETRY};
use crate::partitions::PartitionManager;
use crate::quiesce::Quiescence;
use crate::{controller, BrokerError};

/// Broker-level services on the transport.
pub mod broker_service {
    use cairn_raft::service::FIRST_BROKER_SERVICE;
    /// A [`crate::leaders::Heartbeat`].
    pub const HEARTBEAT: u8 = FIRST_BROKER_SERVICE;
    /// A forwarded [`cairn_meta::ControllerRequest`].
    pub const CONTROLLER: u8 = FIRST_BROKER_SERVICE + 1;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Everything a running broker shares between its tasks.
pub struct Core {
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
    /// Leaders and liveness learned from heartbeats.
    pub knowledge: ClusterKnowledge,
    /// Which partition replicas are quiescent (idle, Raft heartbeats off).
    pub quiet: Quiescence,
    /// When this broker started.
    pub started: Instant,
}

impl Core {
    /// This broker's id.
    pub fn id(&self) -> u64 {
        self.config.id
    }

    /// The topic config defaults this broker's config sets (by topic key).
    pub fn topic_defaults(&self) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::from([
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

    /// The session timeout as a duration.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.config.session_timeout_ms)
    }

    /// Gets a controller request carried out by the controller, wherever it is,
    /// retrying while the controller is unknown or moving, up to `timeout`.
    pub async fn submit(
        &self,
        request: ControllerRequest,
        timeout: Duration,
    ) -> Result<MetaResponse, MetaError> {
        let deadline = Instant::now() + timeout;
        let mut seed_turn = 0usize;
        loop {
            let result = match self.meta.leader() {
                Some(leader) if leader == self.id() => {
                    controller::handle(self, request.clone()).await
                }
                Some(leader) => self.forward(leader, &request, 1).await,
                None => {
                    // Not yet a member (or no election yet): ask the seeds in turn.
                    let seeds: Vec<u64> = self
                        .config
                        .seeds
                        .iter()
                        .map(|s| s.id)
                        .filter(|&s| s != self.id())
                        .collect();
                    match seeds.get(seed_turn % seeds.len().max(1)) {
                        Some(&seed) => {
                            seed_turn += 1;
                            self.forward(seed, &request, 1).await
                        }
                        None => Err(MetaError::new(
                            MetaErrorCode::Unavailable,
                            "no controller elected yet",
                        )),
                    }
                }
            };
            match result {
                Err(e)
                    if matches!(
                        e.code,
                        MetaErrorCode::NotController | MetaErrorCode::Unavailable
                    ) =>
                {
                    if Instant::now() + SUBMIT_RETRY >= deadline {
                        return Err(MetaError::new(
                            e.code,
                            format!("{} (gave up after {timeout:?})", e.message),
                        ));
                    }
                    tokio::time::sleep(SUBMIT_RETRY).await;
                }
                other => return other,
            }
        }
    }

    async fn forward(
        &self,
        to: u64,
        request: &ControllerRequest,
        hops: u8,
    ) -> Result<MetaResponse, MetaError> {
        let body = encode_forward(request, hops);
        let reply = self
            .transport
            .call(
                to,
                broker_service::CONTROLLER,
                METADATA_GROUP,
                body,
                Duration::from_secs(10),
            )
            .await
            .map_err(|e| MetaError::new(MetaErrorCode::Unavailable, e.to_string()))?;
        bincode::deserialize::<Result<MetaResponse, MetaError>>(&reply).map_err(|e| {
            MetaError::new(
                MetaErrorCode::Unavailable,
                format!("malformed controller reply from {to}: {e}"),
            )
        })?
    }

    async fn serve_forwarded(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let (request, hops) = decode_forward(body)?;
        let result = match self.meta.leader() {
            Some(leader) if leader == self.id() => controller::handle(self, request).await,
            Some(leader) if hops > 0 => self.forward(leader, &request, hops - 1).await,
            _ => Err(MetaError::new(
                MetaErrorCode::NotController,
                format!("broker {} does not know the controller", self.id()),
            )),
        };
        bincode::serialize(&result).map_err(|e| e.to_string())
    }

    async fn serve(
        &self,
        from: u64,
        service_id: u8,
        group: u64,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        match service_id {
            broker_service::HEARTBEAT => {
                let heartbeat: Heartbeat =
                    bincode::deserialize(&body).map_err(|e| format!("malformed heartbeat: {e}"))?;
                if heartbeat.from != from {
                    return Err(format!(
                        "heartbeat claims broker {} on broker {from}'s connection",
                        heartbeat.from
                    ));
                }
                let now = Instant::now();
                self.knowledge.record(&heartbeat, now);
                self.quiet.request_wake(&heartbeat.wake, now);
                Ok(Vec::new())
            }
            broker_service::CONTROLLER => self.serve_forwarded(&body).await,
            service::APPEND | service::VOTE | service::SNAPSHOT if group == METADATA_GROUP => {
                serve_raft_rpc(&self.meta.raft, service_id, &body).await
            }
            service::APPEND | service::VOTE | service::SNAPSHOT => {
                match self.partitions.registry.raft(group) {
                    Some(raft) => serve_raft_rpc(&raft, service_id, &body).await,
                    None => Err(format!(
                        "group {group} does not run on broker {}",
                        self.id()
                    )),
                }
            }
            other => Err(format!("unknown service {other}")),
        }
    }
}

/// Routes transport requests to the broker; holds it weakly so that the
/// transport does not keep a stopped broker alive.
struct Handler(Weak<Core>);

impl RpcHandler for Handler {
    fn handle(&self, from: u64, service_id: u8, group: u64, body: Vec<u8>) -> HandlerFuture {
        let core = self.0.upgrade();
        Box::pin(async move {
            match core {
                Some(core) => core.serve(from, service_id, group, body).await,
                None => Err("broker is shutting down".into()),
            }
        })
    }
}

/// A running broker.
pub struct Broker {
    core: Arc<Core>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
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
        let meta = MetaNode::start(&config, &engine, &transport).await?;
        let partitions = PartitionManager::new(
            config.id,
            &config.cluster_name,
            engine.clone(),
            transport.clone(),
        )?;
        let core = Arc::new(Core {
            config,
            engine,
            transport: transport.clone(),
            meta,
            partitions,
            knowledge: ClusterKnowledge::default(),
            quiet: Quiescence::default(),
            started: Instant::now(),
        });
        transport.set_handler(Arc::new(Handler(Arc::downgrade(&core))));
        let (stop, _) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn({
            let transport = transport.clone();
            async move { transport.serve(raft_listener).await }
        }));
        tasks.push(tokio::spawn(register(core.clone(), stop.subscribe())));
        tasks.push(tokio::spawn(reconcile_loop(core.clone(), stop.subscribe())));
        tasks.push(tokio::spawn(heartbeat_loop(core.clone(), stop.subscribe())));
        tasks.push(tokio::spawn(crate::retention::run(
            core.clone(),
            stop.subscribe(),
        )));
        tasks.push(tokio::spawn(controller::run(
            core.clone(),
            stop.subscribe(),
        )));
        tasks.push(tokio::spawn(cairn_kafka::serve(
            kafka_listener,
            Arc::new(crate::kafka_view::KafkaView(core.clone())),
            cairn_kafka::KafkaConfig {
                max_frame_bytes: core.config.kafka_max_frame_bytes,
            },
            stop.subscribe(),
        )));
        tasks.push(tokio::spawn(crate::admin::serve(
            core.clone(),
            admin_listener,
            stop.subscribe(),
        )));
        tracing::info!(
            id = core.id(),
            raft = %core.config.raft_addr,
            kafka = %core.config.kafka_addr,
            admin = %core.config.admin_addr,
            voters = ?core.config.voters(),
            "broker started"
        );
        Ok(Broker { core, stop, tasks })
    }

    /// The shared state, for embedding and tests.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Stops accepting, stops every task, closes every group, syncs storage.
    pub async fn shutdown(self) {
        tracing::info!(id = self.core.id(), "broker shutting down");
        self.stop.send_replace(true);
        self.core.transport.shutdown();
        for task in self.tasks {
            let _ = task.await;
        }
        self.core.partitions.shutdown().await;
        if let Err(e) = self.core.meta.raft.shutdown().await {
            tracing::warn!(error = %e, "metadata group did not shut down cleanly");
        }
        if let Err(e) = self.core.engine.sync().await {
            tracing::error!(error = %e, "final storage sync failed");
        }
        tracing::info!(id = self.core.id(), "broker stopped");
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
    let config = &core.config;
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
    let mut changes = core.meta.reader.changes();
    loop {
        let state = core.meta.reader.read(Clone::clone);
        core.partitions.reconcile(&state).await;
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
        // Let a burst of applies settle into one reconcile.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every heartbeat interval: report the groups this broker leads to itself and
/// to every registered peer.
async fn heartbeat_loop(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(core.config.heartbeat_interval_ms);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        let (led, wake) = controller::observe_groups(&core);
        let heartbeat = Heartbeat {
            from: core.id(),
            led,
            wake,
        };
        core.knowledge.record(&heartbeat, Instant::now());
        let body = match bincode::serialize(&heartbeat) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode heartbeat");
                continue;
            }
        };
        let mut peers: Vec<u64> = core
            .meta
            .reader
            .read(|s| s.brokers.keys().copied().collect());
        peers.extend(core.config.seeds.iter().map(|s| s.id));
        peers.sort_unstable();
        peers.dedup();
        for peer in peers.into_iter().filter(|&p| p != core.id()) {
            let transport = core.transport.clone();
            let body = body.clone();
            tokio::spawn(async move {
                if let Err(e) = transport
                    .call(peer, broker_service::HEARTBEAT, 0, body, interval * 2)
                    .await
                {
                    tracing::trace!(peer, error = %e, "heartbeat not delivered");
                }
            });
        }
    }
}
