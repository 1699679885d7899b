//! Retention. Every `log_retention_check_interval_ms` each broker looks at
//! the partitions it hosts:
//!
//! - where it is the leader, it asks the partition where its topic's
//!   `retention.ms` / `retention.bytes` (or the broker's defaults) would move
//!   the log start, and replicates that decision as a Raft `Trim` entry, so
//!   every replica moves its log start to the same offset at the same point
//!   of the log;
//! - on every replica whose log start moved since the last check, it asks
//!   openraft for a snapshot, which purges the Raft log entries holding only
//!   deleted records (see `cairn_storage::partition`), and then compacts that
//!   range so RocksDB gives the disk space back;
//! - where it is the leader, it also replicates an `ExpireProducers` entry
//!   when some idempotent producer's last batch is older than
//!   `producer_id_expiration_ms`, so every replica forgets the same producers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::error::{ClientWriteError, RaftError};
use openraft::Raft;
use tokio::sync::watch;

use cairn_meta::topic_config::{deletes_by_retention, effective_configs};
use cairn_raft::PartitionTypeConfig;
use cairn_storage::partition::Producers;
use cairn_storage::{GroupId, PartitionRequest, PartitionResponse};

use crate::partitions::PartitionHandle;
use crate::shared::Core;

/// A partition's retention limits; `None` is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Records whose batch's largest timestamp is older than this many ms go.
    pub ms: Option<i64>,
    /// The partition is kept at or below this many bytes.
    pub bytes: Option<u64>,
}

/// The limits of every partition group, from topic configs over broker defaults.
fn limits_by_group(core: &Core) -> BTreeMap<GroupId, Limits> {
    let defaults = core.topic_defaults();
    core.meta().reader.read(|state| {
        let mut out = BTreeMap::new();
        for topic in state.topics.values() {
            let configs = effective_configs(&topic.configs, &defaults);
            let get = |k: &str| {
                configs
                    .get(k)
                    .and_then(|(v, _)| v.parse::<i64>().ok())
                    .filter(|v| *v >= 0)
            };
            let deletes = configs
                .get("cleanup.policy")
                .is_none_or(|(policy, _)| deletes_by_retention(policy));
            let limits = if deletes {
                Limits {
                    ms: get("retention.ms"),
                    bytes: get("retention.bytes").map(|b| b as u64),
                }
            } else {
                // compact only: kept forever (Cairn does not compact yet).
                Limits {
                    ms: None,
                    bytes: None,
                }
            };
            for p in &topic.partitions {
                out.insert(p.group, limits);
            }
        }
        out
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Why a trim did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TrimError {
    /// This replica is not the leader.
    #[error("not the partition leader")]
    NotLeader,
    /// The write failed or its outcome is unknown.
    #[error("{0}")]
    Failed(String),
}

/// Replicates a move of the log start to `offset` through the partition's
/// Raft log; returns the log start after it was applied.
pub async fn trim(raft: &Raft<PartitionTypeConfig>, offset: u64) -> Result<u64, TrimError> {
    match raft
        .client_write(PartitionRequest::Trim {
            log_start_offset: offset,
        })
        .await
    {
        Ok(r) => match r.data {
            PartitionResponse::Trimmed { log_start_offset } => Ok(log_start_offset),
            other => Err(TrimError::Failed(format!(
                "unexpected trim result {other:?}"
            ))),
        },
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(TrimError::NotLeader),
        Err(e) => Err(TrimError::Failed(e.to_string())),
    }
}

/// One check of every hosted partition; `purged` remembers, per group, the
/// log start the last snapshot request was made for.
pub async fn check(core: &Core, purged: &mut HashMap<GroupId, u64>) {
    let limits = limits_by_group(core);
    let groups = core.partitions().registry.all();
    for (group, raft, handle) in &groups {
        if let Some(limits) = limits.get(group) {
            enforce(core.id(), *group, raft, handle, *limits).await;
            expire_producers(
                core.id(),
                *group,
                raft,
                handle,
                core.config().producer_id_expiration_ms,
            )
            .await;
        }
        let start = handle.reader.log_start_offset();
        if start > 0 && purged.get(group) != Some(&start) {
            purge(core, *group, raft).await;
            purged.insert(*group, start);
        }
    }
    purged.retain(|g, _| groups.iter().any(|(id, _, _)| id == g));
}

async fn enforce(
    me: u64,
    group: GroupId,
    raft: &Raft<PartitionTypeConfig>,
    handle: &PartitionHandle,
    limits: Limits,
) {
    if raft.metrics().borrow().current_leader != Some(me) {
        return;
    }
    let expire_before = limits.ms.map(|ms| now_ms().saturating_sub(ms));
    let point = match handle.reader.retention_point(expire_before, limits.bytes) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(group, error = %e, "cannot compute retention");
            return;
        }
    };
    let start = handle.reader.log_start_offset();
    if point > start {
        match trim(raft, point).await {
            Ok(now) => tracing::info!(
                group,
                from = start,
                to = now,
                "retention moved the log start"
            ),
            Err(e) => tracing::warn!(group, error = %e, "retention trim failed"),
        }
    }
}

/// Whether some producer was last seen before `last_seen_before_ms`: only
/// then is an `ExpireProducers` entry worth replicating (an idle partition
/// stays idle).
pub fn producers_expire(producers: &Producers, last_seen_before_ms: i64) -> bool {
    producers
        .iter()
        .any(|(_, p)| p.last_timestamp < last_seen_before_ms)
}

async fn expire_producers(
    me: u64,
    group: GroupId,
    raft: &Raft<PartitionTypeConfig>,
    handle: &PartitionHandle,
    expiration_ms: u64,
) {
    if raft.metrics().borrow().current_leader != Some(me) {
        return;
    }
    let cut = now_ms().saturating_sub(i64::try_from(expiration_ms).unwrap_or(i64::MAX));
    match handle.reader.producers() {
        Ok(producers) if producers_expire(&producers, cut) => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(group, error = %e, "cannot read producer state");
            return;
        }
    }
    let written = raft
        .client_write(PartitionRequest::ExpireProducers {
            last_seen_before_ms: cut,
        })
        .await;
    match written.map(|r| r.data) {
        Ok(PartitionResponse::ProducersExpired { producers }) => {
            tracing::info!(group, ?producers, "idempotent producers expired")
        }
        Ok(other) => tracing::warn!(group, ?other, "unexpected producer expiry result"),
        Err(e) => tracing::warn!(group, error = %e, "producer expiry failed"),
    }
}

