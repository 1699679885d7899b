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
}

#[derive(Clone, Copy, Debug)]
enum ValueKind {
    /// An integer >= min.
    Long { min: i64 },
    /// A number in [min, max].
    Double { min: f64, max: f64 },
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of words from a fixed set, at least one.
    ListOf(&'static [&'static str]),
    /// Any string (lists of replicas, versions).
    Text,
}

const LONG_MAX: &str = "9223372036854775807";

const fn key(name: &'static str, default: &'static str, kind: ValueKind) -> ConfigKey {
    ConfigKey {
        name,
        default,
        kind,
    }
}

/// Every topic config Cairn accepts: Kafka's (3.9) with Kafka's defaults.
/// Which ones Cairn applies, and why the others have no effect under Raft
/// and RocksDB, is the README's "Topic configs" table.
pub const TOPIC_CONFIGS: &[ConfigKey] = &[
    key(
        "cleanup.policy",
        "delete",
        ValueKind::ListOf(&["delete", "compact"]),
    ),
    key(
        "compression.type",
        "producer",
        ValueKind::OneOf(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]),
    ),
    key("compression.gzip.level", "-1", ValueKind::Long { min: -1 }),
    key("compression.lz4.level", "9", ValueKind::Long { min: 1 }),
    key(
        "compression.zstd.level",
        "3",
        ValueKind::Long { min: -131_072 },
    ),
    key(
        "delete.retention.ms",
        "86400000",
        ValueKind::Long { min: 0 },
    ),
    key("file.delete.delay.ms", "60000", ValueKind::Long { min: 0 }),
    key("flush.messages", LONG_MAX, ValueKind::Long { min: 1 }),
    key("flush.ms", LONG_MAX, ValueKind::Long { min: 0 }),
    key(
        "follower.replication.throttled.replicas",
        "",
        ValueKind::Text,
    ),
    key("index.interval.bytes", "4096", ValueKind::Long { min: 0 }),
    key("leader.replication.throttled.replicas", "", ValueKind::Text),
    key("local.retention.bytes", "-2", ValueKind::Long { min: -2 }),
    key("local.retention.ms", "-2", ValueKind::Long { min: -2 }),
    key(
        "max.compaction.lag.ms",
        LONG_MAX,
        ValueKind::Long { min: 1 },
    ),
    key("max.message.bytes", "1048588", ValueKind::Long { min: 0 }),
    key("message.downconversion.enable", "true", ValueKind::Bool),
    key("message.format.version", "3.0-IV1", ValueKind::Text),
    key(
        "message.timestamp.after.max.ms",
        LONG_MAX,
        ValueKind::Long { min: 0 },
    ),
    key(
        "message.timestamp.before.max.ms",
        LONG_MAX,
        ValueKind::Long { min: 0 },
    ),
    key(
        "message.timestamp.difference.max.ms",
        LONG_MAX,
        ValueKind::Long { min: 0 },
    ),
    key(
        "message.timestamp.type",
        "CreateTime",
        ValueKind::OneOf(&["CreateTime", "LogAppendTime"]),
    ),
    key(
        "min.cleanable.dirty.ratio",
        "0.5",
        ValueKind::Double { min: 0.0, max: 1.0 },
    ),
    key("min.compaction.lag.ms", "0", ValueKind::Long { min: 0 }),
    key("min.insync.replicas", "1", ValueKind::Long { min: 1 }),
    key("preallocate", "false", ValueKind::Bool),
    key("remote.storage.enable", "false", ValueKind::Bool),
    key("retention.bytes", "-1", ValueKind::Long { min: -1 }),
    key("retention.ms", "604800000", ValueKind::Long { min: -1 }),
    key("segment.bytes", "1073741824", ValueKind::Long { min: 14 }),
    key(
        "segment.index.bytes",
        "10485760",
        ValueKind::Long { min: 4 },
    ),
    key("segment.jitter.ms", "0", ValueKind::Long { min: 0 }),
    key("segment.ms", "604800000", ValueKind::Long { min: 1 }),
    key("unclean.leader.election.enable", "false", ValueKind::Bool),
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
        ValueKind::Text => Ok(()),
    }
}

/// Validates every override.
pub fn validate_configs(configs: &BTreeMap<String, String>) -> Result<(), String> {
    configs.iter().try_for_each(|(k, v)| validate_config(k, v))
}

/// The effective configs of a topic: every known key, overridden where set,
/// else the broker's default (`broker_defaults`, by topic key), else Kafka's.
/// The bool says whether the value was set on the topic (not a default).
pub fn effective_configs(
    overrides: &BTreeMap<String, String>,
    broker_defaults: &BTreeMap<String, String>,
) -> BTreeMap<String, (String, bool)> {
    TOPIC_CONFIGS
        .iter()
        .map(|c| {
            let value = overrides.get(c.name);
            let default = broker_defaults
                .get(c.name)
                .cloned()
                .unwrap_or_else(|| c.default.to_string());
            (
                c.name.to_string(),
                (value.cloned().unwrap_or(default), value.is_some()),
            )
        })
        .collect()
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
