//! The Raft group vocabulary every layer names: group ids, the shape of
//! Cairn's openraft type configs, and [`Machine`], the deterministic logic a
//! replicated state machine runs.
//!
//! It lives here, below storage, so that a layer that only *defines* a state
//! machine (the metadata catalogue) does not depend on the engine that
//! persists it (RocksDB). The storage crate re-exports every item.

use std::io::Cursor;

use openraft::{BasicNode, Entry, LogId, RaftTypeConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Raft group id; unique cluster-wide. 0 is the metadata group.
pub type GroupId = u64;

/// The metadata Raft group's id.
pub const METADATA_GROUP: GroupId = 0;

/// The shape every Cairn Raft type config has: `u64` node ids (broker ids),
/// `BasicNode` carrying the broker's Raft address, openraft's default entry, and
/// in-memory snapshot bytes.
pub trait GroupTypeConfig:
    RaftTypeConfig<NodeId = u64, Node = BasicNode, Entry = Entry<Self>, SnapshotData = Cursor<Vec<u8>>>
{
}

impl<C> GroupTypeConfig for C where
    C: RaftTypeConfig<
        NodeId = u64,
        Node = BasicNode,
        Entry = Entry<C>,
        SnapshotData = Cursor<Vec<u8>>,
    >
{
}

/// Deterministic application logic of one kind of group.
///
/// Its serialized form is the group's snapshot, so every replica that applied
/// the same log serializes to the same bytes.
pub trait Machine<C: GroupTypeConfig>:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Applies one committed request. Must depend only on `self`, `log_id` and `request`.
    fn apply(&mut self, log_id: &LogId<u64>, request: &C::D) -> C::R;

    /// The snapshot bytes of the machine (bincode unless a machine keeps
    /// an older format readable).
    fn encode(&self) -> Result<Vec<u8>, bincode::Error> {
        bincode::serialize(self)
    }

    /// A machine from [`Machine::encode`]'s bytes.
    fn decode(bytes: &[u8]) -> Result<Self, bincode::Error> {
        bincode::deserialize(bytes)
    }
}
