//! What the Kafka handlers need to know about the cluster, as plain data. The
//! broker builds a [`ClusterMetadata`] snapshot from its metadata catalogue and
//! the leaders it learned by dissemination.

/// A live broker's Kafka listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// Broker id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if configured.
    pub rack: Option<String>,
}

/// One partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Partition index.
    pub index: i32,
    /// Current leader, if known.
    pub leader: Option<i32>,
    /// Leader epoch (Raft term), if a leader is known.
    pub leader_epoch: Option<i32>,
    /// Assigned replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas on brokers that are offline.
    pub offline: Vec<i32>,
}

/// One topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// Topic id.
    pub id: u128,
    /// Partitions in index order.
    pub partitions: Vec<PartitionMetadata>,
}

/// A point-in-time view of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// Cluster id reported to clients.
    pub cluster_id: String,
    /// The controller, if known.
    pub controller: Option<i32>,
    /// Every live broker.
    pub brokers: Vec<BrokerEndpoint>,
    /// Every topic, by name order.
    pub topics: Vec<TopicMetadata>,
}

/// The broker side of the Kafka adapter.
pub trait KafkaCluster: Send + Sync + 'static {
    /// The current view of the cluster.
    fn metadata(&self) -> ClusterMetadata;
}
