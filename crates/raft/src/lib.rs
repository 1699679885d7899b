//! Raft plumbing shared by every group a broker runs: the multiplexed
//! node-to-node [`transport`] (one TCP connection per broker pair for all
//! groups), openraft's [`network`] traits on top of it, the [`registry`] of
//! running groups, the replication [`throttle`] of moving partitions, and the partition groups' type config and timing.

pub mod frame;
pub mod network;
pub mod registry;
pub mod throttle;
pub mod transport;

pub use network::{serve_raft_rpc, service, GroupNetworkFactory};
pub use registry::GroupRegistry;
pub use transport::{HandlerFuture, NodeId, RpcError, RpcHandler, Transport, TransportConfig};

use cairn_storage::{PartitionRequest, PartitionResponse};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    /// The type config of partition groups.
    pub PartitionTypeConfig: D = PartitionRequest, R = PartitionResponse
);

/// Timing of a kind of group, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftTiming {
    /// Leader heartbeat interval.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomized election timeout.
    pub election_min_ms: u64,
    /// Upper bound of the randomized election timeout.
    pub election_max_ms: u64,
    /// Most entries in one AppendEntries. openraft times an AppendEntries out
    /// after one heartbeat interval, so a payload must cross the wire well
    /// within it even on a loaded machine.
    pub max_payload_entries: u64,
}

impl RaftTiming {
    /// Metadata group: small and latency-sensitive (controller failover).
    pub const METADATA: RaftTiming = RaftTiming {
        max_payload_entries: 300,
        heartbeat_ms: 100,
        election_min_ms: 600,
        election_max_ms: 1200,
    };
    /// Partition groups: thousands per broker, so heartbeats are sparse.
    pub const PARTITION: RaftTiming = RaftTiming {
        // Entries carry up to 256 KiB of records: at most 4 MiB per request.
        max_payload_entries: 16,
        heartbeat_ms: 250,
        election_min_ms: 1000,
        election_max_ms: 2000,
    };

    /// An openraft config with this timing; snapshots every `snapshot_every`
    /// applied entries, or only when asked for `None` — then the log is
    /// purged up to each requested snapshot (partition groups ask after
    /// retention moved their log start).
    pub fn config(
        self,
        cluster: &str,
        snapshot_every: Option<u64>,
    ) -> Result<std::sync::Arc<openraft::Config>, openraft::ConfigError> {
        let config = openraft::Config {
            cluster_name: cluster.to_string(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_min_ms,
            election_timeout_max: self.election_max_ms,
            snapshot_policy: snapshot_every.map_or(
                openraft::SnapshotPolicy::Never,
                openraft::SnapshotPolicy::LogsSinceLast,
            ),
            max_in_snapshot_log_to_keep: if snapshot_every.is_some() { 100 } else { 0 },
            purge_batch_size: 1,
            max_payload_entries: self.max_payload_entries,
            ..Default::default()
        };
        Ok(std::sync::Arc::new(config.validate()?))
    }
}

/// Waits until `flag` is true (or its sender is gone). Unlike awaiting
/// `wait_for` directly, the returned future holds no borrow guard, so it can
/// sit in a `select!` inside spawned tasks.
pub async fn until_true(flag: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}
