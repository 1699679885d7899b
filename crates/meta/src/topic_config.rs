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
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
}

/// Every topic config Cairn accepts, with Kafka's defaults.
pub const TOPIC_CONFIGS: &[ConfigKey] = &[
    ConfigKey {
        name: "cleanup.policy",
        default: "delete",
        kind: ValueKind::OneOf(&["delete"]),
    },
    ConfigKey {
        name: "max.message.bytes",
        default: "1048588",
        kind: ValueKind::Long { min: 0 },
    },
    ConfigKey {
        name: "retention.bytes",
        default: "-1",
        kind: ValueKind::Long { min: -1 },
    },
    ConfigKey {
        name: "retention.ms",
        default: "604800000",
        kind: ValueKind::Long { min: -1 },
    },
    ConfigKey {
        name: "segment.bytes",
        default: "1073741824",
        kind: ValueKind::Long { min: 14 },
    },
    ConfigKey {
        name: "segment.ms",
        default: "604800000",
        kind: ValueKind::Long { min: 1 },
    },
    ConfigKey {
        name: "compression.type",
        default: "producer",
        kind: ValueKind::OneOf(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]),
    },
    ConfigKey {
        name: "message.timestamp.type",
        default: "CreateTime",
        kind: ValueKind::OneOf(&["CreateTime", "LogAppendTime"]),
    },
];

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
        ValueKind::OneOf(words) if words.contains(&value) => Ok(()),
        ValueKind::OneOf(words) => Err(format!(
            "config {key}='{value}' must be one of {}",
            words.join(", ")
        )),
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
        let e = validate_config("cleanup.policy", "compact").unwrap_err();
        assert!(e.contains("must be one of"), "{e}");
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
