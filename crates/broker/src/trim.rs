//! Trimming a partition: moving its log start offset forward so that the
//! records below it are deleted on every replica (Kafka's DeleteRecords,
//! the admin API's `POST /v1/topics/{name}/trim` and the console's "Trim"
//! action). The move is a Raft entry of the partition
//! ([`crate::retention::trim`]), so only its leader proposes it; another
//! broker forwards the request to the leader over the transport
//! ([`crate::services::TRIM`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_raft::PartitionTypeConfig;
use openraft::Raft;
use serde::{Deserialize, Serialize};

use crate::partitions::PartitionHandle;
use crate::retention::TrimError;
use crate::services;
use crate::shared::Core;

/// How long the leader may take to answer a forwarded trim.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a partition was not trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum TrimRefusal {
    /// No such topic or partition.
    #[error("{0}")]
    UnknownPartition(String),
    /// The offset is neither -1 nor between 0 and the high watermark.
    #[error("offset {offset} is outside 0..={high_watermark} (the high watermark), or -1 for the high watermark")]
    OutOfRange { offset: i64, high_watermark: u64 },
    /// This broker does not lead the partition (or has not caught up with
    /// its term yet); the leader is elsewhere or unknown.
    #[error("{0}")]
    NotLeader(String),
    /// The write failed or its outcome is unknown.
    #[error("{0}")]
    Failed(String),
}

/// The local replica of `group` if this broker leads it and has applied an
/// entry of its own term (so its high watermark covers everything committed).
fn caught_up_leader(
    core: &Core,
    group: u64,
) -> Result<(Raft<PartitionTypeConfig>, PartitionHandle), TrimRefusal> {
    let not_leader =
        || TrimRefusal::NotLeader(format!("broker {} does not lead group {group}", core.id()));
    let (raft, handle) = core
        .partitions()
        .registry
        .get(group)
        .ok_or_else(not_leader)?;
    let caught_up = {
        let m = raft.metrics();
        let m = m.borrow();
        m.current_leader == Some(core.id())
            && m.state.is_leader()
            && m.last_applied.map(|l| l.leader_id.term) == Some(m.current_term)
    };
    if !caught_up {
        return Err(not_leader());
    }
    Ok((raft, handle))
}

/// Trims `group`, which this broker must lead (caught up with its term), to
/// `offset` (-1: the high watermark); returns the log start after the trim.
/// The disk space is given back now (a snapshot and purge) rather than at
/// the next retention check.
pub async fn trim_local(core: &Arc<Core>, group: u64, offset: i64) -> Result<u64, TrimRefusal> {
    let (raft, handle) = caught_up_leader(core, group)?;
    let high_watermark = handle.reader.high_watermark();
    let offset = match offset {
        -1 => high_watermark,
        o if o >= 0 && o as u64 <= high_watermark => o as u64,
        _ => {
            return Err(TrimRefusal::OutOfRange {
                offset,
                high_watermark,
            })
        }
    };
    let start = crate::retention::trim(&raft, offset)
        .await
        .map_err(|e| match e {
            TrimError::NotLeader => TrimRefusal::NotLeader(format!(
                "broker {} lost the leadership while trimming",
                core.id()
            )),
            TrimError::Failed(e) => TrimRefusal::Failed(e),
        })?;
    let purger = core.clone();
    core.tasks().spawn("purge after a trim", async move {
        crate::retention::purge(&purger, group, &raft).await
    });
    Ok(start)
}

/// Trims `topic`/`partition` to `offset` (-1: its high watermark) on its
/// leader, here or on the broker that leads it; returns the new log start.
pub async fn trim_partition(
    core: &Arc<Core>,
    topic: &str,
    partition: u32,
    offset: i64,
) -> Result<u64, TrimRefusal> {
    let group = core.partition_group(topic, partition).ok_or_else(|| {
        TrimRefusal::UnknownPartition(format!("topic '{topic}' has no partition {partition}"))
    })?;
    let leader = crate::dissemination::leader_of(core, group, Instant::now())
        .map(|l| l.leader)
        .ok_or_else(|| {
            TrimRefusal::NotLeader(format!("{topic}-{partition} has no leader at the moment"))
        })?;
    if leader == core.id() {
        return trim_local(core, group, offset).await;
    }
    let body = bincode::serialize(&offset).map_err(|e| TrimRefusal::Failed(e.to_string()))?;
    let answer = core
        .transport()
        .call(leader, services::TRIM, group, body, FORWARD_TIMEOUT)
        .await
        .map_err(|e| {
            TrimRefusal::NotLeader(format!(
                "the leader of {topic}-{partition}, broker {leader}, did not answer: {e}"
            ))
        })?;
    bincode::deserialize::<Result<u64, TrimRefusal>>(&answer).map_err(|e| {
        TrimRefusal::Failed(format!("malformed trim answer from broker {leader}: {e}"))
    })?
}

/// Answers [`services::TRIM`] for a peer: trims `group` (which this broker
/// should lead) to the offset in `body`.
pub async fn serve(core: &Arc<Core>, group: u64, body: &[u8]) -> Result<Vec<u8>, String> {
    let offset: i64 =
        bincode::deserialize(body).map_err(|e| format!("malformed trim request: {e}"))?;
    bincode::serialize(&trim_local(core, group, offset).await).map_err(|e| e.to_string())
}
