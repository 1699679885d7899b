//! `cairn broker`: loads the config (file, then `CAIRN_*` env and flags on
//! top), validates it, runs the broker until SIGTERM or Ctrl-C, then shuts it
//! down cleanly.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cairn_broker::config::{parse_ids, parse_seeds};
use cairn_broker::{Broker, BrokerConfig};

/// Flags of `cairn broker`; each also reads a `CAIRN_*` environment variable.
#[derive(Args, Debug, Default)]
pub struct BrokerArgs {
    /// Decommission, recommission or inspect a running cluster's broker
    /// instead of running one.
    #[command(subcommand)]
    action: Option<crate::admin_client::BrokerAction>,
    /// TOML config file; flags and environment variables override it.
    #[arg(long, env = "CAIRN_CONFIG")]
    config: Option<PathBuf>,
    /// Unique broker id.
    #[arg(long, env = "CAIRN_ID")]
    id: Option<u64>,
    /// Data directory (RocksDB lives in DATA_DIR/rocksdb).
    #[arg(long, env = "CAIRN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Internal Raft listener, HOST:PORT.
    #[arg(long, env = "CAIRN_RAFT_ADDR")]
    raft_addr: Option<String>,
    /// Kafka listener, HOST:PORT.
    #[arg(long, env = "CAIRN_KAFKA_ADDR")]
    kafka_addr: Option<String>,
    /// Admin HTTP listener, HOST:PORT.
    #[arg(long, env = "CAIRN_ADMIN_ADDR")]
    admin_addr: Option<String>,
    /// Seed brokers, ID@HOST:RAFTPORT,...
    #[arg(long, env = "CAIRN_SEEDS")]
    seeds: Option<String>,
    /// Metadata group voters, ID,ID,... (default: every seed).
    #[arg(long, env = "CAIRN_CONTROLLER_VOTERS")]
    controller_voters: Option<String>,
    /// Rack of this broker.
    #[arg(long, env = "CAIRN_RACK")]
    rack: Option<String>,
    /// Cluster name.
    #[arg(long, env = "CAIRN_CLUSTER_NAME")]
    cluster_name: Option<String>,
    /// Heartbeat interval in milliseconds.
    #[arg(long, env = "CAIRN_HEARTBEAT_INTERVAL_MS")]
    heartbeat_interval_ms: Option<u64>,
    /// Session timeout in milliseconds (fencing and ISR).
    #[arg(long, env = "CAIRN_SESSION_TIMEOUT_MS")]
    session_timeout_ms: Option<u64>,
    /// Largest Kafka request in bytes; larger ones close the connection.
    #[arg(long, env = "CAIRN_KAFKA_MAX_FRAME_BYTES")]
    kafka_max_frame_bytes: Option<usize>,
    /// Default retention.ms of topics (-1: forever).
    #[arg(long, env = "CAIRN_LOG_RETENTION_MS", allow_hyphen_values = true)]
    log_retention_ms: Option<i64>,
    /// Default retention.bytes per partition (-1: no limit).
    #[arg(long, env = "CAIRN_LOG_RETENTION_BYTES", allow_hyphen_values = true)]
    log_retention_bytes: Option<i64>,
    /// How often retention is checked, in milliseconds.
    #[arg(long, env = "CAIRN_LOG_RETENTION_CHECK_INTERVAL_MS")]
    log_retention_check_interval_ms: Option<u64>,
    /// Forget an idempotent producer silent this long, in milliseconds.
    #[arg(long, env = "CAIRN_PRODUCER_ID_EXPIRATION_MS")]
    producer_id_expiration_ms: Option<u64>,
    /// Create a topic a client asks Metadata for when it does not exist
    /// (Kafka's auto.create.topics.enable).
    #[arg(long, env = "CAIRN_AUTO_CREATE_TOPICS_ENABLE")]
    auto_create_topics_enable: Option<bool>,
    /// Partitions of a topic created without a count (Kafka's num.partitions).
    #[arg(long, env = "CAIRN_NUM_PARTITIONS")]
    num_partitions: Option<u32>,
    /// Replication factor of a topic created without one (default: 3, or the
    /// live brokers if fewer).
    #[arg(long, env = "CAIRN_DEFAULT_REPLICATION_FACTOR")]
    default_replication_factor: Option<u32>,
    /// Fsync every partition log append before acknowledging it (true), or
    /// acknowledge once written to the OS (false: Kafka's default durability).
    #[arg(long, env = "CAIRN_LOG_FSYNC")]
    log_fsync: Option<bool>,
    /// On SIGTERM, how long to spend handing led groups to caught-up
    /// replicas before stopping (0: none).
    #[arg(long, env = "CAIRN_SHUTDOWN_TRANSFER_TIMEOUT_MS")]
    shutdown_transfer_timeout_ms: Option<u64>,
    /// While a partition led here moves, the most bytes per second sent to
    /// each replica catching up (0: no limit).
    #[arg(long, env = "CAIRN_REPLICA_MOVE_THROTTLE_BYTES")]
    replica_move_throttle_bytes: Option<u64>,
    /// Move leaderships back to their preferred replicas periodically
    /// (Kafka's auto.leader.rebalance.enable).
    #[arg(long, env = "CAIRN_AUTO_LEADER_REBALANCE_ENABLE")]
    auto_leader_rebalance_enable: Option<bool>,
    /// How often leader balance is checked, in seconds.
    #[arg(long, env = "CAIRN_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS")]
    leader_imbalance_check_interval_seconds: Option<u64>,
    /// Percentage of a broker's preferred partitions led elsewhere above
    /// which they are moved back.
    #[arg(long, env = "CAIRN_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE")]
    leader_imbalance_per_broker_percentage: Option<u32>,
    /// Let idle partitions stop their Raft heartbeats and election timers.
    #[arg(long, env = "CAIRN_QUIESCE_PARTITIONS")]
    quiesce_partitions: Option<bool>,
    /// Let the partitions a dead broker led elect new leaders at once.
    #[arg(long, env = "CAIRN_FAST_FAILOVER")]
    fast_failover: Option<bool>,
    /// Give every partition its own series in GET /metrics (false: per-broker totals only).
    #[arg(long, env = "CAIRN_METRICS_PER_PARTITION")]
    metrics_per_partition: Option<bool>,
    /// Partitions of __consumer_offsets when it is created.
    #[arg(long, env = "CAIRN_OFFSETS_TOPIC_NUM_PARTITIONS")]
    offsets_topic_num_partitions: Option<u32>,
    /// Replication factor of __consumer_offsets when it is created (capped by live brokers).
    #[arg(long, env = "CAIRN_OFFSETS_TOPIC_REPLICATION_FACTOR")]
    offsets_topic_replication_factor: Option<u32>,
    /// Partitions of __transaction_state when it is created.
    #[arg(long, env = "CAIRN_TRANSACTION_STATE_NUM_PARTITIONS")]
    transaction_state_num_partitions: Option<u32>,
    /// Replication factor of __transaction_state when it is created (capped by live brokers).
    #[arg(long, env = "CAIRN_TRANSACTION_STATE_REPLICATION_FACTOR")]
    transaction_state_replication_factor: Option<u32>,
    /// Longest transaction timeout a producer may ask for, in milliseconds.
    #[arg(long, env = "CAIRN_TRANSACTION_MAX_TIMEOUT_MS")]
    transaction_max_timeout_ms: Option<u32>,
    /// Smallest consumer session timeout a group member may ask for, in milliseconds.
    #[arg(long, env = "CAIRN_GROUP_MIN_SESSION_TIMEOUT_MS")]
    group_min_session_timeout_ms: Option<u32>,
    /// Largest consumer session timeout a group member may ask for, in milliseconds.
    #[arg(long, env = "CAIRN_GROUP_MAX_SESSION_TIMEOUT_MS")]
    group_max_session_timeout_ms: Option<u32>,
    /// How long the first rebalance of an empty group waits for more members, in milliseconds.
    #[arg(long, env = "CAIRN_GROUP_INITIAL_REBALANCE_DELAY_MS")]
    group_initial_rebalance_delay_ms: Option<u32>,
    /// Most members a consumer group may hold (0: unlimited).
    #[arg(long, env = "CAIRN_GROUP_MAX_SIZE")]
    group_max_size: Option<u32>,
    /// Longest metadata string of an offset commit, in bytes.
    #[arg(long, env = "CAIRN_OFFSET_METADATA_MAX_BYTES")]
    offset_metadata_max_bytes: Option<usize>,
    /// How long an empty group's committed offsets are kept, in minutes.
    #[arg(long, env = "CAIRN_OFFSETS_RETENTION_MINUTES")]
    offsets_retention_minutes: Option<u32>,
    /// How often expired committed offsets are removed, in milliseconds.
    #[arg(long, env = "CAIRN_OFFSETS_RETENTION_CHECK_INTERVAL_MS")]
    offsets_retention_check_interval_ms: Option<u32>,
    /// Log level when RUST_LOG is not set (error, warn, info, debug, trace).
    #[arg(long, env = "CAIRN_LOG_LEVEL", default_value = "info")]
    log_level: String,
}

