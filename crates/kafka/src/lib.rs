//! The Kafka wire protocol adapter: framing ([`codec`]), the listener
//! ([`server`]), one module per API under [`api`], the one table of error
//! codes ([`error_code`]), the view of the cluster the handlers need from
//! the broker ([`cluster`]), and the client of a connection ([`client`]). It
//! knows nothing about RocksDB or openraft: the broker implements
//! [`cluster::KafkaCluster`].

pub mod api;
pub mod client;
pub mod cluster;
pub mod codec;
pub mod error;
pub mod error_code;
pub mod guard;
pub mod server;

pub use client::Client;
pub use cluster::{
    ActiveProducer, AlterConfigs, BoxFuture, BrokerEndpoint, ClusterMetadata, ConfigEntry,
    ConfigSource, ConfigSynonym, ConfigType, CreatedTopic, KafkaCluster, LogDir, LogDirReplica,
    MetadataQuorum, MovingPartition, NewTopic, PartitionMetadata, PartitionOutcome, PartitionRead,
    QuorumMember, TopicMetadata,
};
pub use error::KafkaError;
pub use server::{serve, KafkaConfig, DEFAULT_MAX_FRAME_BYTES};
