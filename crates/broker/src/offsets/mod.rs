//! Consumer groups on Raft: each partition of the internal topic
//! [`OFFSETS_TOPIC`] is a Raft group whose state machine is a group
//! coordinator ([`machine`]); the leader of the partition a group hashes to
//! is the group's coordinator, and its [`host::CoordinatorHost`] proposes the
//! group requests, parks the ones the coordinator defers and answers them
//! when a later entry decides, and proposes a tick when a coordinator timer
//! is due.

pub mod host;
pub mod machine;

pub use host::{CoordinatorHost, OffsetsHandle};
pub use machine::{CoordinatorCommand, CoordinatorReply, OffsetsMachine, OffsetsTypeConfig};

/// Kafka's name of the internal topic holding consumer groups and offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
