//! A member of a classic group: who it is, what it supports, what it was
//! assigned, and which of its requests the coordinator holds parked.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::event::{Protocol, RequestId};

/// One member of a classic group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// `group.instance.id`, for a static member.
    pub group_instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Session timeout: how long it may go without a heartbeat.
    pub session_timeout_ms: u32,
    /// Rebalance timeout: how long it may take to rejoin.
    pub rebalance_timeout_ms: u32,
    /// Protocol type (`consumer` for consumers).
    pub protocol_type: String,
    /// Supported protocols in order of preference.
    pub protocols: Vec<Protocol>,
    /// Its assignment in the current generation (empty until the leader syncs).
    pub assignment: Vec<u8>,
    /// Its JoinGroup parked until the join phase completes.
    pub awaiting_join: Option<RequestId>,
    /// Its SyncGroup parked until the leader sends the assignment.
    pub awaiting_sync: Option<RequestId>,
    /// Added in the current join phase and not yet through one: such a member
    /// can be expired even while its JoinGroup is parked.
    pub is_new: bool,
}

impl Member {
    /// Whether it is static (has a `group.instance.id`).
    pub fn is_static(&self) -> bool {
        self.group_instance_id.is_some()
    }

    /// Whether its protocols are exactly `protocols` (names, metadata, order).
    pub fn matches(&self, protocols: &[Protocol]) -> bool {
        self.protocols == protocols
    }

    /// Whether it supports the protocol `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.protocols.iter().any(|p| p.name == name)
    }

    /// Its metadata for the protocol `name` (empty if it does not support it).
    pub fn metadata(&self, name: &str) -> &[u8] {
        self.protocols
            .iter()
            .find(|p| p.name == name)
            .map_or(&[][..], |p| &p.metadata)
    }

    /// Its vote: the first protocol in its order of preference among `candidates`.
    pub fn vote<'a>(&'a self, candidates: &BTreeSet<&str>) -> Option<&'a str> {
        self.protocols
            .iter()
            .map(|p| p.name.as_str())
            .find(|name| candidates.contains(name))
    }

    /// Whether the session timer firing now leaves it in the group: a member
    /// that is not new and has a JoinGroup or SyncGroup parked is waiting on
    /// the coordinator, not failing.
    pub fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }
}
