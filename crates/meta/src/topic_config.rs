//! Topic configs: the keys Cairn knows, Kafka's defaults, and validation.

use std::collections::BTreeMap;

/// A topic config key Cairn understands, with its default and value kind.
#[derive(Clone, Copy, Debug)]
pub struct ConfigKey {
    /// The Kafka name of the config.
    pub name: &'static str,
    /// Kafka's default value.
    pub default: &'static str,
    kind: ValueKind,
    /// The broker config that sets this key's default for every topic
    /// (Kafka's synonym: `log.retention.ms` for `retention.ms`), if the
    /// broker describes one.
    pub broker_synonym: Option<&'static str>,
    /// What the config means in Kafka and what Cairn does with it.
    pub doc: &'static str,
}

#[derive(Clone, Copy, Debug)]
enum ValueKind {
    /// A 32-bit integer >= min.
    Int { min: i32 },
    /// A 64-bit integer >= min.
    Long { min: i64 },
    /// A number in [min, max].
    Double { min: f64, max: f64 },
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of words from a fixed set, at least one.
    ListOf(&'static [&'static str]),
    /// A comma-separated list of anything (replica lists).
    List,
    /// Any string (versions).
    Text,
}

/// A config's value type, as Kafka describes it (DescribeConfigs v3+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `true` or `false`.
    Boolean,
    /// Any string, or one of a set of words.
    String,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer.
    Long,
    /// A floating-point number.
    Double,
    /// A comma-separated list.
    List,
}

impl ConfigKey {
    /// The type Kafka gives this config.
    pub fn value_type(&self) -> ValueType {
        match self.kind {
            ValueKind::Int { .. } => ValueType::Int,
            ValueKind::Long { .. } => ValueType::Long,
            ValueKind::Double { .. } => ValueType::Double,
            ValueKind::Bool => ValueType::Boolean,
            ValueKind::OneOf(_) | ValueKind::Text => ValueType::String,
            ValueKind::ListOf(_) | ValueKind::List => ValueType::List,
        }
    }
}

const LONG_MAX: &str = "9223372036854775807";

const fn key(
    name: &'static str,
    default: &'static str,
    kind: ValueKind,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        default,
        kind,
        broker_synonym: None,
        doc,
    }
}

/// A key whose default for every topic the broker config `broker` sets.
const fn broker_key(
    name: &'static str,
    broker: &'static str,
    default: &'static str,
    kind: ValueKind,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        broker_synonym: Some(broker),
        ..key(name, default, kind, doc)
    }
}

const NO_SEGMENTS: &str = "Kafka's log segment files. No effect in Cairn: there are no segment files; records live in RocksDB and retention deletes whole Raft entries.";
const NOT_RECOMPRESSED: &str = "The level of the topic's compression codec. Stored, not applied: Cairn never recompresses batches.";
const NO_COMPACTION: &str =
    "A log compaction setting. No effect in Cairn yet: topics are not compacted.";
const TIMESTAMPS_UNCHECKED: &str = "How far a record's timestamp may be from the broker's clock. Stored, not applied: Cairn does not check timestamps.";
const NO_THROTTLE: &str =
    "Replicas whose replication is throttled. No effect in Cairn: replication is not throttled.";
const NO_TIERED: &str = "Tiered storage. No effect in Cairn: there is no tiered storage.";
const FLUSH: &str = "Force an fsync after this many messages or milliseconds. No effect in Cairn: durability is the broker's log_fsync (every append, or none).";
const FORMAT: &str =
    "Old message formats. No effect in Cairn: only record batch format v2 (magic 2) is served.";

