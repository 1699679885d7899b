//! The cluster as Metadata (and DescribeCluster, DescribeTopicPartitions)
//! answers it: brokers, topics, and each partition's leader, epoch, replicas
//! and ISR as this broker knows them ([`crate::dissemination::leader_of`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_kafka::{BrokerEndpoint, ClusterMetadata, PartitionMetadata, TopicMetadata};

use crate::kafka_view::epoch;
use crate::shared::Core;

/// Longest a Metadata answer waits for partitions whose leader was found gone
/// to have new leaders (see [`crate::dissemination::awaiting_new_leader`]).
pub const METADATA_SETTLE_FOR: Duration = Duration::from_secs(1);
/// A leader whose connection closed this recently may be gone: Metadata
/// waits for the reconnect that tells (it comes at once when the process
/// died) rather than name a dead leader, which a client would keep until its
/// next periodic refresh.
const LEADER_LOST_WINDOW: Duration = Duration::from_millis(200);

pub(crate) fn split_host_port(addr: &str) -> Option<(String, i32)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((
        host.trim_matches(['[', ']']).to_string(),
        port.parse().ok()?,
    ))
}

/// The cluster as this broker knows it now.
pub fn cluster_metadata(core: &Core) -> ClusterMetadata {
    let now = Instant::now();
    core.meta().reader.read(|state| {
        let live = |id: u64| state.brokers.get(&id).is_some_and(|b| !b.fenced);
        let endpoint = |b: &cairn_meta::BrokerRecord| {
            let (host, port) = split_host_port(&b.registration.kafka_addr)?;
            Some(BrokerEndpoint {
                id: b.registration.id as i32,
                host,
                port,
                rack: b.registration.rack.clone(),
            })
        };
        let brokers = state.live_brokers().filter_map(endpoint).collect();
        let fenced = state
            .brokers
            .values()
            .filter(|b| b.fenced)
            .filter_map(endpoint)
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
                        let leader = crate::dissemination::leader_of(core, p.group, now);
                        PartitionMetadata {
                            index: p.partition as i32,
                            leader: leader.as_ref().map(|l| l.leader as i32),
                            leader_epoch: leader.as_ref().map(|l| epoch(l.term)),
                            // While moving: the target, then the replicas leaving.
                            replicas: state
                                .reassignments
                                .get(&p.group)
                                .map_or_else(
                                    || p.replicas.clone(),
                                    |m| {
                                        cairn_meta::reassign::move_view(&p.replicas, &m.target)
                                            .replicas
                                    },
                                )
                                .iter()
                                .map(|&r| r as i32)
                                .collect(),
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
            cluster_id: core.config().cluster_name.clone(),
            controller: core.meta().leader().map(|c| c as i32),
            brokers,
            fenced,
            topics,
        }
    })
}

/// Resolves once no partition of `topics` (`None`: every topic) is between
/// a leader found gone (or whose connection was just lost) and its successor,
/// or after [`METADATA_SETTLE_FOR`]: a client that lost its leader's
/// connection then learns the new leader in its first refresh.
pub async fn leaders_settled(core: Arc<Core>, topics: Option<Vec<String>>) {
    let window = crate::failover::CAMPAIGN_FOR;
    let lost = |b: &cairn_meta::BrokerRecord| {
        core.transport()
            .lost_within(b.registration.id, LEADER_LOST_WINDOW)
    };
    if !core.knowledge().any_gone_within(Instant::now(), window)
        && !core.meta().reader.read(|s| s.brokers.values().any(lost))
    {
        return;
    }
    let groups: Vec<u64> = core.meta().reader.read(|s| {
        s.topics
            .values()
            .filter(|t| topics.as_ref().is_none_or(|names| names.contains(&t.name)))
            .flat_map(|t| t.partitions.iter().map(|p| p.group))
            .collect()
    });
    let began = Instant::now();
    let unsettled = |g: u64| {
        let now = Instant::now();
        crate::dissemination::awaiting_new_leader(&core, g, now)
            || crate::dissemination::leader_of(&core, g, now).is_some_and(|l| {
                l.leader != core.id() && core.transport().lost_within(l.leader, LEADER_LOST_WINDOW)
            })
    };
    while began.elapsed() < METADATA_SETTLE_FOR && groups.iter().any(|&g| unsettled(g)) {
        tokio::time::sleep(Duration::from_millis(20)).await;
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
