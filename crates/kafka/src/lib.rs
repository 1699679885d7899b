//! The Kafka wire protocol adapter: framing ([`codec`]), the listener
//! ([`server`]), one module per API under [`api`], and the view of the cluster
//! the handlers need from the broker ([`cluster`]). It knows nothing about
//! RocksDB or openraft: the broker implements [`cluster::KafkaCluster`].

pub mod api;
pub mod cluster;
pub mod codec;
pub mod server;

pub use cluster::{
    BrokerEndpoint, ClusterMetadata, KafkaCluster, PartitionMetadata, TopicMetadata,
};
pub use server::{serve, KafkaConfig};

/// Kafka protocol error codes Cairn returns.
pub mod error_code {
    /// No error.
    pub const NONE: i16 = 0;
    /// The topic or partition does not exist on this cluster.
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    /// No leader is known for the partition right now (retriable).
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    /// The version of the API is not supported.
    pub const UNSUPPORTED_VERSION: i16 = 35;
}