/// Builds the config: file (or defaults), then every flag/env that is set.
fn load_config(args: &BrokerArgs) -> anyhow::Result<BrokerConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str::<BrokerConfig>(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {}", path.display(), e.message()))?
        }
        None => BrokerConfig::default(),
    };
    if let Some(v) = args.id {
        config.id = v;
    }
    if let Some(v) = &args.data_dir {
        config.data_dir = v.clone();
    }
    if let Some(v) = &args.raft_addr {
        config.raft_addr = v.clone();
    }
    if let Some(v) = &args.kafka_addr {
        config.kafka_addr = v.clone();
    }
    if let Some(v) = &args.admin_addr {
        config.admin_addr = v.clone();
    }
    if let Some(v) = &args.seeds {
        config.seeds = parse_seeds(v).map_err(|e| anyhow::anyhow!("--seeds: {e}"))?;
    }
    if let Some(v) = &args.controller_voters {
        config.controller_voters =
            parse_ids(v).map_err(|e| anyhow::anyhow!("--controller-voters: {e}"))?;
    }
    if let Some(v) = &args.rack {
        config.rack = Some(v.clone());
    }
    if let Some(v) = &args.cluster_name {
        config.cluster_name = v.clone();
    }
    if let Some(v) = args.heartbeat_interval_ms {
        config.heartbeat_interval_ms = v;
    }
    if let Some(v) = args.session_timeout_ms {
        config.session_timeout_ms = v;
    }
    if let Some(v) = args.kafka_max_frame_bytes {
        config.kafka_max_frame_bytes = v;
    }
    if let Some(v) = args.log_retention_ms {
        config.log_retention_ms = v;
    }
    if let Some(v) = args.log_retention_bytes {
        config.log_retention_bytes = v;
    }
    if let Some(v) = args.log_retention_check_interval_ms {
        config.log_retention_check_interval_ms = v;
    }
    if let Some(v) = args.producer_id_expiration_ms {
        config.producer_id_expiration_ms = v;
    }
    if let Some(v) = args.auto_create_topics_enable {
        config.auto_create_topics_enable = v;
    }
    if let Some(v) = args.num_partitions {
        config.num_partitions = v;
    }
    if let Some(v) = args.default_replication_factor {
        config.default_replication_factor = Some(v);
    }
    if let Some(v) = args.log_fsync {
        config.log_fsync = v;
    }
    if let Some(v) = args.shutdown_transfer_timeout_ms {
        config.shutdown_transfer_timeout_ms = v;
    }
    if let Some(v) = args.replica_move_throttle_bytes {
        config.replica_move_throttle_bytes = v;
    }
    if let Some(v) = args.auto_leader_rebalance_enable {
        config.auto_leader_rebalance_enable = v;
    }
    if let Some(v) = args.leader_imbalance_check_interval_seconds {
        config.leader_imbalance_check_interval_seconds = v;
    }
    if let Some(v) = args.leader_imbalance_per_broker_percentage {
        config.leader_imbalance_per_broker_percentage = v;
    }
    if let Some(v) = args.fast_failover {
        config.fast_failover = v;
    }
    if let Some(v) = args.metrics_per_partition {
        config.metrics_per_partition = v;
    }
    if let Some(v) = args.quiesce_partitions {
        config.quiesce_partitions = v;
    }
    if let Some(v) = args.offsets_topic_num_partitions {
        config.offsets_topic_num_partitions = v;
    }
    if let Some(v) = args.offsets_topic_replication_factor {
        config.offsets_topic_replication_factor = v;
    }
    if let Some(v) = args.transaction_state_num_partitions {
        config.transaction_state_num_partitions = v;
    }
    if let Some(v) = args.transaction_state_replication_factor {
        config.transaction_state_replication_factor = v;
    }
    if let Some(v) = args.transaction_max_timeout_ms {
        config.transaction_max_timeout_ms = v;
    }
    if let Some(v) = args.group_min_session_timeout_ms {
        config.group_min_session_timeout_ms = v;
    }
    if let Some(v) = args.group_max_session_timeout_ms {
        config.group_max_session_timeout_ms = v;
    }
    if let Some(v) = args.group_initial_rebalance_delay_ms {
        config.group_initial_rebalance_delay_ms = v;
    }
    if let Some(v) = args.group_max_size {
        config.group_max_size = v;
    }
    if let Some(v) = args.offset_metadata_max_bytes {
        config.offset_metadata_max_bytes = v;
    }
    if let Some(v) = args.offsets_retention_minutes {
        config.offsets_retention_minutes = v;
    }
    if let Some(v) = args.offsets_retention_check_interval_ms {
        config.offsets_retention_check_interval_ms = v;
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(config)
}

