//! Settings of consumer (KIP-848) groups, named after Kafka's
//! `group.consumer.*` broker configs, with Kafka's defaults.
//!
//! They are a struct of their own rather than fields of
//! [`GroupCoordinatorConfig`](crate::GroupCoordinatorConfig) because that one
//! travels in `Event::Configure` entries already on disk (bincode, which
//! cannot grow a struct); these travel in
//! [`Event::ConfigureConsumerGroups`](crate::Event::ConfigureConsumerGroups).

use serde::{Deserialize, Serialize};

use crate::error::CoordinatorError;

/// The server-side assignor names Cairn has.
pub const ASSIGNORS: [&str; 2] = [UNIFORM_ASSIGNOR, RANGE_ASSIGNOR];
/// Kafka's `uniform` assignor: balanced and sticky.
pub const UNIFORM_ASSIGNOR: &str = "uniform";
/// Kafka's `range` assignor: co-partitioned ranges per topic.
pub const RANGE_ASSIGNOR: &str = "range";

/// Settings of consumer groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerGroupConfig {
    /// `group.consumer.session.timeout.ms`: a member that sends no heartbeat
    /// for this long is removed from its group.
    pub session_timeout_ms: u32,
    /// `group.consumer.heartbeat.interval.ms`: how often members heartbeat.
    pub heartbeat_interval_ms: u32,
    /// `group.consumer.max.size`: the most members a group may hold.
    pub max_size: u32,
    /// `group.consumer.assignors`: the server-side assignors members may
    /// name; the first is the default.
    pub assignors: Vec<String>,
}

impl Default for ConsumerGroupConfig {
    fn default() -> Self {
        Self {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_size: u32::MAX,
            assignors: ASSIGNORS.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

impl ConsumerGroupConfig {
    /// The assignor a group uses when no member names one.
    pub fn default_assignor(&self) -> &str {
        self.assignors
            .first()
            .map_or(UNIFORM_ASSIGNOR, String::as_str)
    }

    /// Refuses settings Kafka refuses, naming the setting and the value.
    pub fn validate(&self) -> Result<(), CoordinatorError> {
        let refuse = |field: &str, reason: String| {
            Err(CoordinatorError::InvalidConfig {
                field: field.to_owned(),
                reason,
            })
        };
        if self.heartbeat_interval_ms == 0 {
            return refuse(
                "group.consumer.heartbeat.interval.ms",
                "must be at least 1".into(),
            );
        }
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            return refuse(
                "group.consumer.heartbeat.interval.ms",
                format!(
                    "{} must be below group.consumer.session.timeout.ms {}",
                    self.heartbeat_interval_ms, self.session_timeout_ms
                ),
            );
        }
        if self.max_size == 0 {
            return refuse("group.consumer.max.size", "must be at least 1".into());
        }
        if self.assignors.is_empty() {
            return refuse("group.consumer.assignors", "names no assignor".into());
        }
        if let Some(unknown) = self
            .assignors
            .iter()
            .find(|a| !ASSIGNORS.contains(&a.as_str()))
        {
            return refuse(
                "group.consumer.assignors",
                format!(
                    "unknown assignor {unknown:?} (known: {})",
                    ASSIGNORS.join(", ")
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_kafkas_and_valid() {
        let config = ConsumerGroupConfig::default();
        assert_eq!(config.session_timeout_ms, 45_000);
        assert_eq!(config.heartbeat_interval_ms, 5_000);
        assert_eq!(config.default_assignor(), "uniform");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn contradictory_settings_are_refused() {
        let slow_heartbeat = ConsumerGroupConfig {
            heartbeat_interval_ms: 45_000,
            ..ConsumerGroupConfig::default()
        };
        assert!(slow_heartbeat.validate().is_err());
        let unknown = ConsumerGroupConfig {
            assignors: vec!["sticky".into()],
            ..ConsumerGroupConfig::default()
        };
        assert!(unknown.validate().is_err());
        let none = ConsumerGroupConfig {
            assignors: Vec::new(),
            ..ConsumerGroupConfig::default()
        };
        assert!(none.validate().is_err());
    }
}
