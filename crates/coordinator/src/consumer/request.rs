//! ConsumerGroupHeartbeat as the coordinator sees it: the request (with the
//! topic metadata its proposer resolved) and the response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::assignment::{Assignment, TopicId, TopicInfo};
use crate::error::CoordinatorError;
use crate::event::RequestId;

/// ConsumerGroupHeartbeat (v0–v1). Fields the wire sends as null "because
/// they did not change" are `None`.
///
/// The coordinator knows no topics: the broker that proposes the event puts
/// into [`topics`](Self::topics) the id and partition count of every topic
/// name the group or this member subscribes to (from its metadata, when it
/// proposes), and into [`resolved_regexes`](Self::resolved_regexes) what each
/// regular expression of the group matches. Every replica then decides with
/// the same metadata. A subscribed name missing from `topics` keeps what the
/// group knew of it; a name mapped to `None` does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerGroupHeartbeatRequest {
    /// Names the request for its response.
    pub request: RequestId,
    /// The group.
    pub group_id: String,
    /// The member id; empty when a v0 member joins (the coordinator makes one).
    pub member_id: String,
    /// 0 to join, -1 to leave, -2 for a static member leaving for a while,
    /// else the member's current epoch.
    pub member_epoch: i32,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    /// The client's rack.
    pub rack_id: Option<String>,
    /// The rebalance timeout; -1 when unchanged.
    pub rebalance_timeout_ms: i32,
    /// The subscribed topic names, when changed.
    pub subscribed_topic_names: Option<Vec<String>>,
    /// The subscribed regular expression (v1), when changed.
    pub subscribed_topic_regex: Option<String>,
    /// The server-side assignor, when changed.
    pub server_assignor: Option<String>,
    /// The partitions the member owns, when changed (and in full requests).
    pub owned_partitions: Option<Vec<(TopicId, Vec<i32>)>>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// v1+: the client makes its member id, so an empty one is refused.
    pub member_id_required: bool,
    /// Topic name → its id and partition count (`None`: no such topic).
    pub topics: BTreeMap<String, Option<TopicInfo>>,
    /// Regular expression → the topic names it matches now.
    pub resolved_regexes: BTreeMap<String, Vec<String>>,
}

impl ConsumerGroupHeartbeatRequest {
    /// A join (epoch 0) of `member_id` subscribing to `topics`, with every
    /// optional field unset: the starting point the handlers and tests fill in.
    pub fn join(
        request: RequestId,
        group_id: impl Into<String>,
        member_id: impl Into<String>,
        topics: &[&str],
    ) -> Self {
        Self {
            request,
            group_id: group_id.into(),
            member_id: member_id.into(),
            member_epoch: super::member::JOIN_EPOCH,
            instance_id: None,
            rack_id: None,
            rebalance_timeout_ms: 300_000,
            subscribed_topic_names: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
            subscribed_topic_regex: None,
            server_assignor: None,
            owned_partitions: Some(Vec::new()),
            client_id: String::new(),
            client_host: String::new(),
            member_id_required: true,
            topics: BTreeMap::new(),
            resolved_regexes: BTreeMap::new(),
        }
    }

    /// The owned partitions as an [`Assignment`], if the member sent them.
    pub fn owned(&self) -> Option<Assignment> {
        self.owned_partitions.as_ref().map(|owned| {
            Assignment::from_pairs(owned.iter().map(|(t, ps)| (*t, ps.iter().copied())))
        })
    }

    /// Whether the member sent every field a full request has (it does after
    /// joining and after an error): the response then carries the assignment.
    pub fn is_full(&self) -> bool {
        self.member_epoch == super::member::JOIN_EPOCH
            || (self.rebalance_timeout_ms != -1
                && self.subscribed_topic_names.is_some()
                && self.owned_partitions.is_some())
    }
}

/// A ConsumerGroupHeartbeat response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerGroupHeartbeatResponse {
    /// `None` is success.
    pub error: Option<CoordinatorError>,
    /// The member id (set on success; the new one when the coordinator made it).
    pub member_id: Option<String>,
    /// The member's epoch after this heartbeat.
    pub member_epoch: i32,
    /// How often to heartbeat.
    pub heartbeat_interval_ms: i32,
    /// The partitions the member may use, when they changed or the request
    /// was full; `None` otherwise.
    pub assignment: Option<Assignment>,
}

impl ConsumerGroupHeartbeatResponse {
    /// An error response.
    pub(crate) fn error(error: CoordinatorError) -> Self {
        Self {
            error: Some(error),
            ..Self::default()
        }
    }
}
