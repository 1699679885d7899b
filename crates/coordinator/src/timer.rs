//! Deadlines held in the state, not in a runtime: the replicated equivalent of
//! Kafka's coordinator timer. Scheduling a key replaces its deadline;
//! [`Timers::pop_due`] hands back due timers in (deadline, key) order, so every
//! replica fires them in the same order at the same logical time.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::event::Millis;

/// What a timer is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimerKey {
    /// Periodic expiry of committed offsets (`offsets.retention.check.interval.ms`).
    OffsetRetention,
    /// The group's join phase ends: rebalance timeout, or the initial rebalance delay.
    Join {
        /// The group.
        group_id: String,
    },
    /// Members that have not sent SyncGroup by now are removed.
    Sync {
        /// The group.
        group_id: String,
    },
    /// A member's session (or a pending or new member's join window) expires.
    Heartbeat {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
    },
    /// A consumer (KIP-848) group member's session expires: it is removed.
    ConsumerSession {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
    },
    /// A consumer group member that still has partitions to give up by now
    /// is removed (its rebalance timeout).
    ConsumerRevocation {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
    },
}

impl TimerKey {
    /// The group the timer belongs to, if any.
    pub fn group_id(&self) -> Option<&str> {
        match self {
            Self::OffsetRetention => None,
            Self::Join { group_id }
            | Self::Sync { group_id }
            | Self::Heartbeat { group_id, .. }
            | Self::ConsumerSession { group_id, .. }
            | Self::ConsumerRevocation { group_id, .. } => Some(group_id),
        }
    }
}

/// Every armed timer, indexed both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timers {
    by_key: BTreeMap<TimerKey, Millis>,
    by_deadline: BTreeSet<(Millis, TimerKey)>,
}

impl Timers {
    /// Arms `key` at `deadline`, replacing an earlier deadline of the same key.
    pub fn schedule(&mut self, key: TimerKey, deadline: Millis) {
        self.cancel(&key);
        self.by_deadline.insert((deadline, key.clone()));
        self.by_key.insert(key, deadline);
    }

    /// Disarms `key`; nothing happens if it is not armed.
    pub fn cancel(&mut self, key: &TimerKey) {
        if let Some(deadline) = self.by_key.remove(key) {
            self.by_deadline.remove(&(deadline, key.clone()));
        }
    }

    /// Disarms every timer of `group_id`.
    pub fn cancel_group(&mut self, group_id: &str) {
        let keys: Vec<TimerKey> = self
            .by_key
            .keys()
            .filter(|key| key.group_id() == Some(group_id))
            .cloned()
            .collect();
        for key in &keys {
            self.cancel(key);
        }
    }

    /// The deadline of `key`, if armed.
    pub fn deadline(&self, key: &TimerKey) -> Option<Millis> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline of all.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<(Millis, TimerKey)> {
        let (deadline, _) = self.by_deadline.first()?;
        if *deadline > now {
            return None;
        }
        let (deadline, key) = self.by_deadline.pop_first()?;
        self.by_key.remove(&key);
        Some((deadline, key))
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
