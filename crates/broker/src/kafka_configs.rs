//! The configs DescribeConfigs reports: a topic's (every key Kafka knows,
//! with its source, synonyms, type and what Cairn does with it) and this
//! broker's (under Kafka's names, each saying which Cairn setting sets it).

use std::collections::BTreeMap;

use cairn_kafka::{ConfigEntry, ConfigSource, ConfigSynonym, ConfigType};
use cairn_meta::topic_config::{describe_configs, Source, ValueType, TOPIC_CONFIGS};

use crate::config::BrokerConfig;
use crate::kafka_admin::default_replication_factor;
use crate::shared::Core;

fn source(source: Source) -> ConfigSource {
    match source {
        Source::Topic => ConfigSource::Topic,
        Source::Broker => ConfigSource::StaticBroker,
        Source::Default => ConfigSource::Default,
    }
}

fn config_type(value_type: ValueType) -> ConfigType {
    match value_type {
        ValueType::Boolean => ConfigType::Boolean,
        ValueType::String => ConfigType::String,
        ValueType::Int => ConfigType::Int,
        ValueType::Long => ConfigType::Long,
        ValueType::Double => ConfigType::Double,
        ValueType::List => ConfigType::List,
    }
}

/// Every config of topic `name`, `None` if it does not exist.
pub fn topic_configs(core: &Core, name: &str) -> Option<Vec<ConfigEntry>> {
    let overrides = core
        .meta()
        .reader
        .read(|s| s.topics.get(name).map(|t| t.configs.clone()))?;
    Some(configs_with(core, &overrides))
}

/// Every config of a topic with these overrides.
pub fn configs_with(core: &Core, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
    describe_configs(overrides, &core.topic_defaults())
        .into_iter()
        .map(|c| ConfigEntry {
            name: c.key.name.to_string(),
            value: Some(c.value),
            source: source(c.source),
            config_type: config_type(c.key.value_type()),
            read_only: false,
            documentation: c.key.doc.to_string(),
            synonyms: c
                .synonyms
                .into_iter()
                .map(|(name, value, level)| ConfigSynonym {
                    name: name.to_string(),
                    value: Some(value),
                    source: source(level),
                })
                .collect(),
        })
        .collect()
}

/// Kafka's default of a topic config, from the one table of topic configs.
fn topic_default(key: &str) -> String {
    TOPIC_CONFIGS
        .iter()
        .find(|c| c.name == key)
        .map(|c| c.default.to_string())
        .unwrap_or_default()
}

/// One broker config: set in the broker's config (static) unless `default`.
fn broker_entry(
    name: &str,
    value: String,
    default: bool,
    config_type: ConfigType,
    documentation: &str,
) -> ConfigEntry {
    let source = if default {
        ConfigSource::Default
    } else {
        ConfigSource::StaticBroker
    };
    ConfigEntry {
        name: name.to_string(),
        synonyms: vec![ConfigSynonym {
            name: name.to_string(),
            value: Some(value.clone()),
            source,
        }],
        value: Some(value),
        source,
        config_type,
        // Cairn's broker configs are static: set in the config file, flags
        // or environment, and read at start.
        read_only: true,
        documentation: documentation.to_string(),
    }
}