/// Snapshots the group (which purges its log up to the first kept entry)
/// and compacts the purged range.
pub async fn purge(core: &Core, group: GroupId, raft: &Raft<PartitionTypeConfig>) {
    let before = raft.metrics().borrow().purged.map(|id| id.index);
    if let Err(e) = raft.trigger().snapshot().await {
        tracing::warn!(group, error = %e, "cannot request a snapshot");
        return;
    }
    let mut metrics = raft.metrics();
    let purged = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let now = metrics.borrow().purged.map(|id| id.index);
            if now > before {
                return now;
            }
            if metrics.changed().await.is_err() {
                return None;
            }
        }
    })
    .await
    .ok()
    .flatten();
    if let Some(upto) = purged {
        tracing::debug!(group, upto, "partition log purged");
        core.engine().compact_log(group, upto).await;
    }
}

/// Runs [`check`] every check interval until `stop`.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(core.config().log_retention_check_interval_ms);
    let mut purged = HashMap::new();
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = tokio::time::sleep(every) => {}
        }
        check(&core, &mut purged).await;
    }
}

#[cfg(test)]
mod tests {
    use cairn_common::batch;
    use cairn_storage::partition::producers::ProducerBatch;

    use super::*;

    fn seen_at(pairs: &[(i64, i64)]) -> Producers {
        let mut producers = Producers::default();
        for &(id, timestamp) in pairs {
            let header = batch::parse_header(&batch::with_producer(
                batch::build(&[b"v"], timestamp),
                id,
                0,
                0,
            ))
            .unwrap();
            producers.record(&ProducerBatch::of(&header).unwrap(), 0);
        }
        producers
    }

    #[test]
    fn expiry_is_replicated_only_when_a_producer_is_due() {
        let producers = seen_at(&[(1, 1_000), (2, 5_000)]);
        assert!(producers_expire(&producers, 1_001));
        assert!(!producers_expire(&producers, 1_000));
        assert!(!producers_expire(&Producers::default(), i64::MAX));
    }
}
