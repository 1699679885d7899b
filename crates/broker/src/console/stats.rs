//! `GET /v1/stats`: each live broker's traffic history (see
//! [`super::history`]) and the offsets and sizes of the partitions it
//! leads, gathered by the broker that is asked: its own, and each peer's
//! over the transport ([`crate::services::STATS`]). The console draws its
//! charts and its topics' sizes, offsets and lag from it; `cairn cluster
//! status` prints each broker's throughput from it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::history::Sample;
use crate::fan_out::ask_live_peers;
use crate::services;
use crate::shared::Core;

/// How long a peer may take to answer.
const PEER_TIMEOUT: Duration = Duration::from_secs(3);

/// A partition as its leader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedPartition {
    pub topic: String,
    pub partition: u32,
    /// Its Raft group.
    pub group: u64,
    pub log_start_offset: u64,
    pub high_watermark: u64,
    /// Bytes of record batches it holds.
    pub size_bytes: u64,
}

/// One broker's statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrokerStats {
    pub broker: u64,
    /// The last samples of its traffic, oldest first, one a second.
    pub history: Vec<Sample>,
    /// The partitions it leads, by topic and partition.
    pub led: Vec<LedPartition>,
}

/// Every live broker's statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterStats {
    /// The broker that gathered them.
    pub served_by: u64,
    /// By broker id.
    pub brokers: Vec<BrokerStats>,
    /// Live brokers that did not answer.
    pub unreachable: Vec<u64>,
}

/// This broker's statistics.
pub fn local(core: &Core) -> BrokerStats {
    let names = core.partition_names();
    let mut led: Vec<LedPartition> = core
        .partitions()
        .registry
        .all()
        .into_iter()
        .filter(|(_, raft, _)| raft.metrics().borrow().current_leader == Some(core.id()))
        .filter_map(|(group, _, handle)| {
            let (topic, partition) = names.get(&group)?.clone();
            Some(LedPartition {
                topic,
                partition,
                group,
                log_start_offset: handle.reader.log_start_offset(),
                high_watermark: handle.reader.high_watermark(),
                size_bytes: handle.reader.size_bytes(),
            })
        })
        .collect();
    led.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    BrokerStats {
        broker: core.id(),
        history: core.history().samples(),
        led,
    }
}

/// Answers [`services::STATS`] for a peer.
pub fn serve(core: &Core) -> Result<Vec<u8>, String> {
    bincode::serialize(&local(core)).map_err(|e| e.to_string())
}

/// Every live broker's statistics, asked of the peers at once.
pub async fn cluster(core: &Core) -> ClusterStats {
    let answers =
        ask_live_peers::<BrokerStats>(core, services::STATS, Vec::new(), PEER_TIMEOUT).await;
    let mut brokers = vec![local(core)];
    brokers.extend(answers.answered.into_iter().map(|(_, stats)| stats));
    brokers.sort_by_key(|b| b.broker);
    ClusterStats {
        served_by: core.id(),
        brokers,
        unreachable: answers.unreachable,
    }
}