fn init_logging(level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => tracing_subscriber::EnvFilter::try_new(spec)?,
        // openraft logs every failed replication RPC (each group retries a
        // dead peer twice a second: thousands of lines a second on a broker
        // with many partitions); the transport logs the lost connection once.
        _ => tracing_subscriber::EnvFilter::try_new(format!(
            "{level},openraft=warn,openraft::replication=off"
        ))
        .map_err(|e| anyhow::anyhow!("--log-level '{level}': {e}"))?,
    };
    use std::io::IsTerminal;
    // Colours only on a terminal, so that log files stay greppable.
    let ansi = std::io::stdout().is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .init();
    Ok(())
}

/// Runs `cairn broker`.
pub fn run(mut args: BrokerArgs) -> anyhow::Result<()> {
    if let Some(action) = args.action.take() {
        return crate::admin_client::run_broker_action(action);
    }
    let config = load_config(&args)?;
    init_logging(&args.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let broker = Broker::start(config).await?;
        wait_for_stop_signal().await?;
        let aborted = broker.shutdown().await;
        if aborted > 0 {
            anyhow::bail!("shutdown aborted {aborted} tasks that did not stop in time");
        }
        anyhow::Ok(())
    })
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_errors_name_the_input() {
        let dir = std::env::temp_dir().join(format!("cairn-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("b.toml");
        std::fs::write(&file, "id = 5\nadmin_addr = \"127.0.0.1:7000\"\n").unwrap();
        let args = BrokerArgs {
            config: Some(file.clone()),
            id: Some(6),
            ..Default::default()
        };
        let c = load_config(&args).unwrap();
        assert_eq!((c.id, c.admin_addr.as_str()), (6, "127.0.0.1:7000"));

        let args = BrokerArgs {
            config: Some(file),
            seeds: Some("1@nowhere".into()),
            ..Default::default()
        };
        let e = load_config(&args).unwrap_err().to_string();
        assert!(e.contains("--seeds") && e.contains("1@nowhere"), "{e}");

        std::fs::write(dir.join("bad.toml"), "idd = 5\n").unwrap();
        let args = BrokerArgs {
            config: Some(dir.join("bad.toml")),
            ..Default::default()
        };
        let e = load_config(&args).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("idd"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn group_settings_come_from_flags_and_are_checked() {
        let args = BrokerArgs {
            group_initial_rebalance_delay_ms: Some(0),
            offsets_topic_num_partitions: Some(4),
            ..Default::default()
        };
        let c = load_config(&args).unwrap();
        assert_eq!(c.group_coordinator().group_initial_rebalance_delay_ms, 0);
        assert_eq!(c.offsets_topic_num_partitions, 4);

        let args = BrokerArgs {
            group_max_session_timeout_ms: Some(1_000),
            ..Default::default()
        };
        let e = load_config(&args).unwrap_err().to_string();
        assert!(e.contains("group_max_session_timeout_ms 1000"), "{e}");
    }
}
