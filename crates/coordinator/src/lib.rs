//! The group coordinator of Kafka's consumer groups — the classic protocol
//! and the consumer protocol of KIP-848 ([`consumer`]) — as a pure,
//! deterministic state machine: events in, decisions out.
//!
//! # Where it runs
//!
//! Each partition of `__consumer_offsets` is a Raft group; the groups that
//! hash to it are coordinated by its leader. A [`GroupCoordinator`] is the
//! state of one such partition. The broker turns each group request into an
//! [`Event`], proposes it as a Raft entry, and every replica calls
//! [`GroupCoordinator::apply`] with the entry's timestamp as `now`. Because
//! the function is deterministic, every replica holds the same groups,
//! offsets and timers; a new leader after a failover carries on where the old
//! one stopped. Snapshots serialize the whole [`GroupCoordinator`] (serde).
//!
//! # The model
//!
//! A group ([`ClassicGroup`]) moves through Kafka's states:
//!
//! - **Empty**: no members. Committed offsets may remain; they expire
//!   `offsets.retention.minutes` after the group became empty.
//! - **PreparingRebalance**: the join phase. Members send JoinGroup; their
//!   requests are *parked* until the phase ends: when every known member has
//!   rejoined, when the rebalance timeout (the largest of the members') passes,
//!   or — for the first rebalance of an Empty group — when
//!   `group.initial.rebalance.delay.ms` passes with no new joiner (each new
//!   joiner extends it, up to the rebalance timeout). Dynamic members that did
//!   not rejoin are dropped; the generation advances; the protocol every
//!   member supports with the most votes is chosen; every parked JoinGroup is
//!   answered, the leader's with the member list.
//! - **CompletingRebalance**: the leader computes the assignment and sends it
//!   in its SyncGroup; followers' SyncGroups are parked until then. Members
//!   that do not sync within the rebalance timeout are dropped.
//! - **Stable**: everyone has an assignment. A member leaving, expiring,
//!   changing its metadata, or the leader rejoining starts a new rebalance.
//! - **Dead**: reported for groups that do not exist (deleted groups are removed).
//!
//! Static members (`group.instance.id`, KIP-345) survive restarts: a static
//! member rejoining without its member id gets a new one, the old one is
//! fenced (FENCED_INSTANCE_ID), and a Stable group whose chosen protocol does
//! not change answers at once without a rebalance.
//!
//! # Decisions
//!
//! [`apply`](GroupCoordinator::apply) returns [`Decision`]s, in order:
//! [`Respond`](Decision::Respond) answers a request (this one, or one parked
//! earlier, named by its [`RequestId`]); [`Park`](Decision::Park) says this
//! request waits; [`Persist`](Decision::Persist) carries a [`Record`] for the
//! materialised state (group metadata of the last stable generation, offset
//! commits, deletions); [`ArmTimer`](Decision::ArmTimer) asks for a tick at a
//! deadline. Every request event yields exactly one `Respond` or `Park` for
//! its own id. Only the replica holding a parked request delivers its
//! response; the others drop it.
//!
//! # Determinism
//!
//! - Time is an argument. The state keeps the largest `now` seen, so time
//!   never runs backwards when a leader's clock is behind its predecessor's.
//! - Timers live in the state ([`timer::Timers`]). Every event first fires
//!   the timers due at its `now`, each at its own deadline, in (deadline, key)
//!   order; [`Event::Tick`] does only that. When ticks arrive changes nothing.
//! - Member ids are `<instance id or client id>-<n>` with `n` a counter in the
//!   state; no randomness.
//! - Every map is a `BTreeMap`; ties (protocol votes, leader election) break
//!   by the smallest name or member id.
//!
//! Reads — OffsetFetch ([`GroupCoordinator::fetch_offsets`]), DescribeGroups
//! ([`GroupCoordinator::describe_group`]), ListGroups
//! ([`GroupCoordinator::list_groups`]), ConsumerGroupDescribe
//! ([`GroupCoordinator::describe_consumer_group`]) — are methods, not events.
//!
//! # Consumer groups (KIP-848)
//!
//! [`Event::ConsumerGroupHeartbeat`] drives the other protocol: the
//! coordinator computes the assignment with a server-side assignor and
//! members move to it incrementally, never two owning a partition. The
//! [`consumer`] module documents the model; both kinds of group share the
//! committed offsets and the administrative requests.

pub mod admin;
mod commit;
pub mod config;
pub mod consumer;
mod coordinator;
pub mod decision;
pub mod error;
pub mod event;
pub mod group;
mod join;
pub mod member;
mod membership;
pub mod offsets;
pub mod placement;
mod rebalance;
pub mod subscription;
pub mod timer;
pub mod txn;

#[cfg(test)]
mod tests;

pub use admin::{GroupDescription, GroupType, ListedGroup, MemberDescription};
pub use config::GroupCoordinatorConfig;
pub use consumer::{
    Assignment, ConsumerGroup, ConsumerGroupConfig, ConsumerGroupDescription,
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, ConsumerMember,
    ConsumerMemberDescription, MemberState, TopicId, TopicInfo,
};
pub use coordinator::{decode_shard, encode_shard, GroupCoordinator};
pub use decision::{
    Decision, GroupMetadataRecord, JoinGroupMember, JoinGroupResponse, LeaveGroupResponse,
    MemberRecord, OffsetDeleteResponse, PartitionResult, Record, Response, SyncGroupResponse,
    TopicResults,
};
pub use error::{error_code, CoordinatorError};
pub use event::{
    DeleteGroupsRequest, Event, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest,
    LeavingMember, Millis, OffsetCommitRequest, OffsetDeleteRequest, PartitionCommit, Protocol,
    RequestId, SyncGroupRequest, TxnMarkerEvent, TxnOffsetCommitRequest,
};
pub use group::{ClassicGroup, GroupState};
pub use member::Member;
pub use offsets::{CommittedOffset, FetchedOffset, OffsetStore};
pub use placement::offsets_partition_for;
pub use timer::TimerKey;