/// Every topic config Cairn accepts: Kafka's (3.9) with Kafka's defaults
/// and types. Which ones Cairn applies, and why the others have no effect
/// under Raft and RocksDB, is each key's `doc` and the README's "Topic
/// configs" table.
pub const TOPIC_CONFIGS: &[ConfigKey] = &[
    broker_key(
        "cleanup.policy",
        "log.cleanup.policy",
        "delete",
        ValueKind::ListOf(&["delete", "compact"]),
        "delete: retention.ms and retention.bytes delete old records. compact: Kafka keeps the latest record of each key; Cairn does not compact yet and keeps every record of a compact-only topic.",
    ),
    key(
        "compression.type",
        "producer",
        ValueKind::OneOf(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]),
        "The codec the broker stores batches in. Stored, not applied: Cairn keeps batches as produced (producer).",
    ),
    key("compression.gzip.level", "-1", ValueKind::Int { min: -1 }, NOT_RECOMPRESSED),
    key("compression.lz4.level", "9", ValueKind::Int { min: 1 }, NOT_RECOMPRESSED),
    key(
        "compression.zstd.level",
        "3",
        ValueKind::Int { min: -131_072 },
        NOT_RECOMPRESSED,
    ),
    key(
        "delete.retention.ms",
        "86400000",
        ValueKind::Long { min: 0 },
        NO_COMPACTION,
    ),
    key(
        "file.delete.delay.ms",
        "60000",
        ValueKind::Long { min: 0 },
        NO_SEGMENTS,
    ),
    key("flush.messages", LONG_MAX, ValueKind::Long { min: 1 }, FLUSH),
    key("flush.ms", LONG_MAX, ValueKind::Long { min: 0 }, FLUSH),
    key(
        "follower.replication.throttled.replicas",
        "",
        ValueKind::List,
        NO_THROTTLE,
    ),
    key(
        "index.interval.bytes",
        "4096",
        ValueKind::Int { min: 0 },
        NO_SEGMENTS,
    ),
    key(
        "leader.replication.throttled.replicas",
        "",
        ValueKind::List,
        NO_THROTTLE,
    ),
    key("local.retention.bytes", "-2", ValueKind::Long { min: -2 }, NO_TIERED),
    key("local.retention.ms", "-2", ValueKind::Long { min: -2 }, NO_TIERED),
    key(
        "max.compaction.lag.ms",
        LONG_MAX,
        ValueKind::Long { min: 1 },
        NO_COMPACTION,
    ),
    broker_key(
        "max.message.bytes",
        "message.max.bytes",
        "1048588",
        ValueKind::Int { min: 0 },
        "The largest record batch the topic accepts. Applied: a larger batch gets MESSAGE_TOO_LARGE.",
    ),
    key("message.downconversion.enable", "true", ValueKind::Bool, FORMAT),
    key("message.format.version", "3.0-IV1", ValueKind::Text, FORMAT),
    key(
        "message.timestamp.after.max.ms",
        LONG_MAX,
        ValueKind::Long { min: 0 },
        TIMESTAMPS_UNCHECKED,
    ),
    key(
        "message.timestamp.before.max.ms",
        LONG_MAX,
        ValueKind::Long { min: 0 },
        TIMESTAMPS_UNCHECKED,
    ),
    key(
        "message.timestamp.difference.max.ms",
        LONG_MAX,
        ValueKind::Long { min: 0 },
        TIMESTAMPS_UNCHECKED,
    ),
    key(
        "message.timestamp.type",
        "CreateTime",
        ValueKind::OneOf(&["CreateTime", "LogAppendTime"]),
        "Whose timestamp records carry. Stored, not applied: timestamps are the producer's (CreateTime).",
    ),
    key(
        "min.cleanable.dirty.ratio",
        "0.5",
        ValueKind::Double { min: 0.0, max: 1.0 },
        NO_COMPACTION,
    ),
    key(
        "min.compaction.lag.ms",
        "0",
        ValueKind::Long { min: 0 },
        NO_COMPACTION,
    ),
    key(
        "min.insync.replicas",
        "1",
        ValueKind::Int { min: 1 },
        "The replicas an acks=all write must reach. No effect in Cairn: an acks=all write always waits for a majority of the replicas (the partition's Raft quorum).",
    ),
    key("preallocate", "false", ValueKind::Bool, NO_SEGMENTS),
    key("remote.storage.enable", "false", ValueKind::Bool, NO_TIERED),
    broker_key(
        "retention.bytes",
        "log.retention.bytes",
        "-1",
        ValueKind::Long { min: -1 },
        "The most bytes a partition keeps before its oldest records are deleted; -1 is no limit. Applied, per partition.",
    ),
    broker_key(
        "retention.ms",
        "log.retention.ms",
        "604800000",
        ValueKind::Long { min: -1 },
        "How long records are kept before they are deleted; -1 keeps them forever. Applied.",
    ),
    key(
        "segment.bytes",
        "1073741824",
        ValueKind::Int { min: 14 },
        NO_SEGMENTS,
    ),
    key(
        "segment.index.bytes",
        "10485760",
        ValueKind::Int { min: 4 },
        NO_SEGMENTS,
    ),
    key("segment.jitter.ms", "0", ValueKind::Long { min: 0 }, NO_SEGMENTS),
    key("segment.ms", "604800000", ValueKind::Long { min: 1 }, NO_SEGMENTS),
    key(
        "unclean.leader.election.enable",
        "false",
        ValueKind::Bool,
        "Whether a replica that lacks committed records may become leader. No effect in Cairn: Raft never elects such a replica.",
    ),
];

