//! The consumer group protocol of KIP-848 (`group.protocol=consumer`): the
//! coordinator assigns partitions itself, and members move to their new
//! partitions incrementally, without a stop-the-world rebalance.
//!
//! # The model
//!
//! A [`ConsumerGroup`] has a **group epoch**, bumped whenever the assignment
//! must change: a member joins, leaves, is removed, or changes its
//! subscription, or a subscribed topic appears, disappears or grows. When the
//! group epoch is ahead of the **target assignment**'s epoch, the next
//! heartbeat recomputes the target with the group's server-side assignor
//! (`uniform` or `range`, [`assignor`]).
//!
//! Each member has a **member epoch** and the partitions it owns. Each
//! heartbeat moves it one step toward its target (the private `reconcile` module): partitions
//! it must give up stay its own until a heartbeat says it no longer owns them
//! (then its epoch moves on); partitions another member still owns are given
//! only once released. No partition is ever owned by two members.
//!
//! Members heartbeat every `group.consumer.heartbeat.interval.ms`; one silent
//! for `group.consumer.session.timeout.ms`, or that does not give up its
//! partitions within its rebalance timeout, is removed. A member leaves with
//! epoch -1; a static member (with `group.instance.id`) may leave with -2 and
//! keep its partitions until its session expires or its instance rejoins
//! under a new member id (which takes them over without a rebalance).
//!
//! # Topic metadata
//!
//! The coordinator knows no topics. The broker that proposes a
//! [`ConsumerGroupHeartbeatRequest`] resolves the subscribed topic names (the
//! member's and the group's) and regular expressions from its metadata and
//! puts the ids and partition counts into the event, so every replica
//! decides from the same data.
//!
//! # Both protocols in one coordinator
//!
//! A group id is a classic group or a consumer group, never both. A
//! consumer member joining an empty classic group (for instance one with only
//! committed offsets) converts it; a non-empty classic group answers
//! GROUP_ID_NOT_FOUND. A classic JoinGroup converts an empty consumer group
//! and gets INCONSISTENT_GROUP_PROTOCOL from a non-empty one. Committed
//! offsets are shared: commits from a consumer group's members are checked
//! against their member id and epoch (STALE_MEMBER_EPOCH).

pub mod admin;
pub mod assignment;
pub mod assignor;
pub mod config;
pub mod group;
mod heartbeat;
pub mod member;
mod reconcile;
pub mod request;

pub use admin::{ConsumerGroupDescription, ConsumerMemberDescription};
pub use assignment::{Assignment, TopicId, TopicInfo};
pub use config::ConsumerGroupConfig;
pub use group::ConsumerGroup;
pub use member::{ConsumerMember, MemberState};
pub use request::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
