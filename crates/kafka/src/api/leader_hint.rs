//! KIP-951 leader discovery: a Produce (v10+) or Fetch (v16+) partition
//! answered NOT_LEADER_OR_FOLLOWER carries the leader and epoch this broker
//! knows, and the response lists those leaders' endpoints, so the client can
//! go there without a Metadata round trip.

use crate::cluster::{BrokerEndpoint, ClusterMetadata};

/// The leader of one partition as this broker knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderHint {
    /// The leader's broker id.
    pub leader: i32,
    /// Its leader epoch (the partition's Raft term).
    pub epoch: i32,
}

/// The leaders a response tells the client about, and their endpoints.
#[derive(Default)]
pub struct LeaderHints {
    metadata: Option<ClusterMetadata>,
    endpoints: Vec<BrokerEndpoint>,
}

impl LeaderHints {
    /// Hints from `metadata`, read once per response.
    pub fn new(metadata: ClusterMetadata) -> Self {
        LeaderHints {
            metadata: Some(metadata),
            endpoints: Vec::new(),
        }
    }

    /// The known live leader of `topic`/`partition`, remembering its endpoint.
    pub fn leader(&mut self, topic: &str, partition: i32) -> Option<LeaderHint> {
        let metadata = self.metadata.as_ref()?;
        let p = metadata
            .topics
            .iter()
            .find(|t| t.name == topic)?
            .partitions
            .iter()
            .find(|p| p.index == partition)?;
        let (leader, epoch) = (p.leader?, p.leader_epoch?);
        let endpoint = metadata.brokers.iter().find(|b| b.id == leader)?;
        if !self.endpoints.iter().any(|e| e.id == leader) {
            self.endpoints.push(endpoint.clone());
        }
        Some(LeaderHint { leader, epoch })
    }

    /// The endpoints of every leader handed out, in the order first given.
    pub fn endpoints(self) -> Vec<BrokerEndpoint> {
        self.endpoints
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{PartitionMetadata, TopicMetadata};

    fn endpoint(id: i32) -> BrokerEndpoint {
        BrokerEndpoint {
            id,
            host: "127.0.0.1".into(),
            port: 9000 + id,
            rack: None,
        }
    }

    #[test]
    fn only_live_known_leaders_are_hinted_and_each_endpoint_once() {
        let partition = |index, leader: Option<i32>| PartitionMetadata {
            index,
            leader,
            leader_epoch: leader.map(|_| 7),
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
            offline: vec![],
        };
        let metadata = ClusterMetadata {
            brokers: vec![endpoint(1), endpoint(2)],
            topics: vec![TopicMetadata {
                name: "t".into(),
                id: 1,
                partitions: vec![
                    partition(0, Some(2)),
                    partition(1, Some(2)),
                    partition(2, None),
                    // A leader that is not live.
                    partition(3, Some(3)),
                ],
            }],
            ..ClusterMetadata::default()
        };
        let mut hints = LeaderHints::new(metadata);
        let two = Some(LeaderHint {
            leader: 2,
            epoch: 7,
        });
        assert_eq!(hints.leader("t", 0), two);
        assert_eq!(hints.leader("t", 1), two);
        assert_eq!(hints.leader("t", 2), None);
        assert_eq!(hints.leader("t", 3), None);
        assert_eq!(hints.leader("t", 9), None);
        assert_eq!(hints.leader("u", 0), None);
        assert_eq!(hints.endpoints(), vec![endpoint(2)]);
        assert_eq!(LeaderHints::default().leader("t", 0), None);
    }
}
