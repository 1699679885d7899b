//! The broker's side of the Kafka adapter: a [`ClusterMetadata`] snapshot built
//! from the metadata catalogue (brokers, topics, assignments) and the leaders
//! learned by dissemination.

use std::sync::Arc;
use std::time::Instant;

use cairn_kafka::{
    BrokerEndpoint, ClusterMetadata, KafkaCluster, PartitionMetadata, TopicMetadata,
};

use crate::node::Core;

/// Answers the Kafka handlers' questions from a running broker.
pub struct KafkaView(pub Arc<Core>);

fn split_host_port(addr: &str) -> Option<(String, i32)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((
        host.trim_matches(['[', ']']).to_string(),
        port.parse().ok()?,
    ))
}

impl KafkaCluster for KafkaView {
    fn metadata(&self) -> ClusterMetadata {
        let core = &self.0;
        let now = Instant::now();
        core.meta.reader.read(|state| {
            let live = |id: u64| state.brokers.get(&id).is_some_and(|b| !b.fenced);
            let brokers = state
                .live_brokers()
                .filter_map(|b| {
                    let (host, port) = split_host_port(&b.registration.kafka_addr)?;
                    Some(BrokerEndpoint {
                        id: b.registration.id as i32,
                        host,
                        port,
                        rack: b.registration.rack.clone(),
                    })
                })
                .collect();
            let topics = state
                .topics
                .values()
                .map(|t| TopicMetadata {
                    name: t.name.clone(),
                    id: t.id,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| {
                            let leader =
                                core.knowledge.leader(p.group, now, core.session_timeout());
                            PartitionMetadata {
                                index: p.partition as i32,
                                leader: leader.as_ref().map(|l| l.leader as i32),
                                leader_epoch: leader.as_ref().map(|l| l.term as i32),
                                replicas: p.replicas.iter().map(|&r| r as i32).collect(),
                                isr: leader
                                    .map(|l| l.isr.iter().map(|&r| r as i32).collect())
                                    .unwrap_or_default(),
                                offline: p
                                    .replicas
                                    .iter()
                                    .filter(|&&r| !live(r))
                                    .map(|&r| r as i32)
                                    .collect(),
                            }
                        })
                        .collect(),
                })
                .collect();
            ClusterMetadata {
                cluster_id: core.config.cluster_name.clone(),
                controller: core.meta.leader().map(|c| c as i32),
                brokers,
                topics,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn advertised_addresses_split() {
        assert_eq!(
            split_host_port("127.0.0.1:9092"),
            Some(("127.0.0.1".into(), 9092))
        );
        assert_eq!(split_host_port("[::1]:9092"), Some(("::1".into(), 9092)));
        assert_eq!(
            split_host_port("kafka-1.example:19092"),
            Some(("kafka-1.example".into(), 19092))
        );
        assert_eq!(split_host_port("nohost"), None);
    }
}