/// Whether a topic with this `cleanup.policy` has its records deleted by
/// `retention.ms`/`retention.bytes`: only if the policy includes `delete`.
/// A `compact`-only topic keeps its records forever, as Kafka keeps at least
/// the latest record of every key of one; Cairn does not compact yet, so it
/// keeps them all.
pub fn deletes_by_retention(cleanup_policy: &str) -> bool {
    cleanup_policy.split(',').any(|p| p.trim() == "delete")
}

/// Checks one `key=value` against the known configs; the error names both.
pub fn validate_config(key: &str, value: &str) -> Result<(), String> {
    let Some(spec) = TOPIC_CONFIGS.iter().find(|c| c.name == key) else {
        let known: Vec<&str> = TOPIC_CONFIGS.iter().map(|c| c.name).collect();
        return Err(format!(
            "unknown topic config '{key}' (known: {})",
            known.join(", ")
        ));
    };
    match spec.kind {
        ValueKind::Int { min } => match value.trim().parse::<i32>() {
            Ok(v) if v >= min => Ok(()),
            Ok(v) => Err(format!("config {key}={v} is below the minimum {min}")),
            Err(_) => Err(format!("config {key}='{value}' is not a 32-bit integer")),
        },
        ValueKind::Long { min } => match value.trim().parse::<i64>() {
            Ok(v) if v >= min => Ok(()),
            Ok(v) => Err(format!("config {key}={v} is below the minimum {min}")),
            Err(_) => Err(format!("config {key}='{value}' is not an integer")),
        },
        ValueKind::Double { min, max } => match value.trim().parse::<f64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(()),
            Ok(_) => Err(format!("config {key}={value} is outside [{min}, {max}]")),
            Err(_) => Err(format!("config {key}='{value}' is not a number")),
        },
        ValueKind::Bool => match value.trim() {
            "true" | "false" => Ok(()),
            _ => Err(format!("config {key}='{value}' must be true or false")),
        },
        ValueKind::OneOf(words) if words.contains(&value) => Ok(()),
        ValueKind::OneOf(words) => Err(format!(
            "config {key}='{value}' must be one of {}",
            words.join(", ")
        )),
        ValueKind::ListOf(words) => {
            let items: Vec<&str> = value.split(',').map(str::trim).collect();
            if items.iter().all(|i| words.contains(i)) {
                Ok(())
            } else {
                Err(format!(
                    "config {key}='{value}' must be a comma-separated list of {}",
                    words.join(", ")
                ))
            }
        }
        ValueKind::List | ValueKind::Text => Ok(()),
    }
}

/// Validates every override.
pub fn validate_configs(configs: &BTreeMap<String, String>) -> Result<(), String> {
    configs.iter().try_for_each(|(k, v)| validate_config(k, v))
}

/// Where a topic config's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Set on the topic.
    Topic,
    /// The broker's config sets every topic's default.
    Broker,
    /// Kafka's default.
    Default,
}

