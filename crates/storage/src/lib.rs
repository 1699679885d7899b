//! Cairn's storage engine: one RocksDB instance per broker holding the Raft logs,
//! votes, snapshots and state-machine state of every Raft group the broker hosts
//! (the metadata group and each partition replica).
//!
//! Layout (all keys big-endian so that RocksDB's byte order is numeric order):
//!
//! | column family | key | value |
//! |---|---|---|
//! | `log` | `group ‖ index` | bincode `openraft::Entry` |
//! | `state` | `group ‖ tag` | vote, committed, last purged, snapshot |
//! | `groups` | `group` | opaque descriptor written by the owner of the group |
//! | `index` | `group ‖ last offset` | where a partition's records live in the log |
//!
//! Durability: appends are written to RocksDB without a sync (readable at once),
//! then handed to the [`engine::Engine`]'s syncer thread, which issues one WAL
//! fsync for every append that queued up while the previous fsync ran and only
//! then acknowledges them to openraft. This is group commit across groups: many
//! partitions' appends share one fsync.

pub mod engine;
pub mod error;
pub mod keys;
pub mod log_store;
pub mod state_machine;

pub use engine::{Engine, EngineOptions, EngineStats};
pub use error::StorageError;
pub use log_store::LogStore;
pub use state_machine::{Machine, SnapshotStateMachine};

use std::io::Cursor;

use openraft::{BasicNode, Entry, RaftTypeConfig};

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

pub mod partition;
pub mod single_node;
pub use partition::{PartitionReader, PartitionRequest, PartitionResponse, PartitionStore};
