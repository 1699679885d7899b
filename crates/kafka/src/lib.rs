//! The Kafka wire protocol adapter: framing ([`codec`]), the listener
//! ([`server`]), one module per API under [`api`], and the view of the cluster
//! the handlers need from the broker ([`cluster`]). It knows nothing about
//! RocksDB or openraft: the broker implements [`cluster::KafkaCluster`].

pub mod api;
pub mod cluster;
pub mod codec;
pub mod guard;
pub mod server;

pub use cluster::{
    AlterConfigs, BoxFuture, BrokerEndpoint, ClusterMetadata, KafkaCluster, NewTopic,
    PartitionMetadata, PartitionRead, TopicMetadata,
};
pub use server::{serve, KafkaConfig};

/// Kafka protocol error codes Cairn returns.
pub mod error_code {
    /// No error.
    pub const NONE: i16 = 0;
    /// The server hit an unexpected error.
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    /// The fetch offset is outside the partition's range.
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    /// A record batch failed its CRC or is malformed.
    pub const CORRUPT_MESSAGE: i16 = 2;
    /// The topic or partition does not exist on this cluster.
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    /// No leader is known for the partition right now (retriable).
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    /// Manual replica assignment is not supported.
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    /// This broker does not lead the partition.
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    /// The request did not complete within its timeout.
    pub const REQUEST_TIMED_OUT: i16 = 7;
    /// A record batch is larger than `max.message.bytes`.
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    /// `acks` is not -1, 0 or 1.
    pub const INVALID_REQUIRED_ACKS: i16 = 21;
    /// The record batch is invalid (count, codec, magic).
    pub const INVALID_RECORD: i16 = 87;
    /// The version of the API is not supported.
    pub const UNSUPPORTED_VERSION: i16 = 35;
}
