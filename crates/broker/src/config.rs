//! The broker's configuration: one typed struct, loaded from TOML by the CLI,
//! overridden by `CAIRN_*` environment variables and flags, and validated here
//! before anything starts, with an error that names the setting and its value.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use cairn_coordinator::{CoordinatorError, GroupCoordinatorConfig};

/// A seed broker: its id and Raft address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seed {
    /// Broker id.
    pub id: u64,
    /// Raft listener address, `host:port`.
    pub addr: String,
}

impl FromStr for Seed {
    type Err = String;

    /// Parses `ID@HOST:PORT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, addr) = s
            .split_once('@')
            .ok_or_else(|| format!("seed '{s}' is not of the form ID@HOST:PORT"))?;
        let id = id
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("seed '{s}': '{id}' is not a broker id"))?;
        check_addr("address", addr.trim()).map_err(|e| format!("seed '{s}': {e}"))?;
        Ok(Seed {
            id,
            addr: addr.trim().to_string(),
        })
    }
}

/// Parses a comma-separated seed list, `1@h:p,2@h:p`.
pub fn parse_seeds(s: &str) -> Result<Vec<Seed>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(Seed::from_str)
        .collect()
}

/// Parses a comma-separated id list, `1,2,3`.
pub fn parse_ids(s: &str) -> Result<Vec<u64>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim()
                .parse::<u64>()
                .map_err(|_| format!("'{p}' is not a broker id"))
        })
        .collect()
}

