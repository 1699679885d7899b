//! Cairn's storage engine: one RocksDB instance per broker holding the Raft logs,
//! votes, snapshots and state-machine state of every Raft group the broker hosts
//! (the metadata group and each partition replica).
//!
//! Layout (all keys big-endian so that RocksDB's byte order is numeric order):
//!
//! | column family | key | value |
//! |---|---|---|
//! | `log` | `group ‖ index` | bincode `openraft::Entry` |
//! | `state` | `group ‖ tag` | vote, committed, last purged, snapshot, a partition's applied state |
//! | `groups` | `group` | opaque descriptor written by the owner of the group |
//! | `index` | `group ‖ last offset` | where a partition's records live in the log |
//!
//! Modules: [`engine`] (the DB, its column families and the syncer), [`keys`],
//! [`log_store`] (openraft's log storage, any group), `snapshot` (the one
//! snapshot slot per group, used by both state machines), [`state_machine`]
//! (an in-memory [`Machine`] made durable by snapshots: the metadata group),
//! [`partition`] (a partition's state machine, whose log is its records).
//!
//! Durability: appends are written to RocksDB without a sync (readable at once),
//! then handed to the [`engine::Engine`]'s syncer thread, which issues one WAL
//! fsync for every append that queued up while the previous fsync ran and only
//! then acknowledges them to openraft. This is group commit across groups: many
//! partitions' appends share one fsync.

mod disk_stats;
pub mod engine;
pub mod error;
pub mod keys;
pub mod log_store;
mod snapshot;
pub mod state_machine;
mod tail;
pub mod vote_events;

pub use disk_stats::{ColumnFamilyStats, DiskStats};
pub use engine::{Engine, EngineOptions, EngineStats};
pub use error::StorageError;
pub use log_store::LogStore;
pub use state_machine::SnapshotStateMachine;

// The group vocabulary lives in `cairn-common` (so that crates defining a
// state machine need not link RocksDB); re-exported for the crates above.
pub use cairn_common::{GroupId, GroupTypeConfig, Machine, METADATA_GROUP};

pub mod partition;
pub mod single_node;
pub use partition::{PartitionReader, PartitionRequest, PartitionResponse, PartitionStore};