/// This broker's configs, under Kafka's names.
pub fn broker_configs(core: &Core) -> Vec<ConfigEntry> {
    use ConfigType::{Boolean, Int, List, Long, Short, String as Text};
    let c = core.config();
    let d = BrokerConfig::default();
    let listener = format!("PLAINTEXT://{}", c.kafka_addr);
    let mut configs = vec![
        broker_entry("broker.id", c.id.to_string(), false, Int, "This broker's id. Cairn: id."),
        broker_entry(
            "broker.rack",
            c.rack.clone().unwrap_or_default(),
            c.rack.is_none(),
            Text,
            "This broker's rack, for rack-aware replica placement. Cairn: rack.",
        ),
        broker_entry(
            "num.partitions",
            c.num_partitions.to_string(),
            c.num_partitions == d.num_partitions,
            Int,
            "Partitions of a topic created without a count (auto-created, or CreateTopics with -1). Cairn: num_partitions.",
        ),
        broker_entry(
            "default.replication.factor",
            default_replication_factor(core).to_string(),
            c.default_replication_factor.is_none(),
            Int,
            "Replication factor of a topic created without one. Cairn: default_replication_factor; unset, 3 or the live brokers if fewer.",
        ),
        broker_entry(
            "auto.create.topics.enable",
            c.auto_create_topics_enable.to_string(),
            c.auto_create_topics_enable == d.auto_create_topics_enable,
            Boolean,
            "Whether a Metadata request for a missing topic creates it, when the client allows it. Cairn: auto_create_topics_enable.",
        ),
        broker_entry(
            "message.max.bytes",
            topic_default("max.message.bytes"),
            true,
            Int,
            "The default max.message.bytes of topics. Fixed at Kafka's default in Cairn.",
        ),
        broker_entry(
            "socket.request.max.bytes",
            c.kafka_max_frame_bytes.to_string(),
            c.kafka_max_frame_bytes == d.kafka_max_frame_bytes,
            Int,
            "The largest Kafka request accepted; a larger one closes the connection. Cairn: kafka_max_frame_bytes.",
        ),
        broker_entry(
            "log.retention.ms",
            c.log_retention_ms.to_string(),
            c.log_retention_ms == d.log_retention_ms,
            Long,
            "The default retention.ms of topics. Cairn: log_retention_ms.",
        ),
        broker_entry(
            "log.retention.bytes",
            c.log_retention_bytes.to_string(),
            c.log_retention_bytes == d.log_retention_bytes,
            Long,
            "The default retention.bytes of topics. Cairn: log_retention_bytes.",
        ),
        broker_entry(
            "log.retention.check.interval.ms",
            c.log_retention_check_interval_ms.to_string(),
            c.log_retention_check_interval_ms == d.log_retention_check_interval_ms,
            Long,
            "How often retention is applied. Cairn: log_retention_check_interval_ms.",
        ),
        // Kafka's name for "fsync after every N messages": 1 with fsync, never without.
        broker_entry(
            "log.flush.interval.messages",
            if c.log_fsync { "1" } else { "9223372036854775807" }.into(),
            c.log_fsync == d.log_fsync,
            Long,
            "Messages between fsyncs: 1 when every Raft log append is fsynced before it is acknowledged, never otherwise. Cairn: log_fsync.",
        ),
        broker_entry(
            "log.cleanup.policy",
            topic_default("cleanup.policy"),
            true,
            List,
            "The default cleanup.policy of topics. Fixed at Kafka's default in Cairn.",
        ),
        // Kafka's default listener is PLAINTEXT://:9092 on every interface;
        // a Cairn broker's is always the kafka_addr of its config.
        broker_entry(
            "listeners",
            listener.clone(),
            false,
            Text,
            "The Kafka listener. Cairn: kafka_addr.",
        ),
        broker_entry(
            "advertised.listeners",
            listener,
            false,
            Text,
            "The Kafka listener Metadata tells clients to connect to. Cairn: kafka_addr, which is both listened on and advertised.",
        ),
        broker_entry(
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT".into(),
            true,
            Text,
            "Listener names to security protocols. Cairn has one plaintext listener.",
        ),
        broker_entry(
            "inter.broker.listener.name",
            "PLAINTEXT".into(),
            true,
            Text,
            "The listener brokers talk to each other on. Cairn's brokers use their Raft listener (raft_addr) instead.",
        ),
        broker_entry(
            "log.dirs",
            c.data_dir.display().to_string(),
            false,
            Text,
            "Where the broker keeps its data: one RocksDB. Cairn: data_dir.",
        ),
    ];
    configs.push(broker_entry(
        "auto.leader.rebalance.enable",
        c.auto_leader_rebalance_enable.to_string(),
        c.auto_leader_rebalance_enable == d.auto_leader_rebalance_enable,
        Boolean,
        "Whether the controller periodically moves leaderships back to preferred replicas. Cairn: auto_leader_rebalance_enable.",
    ));
    let numbers: [(&str, u64, u64, ConfigType, &str); 14] = [
        (
            "leader.imbalance.check.interval.seconds",
            c.leader_imbalance_check_interval_seconds,
            d.leader_imbalance_check_interval_seconds,
            Long,
            "How often the controller checks leader balance. Cairn: leader_imbalance_check_interval_seconds.",
        ),
        (
            "leader.imbalance.per.broker.percentage",
            c.leader_imbalance_per_broker_percentage.into(),
            d.leader_imbalance_per_broker_percentage.into(),
            Int,
            "The share of a broker's preferred partitions led elsewhere above which they are moved back. Cairn: leader_imbalance_per_broker_percentage.",
        ),
        (
            "offsets.topic.num.partitions",
            c.offsets_topic_num_partitions.into(),
            d.offsets_topic_num_partitions.into(),
            Int,
            "Partitions of __consumer_offsets. Cairn: offsets_topic_num_partitions.",
        ),
        (
            "offsets.topic.replication.factor",
            c.offsets_topic_replication_factor.into(),
            d.offsets_topic_replication_factor.into(),
            Short,
            "Replication factor of __consumer_offsets. Cairn: offsets_topic_replication_factor.",
        ),
        (
            "transaction.state.log.num.partitions",
            c.transaction_state_num_partitions.into(),
            d.transaction_state_num_partitions.into(),
            Int,
            "Partitions of __transaction_state. Cairn: transaction_state_num_partitions.",
        ),
        (
            "transaction.state.log.replication.factor",
            c.transaction_state_replication_factor.into(),
            d.transaction_state_replication_factor.into(),
            Short,
            "Replication factor of __transaction_state. Cairn: transaction_state_replication_factor.",
        ),
        (
            "transaction.max.timeout.ms",
            c.transaction_max_timeout_ms.into(),
            d.transaction_max_timeout_ms.into(),
            Int,
            "The longest transaction timeout a producer may ask for. Cairn: transaction_max_timeout_ms.",
        ),
        (
            "transactional.id.expiration.ms",
            c.transactional_id_expiration_ms,
            d.transactional_id_expiration_ms,
            Int,
            "How long an unused transactional id is kept. Cairn: transactional_id_expiration_ms.",
        ),
        (
            "group.min.session.timeout.ms",
            c.group_min_session_timeout_ms.into(),
            d.group_min_session_timeout_ms.into(),
            Int,
            "The shortest session a group member may ask for. Cairn: group_min_session_timeout_ms.",
        ),
        (
            "group.max.session.timeout.ms",
            c.group_max_session_timeout_ms.into(),
            d.group_max_session_timeout_ms.into(),
            Int,
            "The longest session a group member may ask for. Cairn: group_max_session_timeout_ms.",
        ),
        (
            "group.initial.rebalance.delay.ms",
            c.group_initial_rebalance_delay_ms.into(),
            d.group_initial_rebalance_delay_ms.into(),
            Int,
            "How long a new group waits for more members before its first rebalance. Cairn: group_initial_rebalance_delay_ms.",
        ),
        (
            "offsets.retention.minutes",
            c.offsets_retention_minutes.into(),
            d.offsets_retention_minutes.into(),
            Int,
            "How long an empty group's committed offsets are kept. Cairn: offsets_retention_minutes.",
        ),
        (
            "offset.metadata.max.bytes",
            c.offset_metadata_max_bytes as u64,
            d.offset_metadata_max_bytes as u64,
            Int,
            "The longest metadata string an offset commit may carry. Cairn: offset_metadata_max_bytes.",
        ),
        (
            "producer.id.expiration.ms",
            c.producer_id_expiration_ms,
            d.producer_id_expiration_ms,
            Int,
            "How long a partition remembers an idle idempotent producer. Cairn: producer_id_expiration_ms.",
        ),
    ];
    for (name, value, default, config_type, doc) in numbers {
        configs.push(broker_entry(
            name,
            value.to_string(),
            value == default,
            config_type,
            doc,
        ));
    }
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_config_defaults_come_from_the_topic_config_table() {
        assert_eq!(topic_default("max.message.bytes"), "1048588");
        assert_eq!(topic_default("cleanup.policy"), "delete");
    }

    #[test]
    fn a_broker_config_is_static_unless_default() {
        let set = broker_entry("log.retention.ms", "5".into(), false, ConfigType::Long, "d");
        assert_eq!(set.source, ConfigSource::StaticBroker);
        assert!(set.read_only);
        assert_eq!(set.synonyms[0].source, ConfigSource::StaticBroker);
        let default = broker_entry("log.retention.ms", "5".into(), true, ConfigType::Long, "d");
        assert_eq!(default.source, ConfigSource::Default);
    }
}