fn check_addr(what: &str, addr: &str) -> Result<(), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{what} '{addr}' is not of the form HOST:PORT"))?;
    if host.is_empty() {
        return Err(format!("{what} '{addr}' has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("{what} '{addr}' has an invalid port '{port}'"))?;
    Ok(())
}

/// Default of [`BrokerConfig::kafka_max_frame_bytes`]: the Kafka listener's
/// own default (Kafka's `socket.request.max.bytes`, 100 MiB).
pub const DEFAULT_KAFKA_MAX_FRAME_BYTES: usize = cairn_kafka::DEFAULT_MAX_FRAME_BYTES;
/// Default of [`BrokerConfig::log_retention_ms`]: 7 days, as Kafka's `log.retention.ms`.
pub const DEFAULT_LOG_RETENTION_MS: i64 = 604_800_000;
/// Default of [`BrokerConfig::log_retention_bytes`]: no size limit.
pub const DEFAULT_LOG_RETENTION_BYTES: i64 = -1;
/// Default of [`BrokerConfig::log_retention_check_interval_ms`]: 5 minutes, as Kafka.
pub const DEFAULT_LOG_RETENTION_CHECK_INTERVAL_MS: u64 = 300_000;
/// Default of [`BrokerConfig::producer_id_expiration_ms`]: 1 day, as Kafka's
/// `producer.id.expiration.ms`.
pub const DEFAULT_PRODUCER_ID_EXPIRATION_MS: u64 = 86_400_000;

/// `shutdown_transfer_timeout_ms`: long enough for every group's replica to
/// catch up and win, short enough for a service manager's stop timeout.
pub const DEFAULT_SHUTDOWN_TRANSFER_TIMEOUT_MS: u64 = 5_000;

/// Everything a broker needs to start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// Unique broker id.
    pub id: u64,
    /// Directory of the broker's RocksDB.
    pub data_dir: PathBuf,
    /// Internal Raft listener (also advertised to peers).
    pub raft_addr: String,
    /// Kafka listener (advertised to clients).
    pub kafka_addr: String,
    /// Admin HTTP listener.
    pub admin_addr: String,
    /// Brokers to contact at start (must include every controller voter).
    pub seeds: Vec<Seed>,
    /// Brokers forming the metadata Raft group; empty means every seed.
    pub controller_voters: Vec<u64>,
    /// Rack of this broker, for rack-aware placement.
    pub rack: Option<String>,
    /// Cluster name; brokers of different clusters refuse each other.
    pub cluster_name: String,
    /// How often the broker heartbeats every peer (and reports the partitions it leads).
    pub heartbeat_interval_ms: u64,
    /// A broker not heard from for this long is fenced (shown offline) and leaves ISRs.
    pub session_timeout_ms: u64,
    /// Largest node-to-node frame accepted; larger frames close the connection.
    pub max_raft_frame_bytes: u32,
    /// Largest Kafka request accepted; a larger size closes the client's connection.
    pub kafka_max_frame_bytes: usize,
    /// Default `retention.ms` of topics that do not set it (Kafka's
    /// `log.retention.ms`); -1 keeps records forever.
    pub log_retention_ms: i64,
    /// Default `retention.bytes` per partition (Kafka's `log.retention.bytes`); -1 is no limit.
    pub log_retention_bytes: i64,
    /// How often retention is checked (Kafka's `log.retention.check.interval.ms`).
    pub log_retention_check_interval_ms: u64,
    /// A partition forgets an idempotent producer whose last batch is older
    /// than this (Kafka's `producer.id.expiration.ms`); checked with retention.
    pub producer_id_expiration_ms: u64,
    /// On SIGTERM, how long the broker may spend handing the groups it leads
    /// to caught-up replicas before it stops (0: no hand-off; the groups then
    /// elect after an election timeout).
    pub shutdown_transfer_timeout_ms: u64,
    /// While a partition this broker leads is moving, the most bytes per
    /// second it sends each replica catching up (0: no limit; Kafka's
    /// `leader.replication.throttled.rate`).
    pub replica_move_throttle_bytes: u64,
    /// Whether the controller moves leaderships back to their preferred
    /// replicas (Kafka's `auto.leader.rebalance.enable`).
    pub auto_leader_rebalance_enable: bool,
    /// How often the controller checks leader balance, in seconds (Kafka's
    /// `leader.imbalance.check.interval.seconds`).
    pub leader_imbalance_check_interval_seconds: u64,
    /// A broker's partitions are moved back once more than this percentage of
    /// those it is preferred for are led elsewhere (Kafka's
    /// `leader.imbalance.per.broker.percentage`).
    pub leader_imbalance_per_broker_percentage: u32,
    /// Whether a Metadata request for a topic that does not exist creates it
    /// (Kafka's `auto.create.topics.enable`), when the client allows it.
    pub auto_create_topics_enable: bool,
    /// Partitions of a topic created without a count: auto-created, or
    /// CreateTopics with -1 (Kafka's `num.partitions`).
    pub num_partitions: u32,
    /// Replication factor of a topic created without one (Kafka's
    /// `default.replication.factor`); unset: 3, or the live brokers if fewer.
    pub default_replication_factor: Option<u32>,
    /// Whether a partition's Raft log append is fsynced before the broker
    /// acknowledges it to its leader (default). `false` acknowledges once the
    /// write reached the OS: it survives a broker crash but not the loss of
    /// every replica's machine at once (Kafka's and JetStream's default).
    pub log_fsync: bool,
    /// Whether idle partitions stop their Raft heartbeats and election timers
    /// (see `crate::quiesce`); `false` keeps every group ticking.
    pub quiesce_partitions: bool,
    /// Whether the groups a broker that is gone (its connects are refused)
    /// led elect new leaders at once (see `crate::failover`); `false` leaves
    /// them to openraft's timers.
    pub fast_failover: bool,
    /// Whether `GET /metrics` has a series per partition (topic and
    /// partition labels); `false` keeps only the per-broker totals, for
    /// brokers with tens of thousands of partitions.
    pub metrics_per_partition: bool,
    /// Partitions of `__consumer_offsets` when it is created (Kafka's
    /// `offsets.topic.num.partitions`). Changing it later does not move groups:
    /// the topic's actual partition count decides where a group lives.
    pub offsets_topic_num_partitions: u32,
    /// Replication factor of `__consumer_offsets` when it is created (Kafka's
    /// `offsets.topic.replication.factor`), capped by the live brokers then.
    pub offsets_topic_replication_factor: u32,
    /// `group.min.session.timeout.ms`: the smallest session a member may ask for.
    pub group_min_session_timeout_ms: u32,
    /// `group.max.session.timeout.ms`: the largest session a member may ask for.
    pub group_max_session_timeout_ms: u32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an
    /// empty group waits for more members.
    pub group_initial_rebalance_delay_ms: u32,
    /// `group.max.size`: the most members a group may hold (0: unlimited).
    pub group_max_size: u32,
    /// `offset.metadata.max.bytes`: the longest metadata string of a commit.
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes`: how long an empty group's offsets are kept.
    pub offsets_retention_minutes: u32,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are removed.
    pub offsets_retention_check_interval_ms: u32,
    /// Partitions of `__transaction_state` when it is created (Kafka's
    /// `transaction.state.log.num.partitions`).
    pub transaction_state_num_partitions: u32,
    /// Replication factor of `__transaction_state` when it is created
    /// (Kafka's `transaction.state.log.replication.factor`), capped by the
    /// live brokers then.
    pub transaction_state_replication_factor: u32,
    /// `transaction.max.timeout.ms`: the longest transaction timeout a
    /// producer may ask for.
    pub transaction_max_timeout_ms: u32,
    /// `transactional.id.expiration.ms`: a transactional id unused this
    /// long is forgotten.
    pub transactional_id_expiration_ms: u64,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let groups = GroupCoordinatorConfig::default();
        Self {
            id: 1,
            data_dir: PathBuf::from("./data"),
            raft_addr: "127.0.0.1:19092".into(),
            kafka_addr: "127.0.0.1:9092".into(),
            admin_addr: "127.0.0.1:9644".into(),
            seeds: Vec::new(),
            controller_voters: Vec::new(),
            rack: None,
            cluster_name: "cairn".into(),
            heartbeat_interval_ms: 250,
            session_timeout_ms: 4000,
            max_raft_frame_bytes: 64 << 20,
            kafka_max_frame_bytes: DEFAULT_KAFKA_MAX_FRAME_BYTES,
            log_retention_ms: DEFAULT_LOG_RETENTION_MS,
            log_retention_bytes: DEFAULT_LOG_RETENTION_BYTES,
            log_retention_check_interval_ms: DEFAULT_LOG_RETENTION_CHECK_INTERVAL_MS,
            producer_id_expiration_ms: DEFAULT_PRODUCER_ID_EXPIRATION_MS,
            auto_create_topics_enable: true,
            num_partitions: 1,
            default_replication_factor: None,
            log_fsync: true,
            shutdown_transfer_timeout_ms: DEFAULT_SHUTDOWN_TRANSFER_TIMEOUT_MS,
            replica_move_throttle_bytes: 0,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
            quiesce_partitions: true,
            fast_failover: true,
            metrics_per_partition: true,
            // Kafka's default is 50; 16 keeps a small cluster's Raft group count low.
            offsets_topic_num_partitions: 16,
            offsets_topic_replication_factor: 3,
            group_min_session_timeout_ms: groups.group_min_session_timeout_ms,
            group_max_session_timeout_ms: groups.group_max_session_timeout_ms,
            group_initial_rebalance_delay_ms: groups.group_initial_rebalance_delay_ms,
            group_max_size: 0,
            offset_metadata_max_bytes: groups.offset_metadata_max_bytes,
            offsets_retention_minutes: groups.offsets_retention_minutes,
            offsets_retention_check_interval_ms: groups.offsets_retention_check_interval_ms,
            transaction_state_num_partitions: 16,
            transaction_state_replication_factor: 3,
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

impl BrokerConfig {
    /// The metadata group's voters: `controller_voters`, or every seed, or just
    /// this broker when it has no seeds (a single-broker cluster).
    pub fn voters(&self) -> Vec<u64> {
        if !self.controller_voters.is_empty() {
            return self.controller_voters.clone();
        }
        if self.seeds.is_empty() {
            return vec![self.id];
        }
        self.seeds.iter().map(|s| s.id).collect()
    }

    /// The group coordinator's settings (the leader of each offsets
    /// partition makes them the partition's, see `crate::offsets::host`).
    pub fn group_coordinator(&self) -> GroupCoordinatorConfig {
        GroupCoordinatorConfig {
            group_min_session_timeout_ms: self.group_min_session_timeout_ms,
            group_max_session_timeout_ms: self.group_max_session_timeout_ms,
            group_initial_rebalance_delay_ms: self.group_initial_rebalance_delay_ms,
            group_max_size: match self.group_max_size {
                0 => u32::MAX,
                n => n,
            },
            offset_metadata_max_bytes: self.offset_metadata_max_bytes,
            offsets_retention_minutes: self.offsets_retention_minutes,
            offsets_retention_check_interval_ms: self.offsets_retention_check_interval_ms,
            ..GroupCoordinatorConfig::default()
        }
    }

    /// The transaction coordinator's settings (the leader of each
    /// `__transaction_state` partition makes them the partition's).
    pub fn txn_coordinator(&self) -> cairn_coordinator::txn::TxnConfig {
        cairn_coordinator::txn::TxnConfig {
            max_timeout_ms: i32::try_from(self.transaction_max_timeout_ms).unwrap_or(i32::MAX),
            id_expiration_ms: self.transactional_id_expiration_ms,
        }
    }

    /// The seeds, with this broker added if it is missing.
    pub fn seeds_with_self(&self) -> Vec<Seed> {
        let mut seeds = self.seeds.clone();
        if !seeds.iter().any(|s| s.id == self.id) {
            seeds.push(Seed {
                id: self.id,
                addr: self.raft_addr.clone(),
            });
        }
        seeds
    }

    /// Checks the whole config; the error names the setting and the value.
    pub fn validate(&self) -> Result<(), String> {
        check_addr("raft_addr", &self.raft_addr)?;
        check_addr("kafka_addr", &self.kafka_addr)?;
        check_addr("admin_addr", &self.admin_addr)?;
        let listeners = [&self.raft_addr, &self.kafka_addr, &self.admin_addr];
        let unique: BTreeSet<_> = listeners.iter().collect();
        if unique.len() != listeners.len() {
            return Err(format!(
                "raft_addr ({}), kafka_addr ({}) and admin_addr ({}) must differ",
                self.raft_addr, self.kafka_addr, self.admin_addr
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err("data_dir is empty".into());
        }
        let mut seen = BTreeSet::new();
        for seed in &self.seeds {
            check_addr("seed address", &seed.addr)?;
            if !seen.insert(seed.id) {
                return Err(format!("seeds name broker {} twice", seed.id));
            }
            if seed.id == self.id && seed.addr != self.raft_addr {
                return Err(format!(
                    "seed {}@{} is this broker but its address differs from raft_addr {}",
                    seed.id, seed.addr, self.raft_addr
                ));
            }
        }
        let seeds = self.seeds_with_self();
        for voter in self.voters() {
            if !seeds.iter().any(|s| s.id == voter) {
                return Err(format!(
                    "controller voter {voter} is not in seeds; add it as {voter}@HOST:PORT"
                ));
            }
        }
        if self.log_retention_ms < -1 {
            return Err(format!(
                "log_retention_ms ({}) must be -1 (forever) or at least 0",
                self.log_retention_ms
            ));
        }
        if self.log_retention_bytes < -1 {
            return Err(format!(
                "log_retention_bytes ({}) must be -1 (no limit) or at least 0",
                self.log_retention_bytes
            ));
        }
        if self.log_retention_check_interval_ms == 0 {
            return Err("log_retention_check_interval_ms must be at least 1".into());
        }
        if self.producer_id_expiration_ms == 0 || self.producer_id_expiration_ms > i64::MAX as u64 {
            return Err(format!(
                "producer_id_expiration_ms ({}) must be at least 1 and at most {}",
                self.producer_id_expiration_ms,
                i64::MAX
            ));
        }
        if self.leader_imbalance_check_interval_seconds == 0 {
            return Err("leader_imbalance_check_interval_seconds must be at least 1".into());
        }
        if self.leader_imbalance_per_broker_percentage > 100 {
            return Err(format!(
                "leader_imbalance_per_broker_percentage ({}) must be at most 100",
                self.leader_imbalance_per_broker_percentage
            ));
        }
        if self.num_partitions == 0 {
            return Err("num_partitions must be at least 1".into());
        }
        if self.default_replication_factor == Some(0) {
            return Err(
                "default_replication_factor must be at least 1 (leave it unset for 3, or the live brokers if fewer)"
                    .into(),
            );
        }
        if self.heartbeat_interval_ms == 0 {
            return Err("heartbeat_interval_ms must be at least 1".into());
        }
        if self.session_timeout_ms <= self.heartbeat_interval_ms * 2 {
            return Err(format!(
                "session_timeout_ms ({}) must be more than twice heartbeat_interval_ms ({})",
                self.session_timeout_ms, self.heartbeat_interval_ms
            ));
        }
        if self.max_raft_frame_bytes < 1024 {
            return Err(format!(
                "max_raft_frame_bytes ({}) must be at least 1024",
                self.max_raft_frame_bytes
            ));
        }
        if self.kafka_max_frame_bytes < 1024 {
            return Err(format!(
                "kafka_max_frame_bytes ({}) must be at least 1024",
                self.kafka_max_frame_bytes
            ));
        }
        if self.cluster_name.is_empty() {
            return Err("cluster_name is empty".into());
        }
        if self.offsets_topic_num_partitions == 0 {
            return Err("offsets_topic_num_partitions must be at least 1".into());
        }
        if self.offsets_topic_replication_factor == 0 {
            return Err("offsets_topic_replication_factor must be at least 1".into());
        }
        if self.transaction_state_num_partitions == 0 {
            return Err("transaction_state_num_partitions must be at least 1".into());
        }
        if self.transaction_state_replication_factor == 0 {
            return Err("transaction_state_replication_factor must be at least 1".into());
        }
        if self.transaction_max_timeout_ms == 0 || self.transaction_max_timeout_ms > i32::MAX as u32
        {
            return Err(format!(
                "transaction_max_timeout_ms ({}) must be between 1 and {}",
                self.transaction_max_timeout_ms,
                i32::MAX
            ));
        }
        if self.transactional_id_expiration_ms == 0 {
            return Err("transactional_id_expiration_ms must be at least 1".into());
        }
        // The coordinator names Kafka's dotted keys (its reasons hold keys and
        // integers only); the broker's keys are snake_case.
        self.group_coordinator().validate().map_err(|e| match e {
            CoordinatorError::InvalidConfig { field, reason } => {
                format!("{field} {reason}").replace('.', "_")
            }
            other => other.to_string(),
        })?;
        Ok(())
    }

    /// The address to bind for a `host:port` listener setting.
    pub fn bind_addr(addr: &str) -> Result<SocketAddr, String> {
        use std::net::ToSocketAddrs;
        addr.to_socket_addrs()
            .map_err(|e| format!("cannot resolve '{addr}': {e}"))?
            .next()
            .ok_or_else(|| format!("'{addr}' resolves to no address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> BrokerConfig {
        BrokerConfig {
            id: 2,
            raft_addr: "127.0.0.1:19093".into(),
            kafka_addr: "127.0.0.1:9093".into(),
            admin_addr: "127.0.0.1:9645".into(),
            seeds: parse_seeds("1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094").unwrap(),
            ..BrokerConfig::default()
        }
    }

    #[test]
    fn valid_config_passes_and_voters_default_to_seeds() {
        let c = three();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.voters(), vec![1, 2, 3]);
        assert_eq!(BrokerConfig::default().voters(), vec![1]);
    }

    #[test]
    fn seeds_parse_and_name_bad_input() {
        assert_eq!(parse_seeds("").unwrap(), vec![]);
        assert!(parse_seeds("1@h:1,x@h:2")
            .unwrap_err()
            .contains("'x' is not a broker id"));
        assert!(parse_seeds("1-h:1").unwrap_err().contains("ID@HOST:PORT"));
        assert!(parse_seeds("1@h:port")
            .unwrap_err()
            .contains("invalid port 'port'"));
        assert!(parse_ids("1,2,three").unwrap_err().contains("'three'"));
    }

    #[test]
    fn invalid_settings_are_named() {
        let cases: Vec<(BrokerConfig, &str)> = vec![
            (
                BrokerConfig {
                    kafka_addr: "nohost".into(),
                    ..three()
                },
                "kafka_addr 'nohost'",
            ),
            (
                BrokerConfig {
                    admin_addr: "127.0.0.1:9093".into(),
                    ..three()
                },
                "must differ",
            ),
            (
                BrokerConfig {
                    controller_voters: vec![1, 9],
                    ..three()
                },
                "controller voter 9 is not in seeds",
            ),
            (
                BrokerConfig {
                    raft_addr: "127.0.0.1:1".into(),
                    ..three()
                },
                "its address differs",
            ),
            (
                BrokerConfig {
                    session_timeout_ms: 300,
                    ..three()
                },
                "session_timeout_ms (300)",
            ),
            (
                BrokerConfig {
                    data_dir: PathBuf::new(),
                    ..three()
                },
                "data_dir",
            ),
            (
                BrokerConfig {
                    offsets_topic_num_partitions: 0,
                    ..three()
                },
                "offsets_topic_num_partitions",
            ),
            (
                BrokerConfig {
                    group_min_session_timeout_ms: 60_000,
                    group_max_session_timeout_ms: 30_000,
                    ..three()
                },
                "group_max_session_timeout_ms 30000 is below group_min_session_timeout_ms 60000",
            ),
            (
                BrokerConfig {
                    offsets_retention_minutes: 0,
                    ..three()
                },
                "offsets_retention_minutes must be at least 1",
            ),
        ];
        for (config, expected) in cases {
            let e = config.validate().unwrap_err();
            assert!(e.contains(expected), "expected '{expected}' in '{e}'");
        }
        let mut dup = three();
        dup.seeds.push(Seed {
            id: 1,
            addr: "127.0.0.1:5".into(),
        });
        assert!(dup.validate().unwrap_err().contains("twice"));
    }

    #[test]
    fn group_settings_reach_the_coordinator_config() {
        let c: BrokerConfig = toml::from_str(
            "group_initial_rebalance_delay_ms = 0\ngroup_max_size = 5\noffsets_retention_minutes = 60\n",
        )
        .unwrap();
        let groups = c.group_coordinator();
        assert_eq!(groups.group_initial_rebalance_delay_ms, 0);
        assert_eq!(groups.group_max_size, 5);
        assert_eq!(groups.offsets_retention_ms(), 3_600_000);
        assert_eq!(
            BrokerConfig::default().group_coordinator(),
            GroupCoordinatorConfig::default(),
            "the broker's defaults are Kafka's"
        );
    }

    #[test]
    fn toml_rejects_unknown_keys() {
        let e = toml::from_str::<BrokerConfig>("id = 1\nbogus = 2\n");
        assert!(e.is_err());
        let c: BrokerConfig =
            toml::from_str("id = 3\nseeds = [{ id = 3, addr = \"127.0.0.1:19092\" }]\n").unwrap();
        assert_eq!(c.id, 3);
    }
}

#[cfg(test)]
mod example_configs {
    use super::*;

    #[test]
    fn example_cluster_configs_load_and_validate() {
        for (i, text) in [
            include_str!("../../../config/broker-1.toml"),
            include_str!("../../../config/broker-2.toml"),
            include_str!("../../../config/broker-3.toml"),
        ]
        .into_iter()
        .enumerate()
        {
            let config: BrokerConfig =
                toml::from_str(text).unwrap_or_else(|e| panic!("broker-{}.toml: {e}", i + 1));
            assert_eq!(config.id, i as u64 + 1);
            assert_eq!(config.validate(), Ok(()), "broker-{}.toml", i + 1);
            assert_eq!(config.voters(), vec![1, 2, 3]);
        }
    }
}