/// One config of a topic as DescribeConfigs reports it.
#[derive(Clone, Debug)]
pub struct DescribedConfig {
    /// The key.
    pub key: &'static ConfigKey,
    /// The effective value.
    pub value: String,
    /// Where it comes from.
    pub source: Source,
    /// Every level that has a value for it, as (name at that level, value,
    /// level), the effective one first: the topic's override, the broker's
    /// default, Kafka's default.
    pub synonyms: Vec<(&'static str, String, Source)>,
}

/// Every known config of a topic: overridden where set, else the broker's
/// default (`broker_defaults`, by topic key) where it differs from Kafka's,
/// else Kafka's.
pub fn describe_configs(
    overrides: &BTreeMap<String, String>,
    broker_defaults: &BTreeMap<String, String>,
) -> Vec<DescribedConfig> {
    TOPIC_CONFIGS
        .iter()
        .map(|c| {
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(c.name) {
                synonyms.push((c.name, v.clone(), Source::Topic));
            }
            let broker_name = c.broker_synonym.unwrap_or(c.name);
            if let Some(v) = broker_defaults.get(c.name).filter(|v| *v != c.default) {
                synonyms.push((broker_name, v.clone(), Source::Broker));
            }
            synonyms.push((broker_name, c.default.to_string(), Source::Default));
            let (_, value, source) = synonyms[0].clone();
            DescribedConfig {
                key: c,
                value,
                source,
                synonyms,
            }
        })
        .collect()
}

/// The effective configs of a topic: every known key, overridden where set,
/// else the broker's default (`broker_defaults`, by topic key), else Kafka's.
/// The bool says whether the value was set on the topic (not a default).
pub fn effective_configs(
    overrides: &BTreeMap<String, String>,
    broker_defaults: &BTreeMap<String, String>,
) -> BTreeMap<String, (String, bool)> {
    describe_configs(overrides, broker_defaults)
        .into_iter()
        .map(|c| (c.key.name.to_string(), (c.value, c.source == Source::Topic)))
        .collect()
}

/// The effective value of one config of a topic (as [`effective_configs`]
/// gives it, without describing every other key); None for an unknown key.
pub fn effective_config(
    key: &str,
    overrides: &BTreeMap<String, String>,
    broker_defaults: &BTreeMap<String, String>,
) -> Option<String> {
    let known = TOPIC_CONFIGS.iter().find(|c| c.name == key)?;
    let value = overrides
        .get(key)
        .or_else(|| broker_defaults.get(key))
        .map_or(known.default, String::as_str);
    Some(value.to_string())
}

/// Kafka's topic name rules: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name.len() > 249 {
        return Err(format!("topic name '{name}' is longer than 249 characters"));
    }
    if name == "." || name == ".." {
        return Err(format!("topic name '{name}' is not allowed"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("topic name '{name}' contains '{bad}'; allowed are ASCII letters, digits, '.', '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_effective_config_is_what_all_of_them_say() {
        let overrides = BTreeMap::from([("max.message.bytes".to_string(), "2048".to_string())]);
        let defaults = BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]);
        let all = effective_configs(&overrides, &defaults);
        for key in [
            "max.message.bytes",
            "retention.ms",
            "retention.bytes",
            "cleanup.policy",
        ] {
            assert_eq!(
                effective_config(key, &overrides, &defaults).as_ref(),
                Some(&all[key].0),
                "{key}"
            );
        }
        assert_eq!(
            effective_config("retention.hours", &overrides, &defaults),
            None
        );
    }

    #[test]
    fn defaults_match_kafka() {
        let eff = effective_configs(&BTreeMap::new(), &BTreeMap::new());
        assert_eq!(eff["retention.ms"], ("604800000".to_string(), false));
        assert_eq!(eff["retention.bytes"], ("-1".to_string(), false));
        assert_eq!(eff["cleanup.policy"], ("delete".to_string(), false));
        assert_eq!(eff["max.message.bytes"], ("1048588".to_string(), false));
    }

    #[test]
    fn overrides_win() {
        let broker = BTreeMap::from([("retention.ms".to_string(), "5000".to_string())]);
        let eff = effective_configs(
            &BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]),
            &broker,
        );
        assert_eq!(eff["retention.ms"], ("1000".to_string(), true));
        // Unset on the topic: the broker's default, then Kafka's.
        let eff = effective_configs(&BTreeMap::new(), &broker);
        assert_eq!(eff["retention.ms"], ("5000".to_string(), false));
        assert_eq!(eff["retention.bytes"], ("-1".to_string(), false));
    }

    #[test]
    fn described_configs_name_their_source_and_synonyms() {
        let described = describe_configs(
            &BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]),
            &BTreeMap::from([
                ("retention.ms".to_string(), "5000".to_string()),
                // A broker default equal to Kafka's is reported as Kafka's.
                ("retention.bytes".to_string(), "-1".to_string()),
            ]),
        );
        let get = |name: &str| described.iter().find(|c| c.key.name == name).unwrap();
        let ms = get("retention.ms");
        assert_eq!((ms.value.as_str(), ms.source), ("1000", Source::Topic));
        assert_eq!(
            ms.synonyms,
            vec![
                ("retention.ms", "1000".to_string(), Source::Topic),
                ("log.retention.ms", "5000".to_string(), Source::Broker),
                ("log.retention.ms", "604800000".to_string(), Source::Default),
            ]
        );
        let bytes = get("retention.bytes");
        assert_eq!(
            (bytes.value.as_str(), bytes.source),
            ("-1", Source::Default)
        );
        assert_eq!(bytes.synonyms.len(), 1);
        assert_eq!(bytes.key.value_type(), ValueType::Long);
        assert_eq!(get("segment.bytes").key.value_type(), ValueType::Int);
        assert_eq!(get("cleanup.policy").key.value_type(), ValueType::List);
        assert_eq!(get("preallocate").key.value_type(), ValueType::Boolean);
        assert_eq!(
            get("message.timestamp.type").key.value_type(),
            ValueType::String
        );
        assert!(TOPIC_CONFIGS.iter().all(|c| !c.doc.is_empty()));
    }

    #[test]
    fn int_configs_must_fit_32_bits() {
        assert!(validate_config("segment.bytes", "2147483647").is_ok());
        let e = validate_config("segment.bytes", "2147483648").unwrap_err();
        assert!(e.contains("not a 32-bit integer"), "{e}");
        assert!(validate_config("leader.replication.throttled.replicas", "0:1,1:2").is_ok());
    }

    #[test]
    fn bad_values_are_named() {
        assert!(validate_config("retention.ms", "-1").is_ok());
        let e = validate_config("retention.ms", "soon").unwrap_err();
        assert!(e.contains("retention.ms") && e.contains("soon"), "{e}");
        let e = validate_config("retention.ms", "-5").unwrap_err();
        assert!(e.contains("minimum"), "{e}");
        let e = validate_config("retention.hours", "1").unwrap_err();
        assert!(e.contains("unknown topic config 'retention.hours'"), "{e}");
        let e = validate_config("cleanup.policy", "shred").unwrap_err();
        assert!(e.contains("comma-separated list of delete, compact"), "{e}");
        assert!(validate_config("cleanup.policy", "compact,delete").is_ok());
        let e = validate_config("min.cleanable.dirty.ratio", "1.5").unwrap_err();
        assert!(e.contains("outside [0, 1]"), "{e}");
        let e = validate_config("preallocate", "yes").unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        assert!(validate_config("min.insync.replicas", "0").is_err());
        assert!(validate_config("leader.replication.throttled.replicas", "0:1,1:2").is_ok());
    }

    #[test]
    fn every_kafka_topic_config_is_known_with_a_valid_default() {
        for c in TOPIC_CONFIGS {
            assert!(
                validate_config(c.name, c.default).is_ok() || c.default.is_empty(),
                "{} default {}",
                c.name,
                c.default
            );
        }
        for name in [
            "delete.retention.ms",
            "min.insync.replicas",
            "unclean.leader.election.enable",
            "message.timestamp.difference.max.ms",
            "min.compaction.lag.ms",
            "segment.jitter.ms",
        ] {
            assert!(TOPIC_CONFIGS.iter().any(|c| c.name == name), "{name}");
        }
    }

    #[test]
    fn only_a_delete_policy_deletes_by_retention() {
        assert!(deletes_by_retention("delete"));
        assert!(deletes_by_retention("compact,delete"));
        assert!(deletes_by_retention("delete, compact"));
        assert!(!deletes_by_retention("compact"));
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("trucks.v1_a-b").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("has space")
            .unwrap_err()
            .contains("' '"));
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }
}
