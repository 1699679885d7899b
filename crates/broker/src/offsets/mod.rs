//! Consumer groups and transactions on Raft: each partition of the internal
//! topics [`OFFSETS_TOPIC`] and [`TXN_STATE_TOPIC`] is a Raft group whose
//! state machine is a group coordinator and a transaction coordinator
//! ([`machine`]); the leader of the partition a group (or transactional id)
//! hashes to is its coordinator, and its [`host::CoordinatorHost`] proposes
//! the requests, parks the ones the group coordinator defers and answers
//! them when a later entry decides, and proposes a tick when a coordinator
//! timer is due.

pub mod host;
pub mod machine;

pub use host::{CoordinatorHost, OffsetsHandle};
pub use machine::{CoordinatorCommand, CoordinatorReply, OffsetsMachine, OffsetsTypeConfig};

/// Kafka's name of the internal topic holding consumer groups and offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Kafka's name of the internal topic holding the transaction coordinators.
pub const TXN_STATE_TOPIC: &str = "__transaction_state";
