//! The coordinator's settings, named after the Kafka broker configs they
//! mirror, with Kafka's defaults. Every replica must apply entries with the
//! same config, or their decisions diverge: the config is part of the
//! serialized state, and changing it is a decision the broker must make the
//! same way on every replica.

use serde::{Deserialize, Serialize};

use crate::error::CoordinatorError;

/// Settings of the group coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupCoordinatorConfig {
    /// `group.min.session.timeout.ms`: the smallest session timeout a member may ask for.
    pub group_min_session_timeout_ms: u32,
    /// `group.max.session.timeout.ms`: the largest session timeout a member may ask for.
    pub group_max_session_timeout_ms: u32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an
    /// Empty group waits for more members; each new joiner extends the wait by
    /// this much again, up to the group's rebalance timeout.
    pub group_initial_rebalance_delay_ms: u32,
    /// `group.max.size`: the most members a group may hold (`u32::MAX`: unlimited).
    pub group_max_size: u32,
    /// How long a new member's JoinGroup may stay parked before the member is
    /// dropped (Kafka's fixed 5 minutes): a parked client cannot heartbeat.
    pub group_new_member_join_timeout_ms: u32,
    /// `offset.metadata.max.bytes`: the longest metadata string of a commit.
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes`: how long offsets of an Empty group are kept
    /// after it became empty (or after their commit, for standalone consumers).
    pub offsets_retention_minutes: u32,
    /// `offsets.retention.check.interval.ms`: how often expiry runs.
    pub offsets_retention_check_interval_ms: u32,
}

impl Default for GroupCoordinatorConfig {
    fn default() -> Self {
        Self {
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            group_max_size: u32::MAX,
            group_new_member_join_timeout_ms: 300_000,
            offset_metadata_max_bytes: 4_096,
            offsets_retention_minutes: 7 * 24 * 60,
            offsets_retention_check_interval_ms: 600_000,
        }
    }
}

impl GroupCoordinatorConfig {
    /// `offsets.retention.minutes` in milliseconds.
    pub fn offsets_retention_ms(&self) -> u64 {
        u64::from(self.offsets_retention_minutes) * 60_000
    }

    /// Refuses settings Kafka refuses, naming the setting and the value.
    pub fn validate(&self) -> Result<(), CoordinatorError> {
        let refuse = |field: &str, reason: String| {
            Err(CoordinatorError::InvalidConfig {
                field: field.to_string(),
                reason,
            })
        };
        if self.group_min_session_timeout_ms == 0 {
            return refuse("group.min.session.timeout.ms", "must be at least 1".into());
        }
        if self.group_min_session_timeout_ms > self.group_max_session_timeout_ms {
            return refuse(
                "group.max.session.timeout.ms",
                format!(
                    "{} is below group.min.session.timeout.ms {}",
                    self.group_max_session_timeout_ms, self.group_min_session_timeout_ms
                ),
            );
        }
        if self.group_max_size == 0 {
            return refuse("group.max.size", "must be at least 1".into());
        }
        if self.offsets_retention_minutes == 0 {
            return refuse("offsets.retention.minutes", "must be at least 1".into());
        }
        if self.offsets_retention_check_interval_ms == 0 {
            return refuse(
                "offsets.retention.check.interval.ms",
                "must be at least 1".into(),
            );
        }
        Ok(())
    }
}
