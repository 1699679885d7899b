//! Writing transaction markers. When the transaction coordinator decides a
//! commit or an abort (EndTxn, a timeout, a fencing InitProducerId), the
//! transaction is PrepareCommit or PrepareAbort in the coordinator's Raft
//! state until a marker is in each of its partitions; then the coordinator
//! applies `MarkersWritten` and the producer may begin its next transaction.
//!
//! [`run`] watches the coordinator partitions this broker leads (woken by
//! each decision, and every 100 ms) and writes the markers of every
//! prepared transaction: to a data partition as a
//! `PartitionRequest::TxnMarker` entry (the control batch Kafka writes), to
//! a `__consumer_offsets` partition as a group coordinator event that
//! releases or drops the transaction's offsets. Each goes to the partition's
//! leader, here or over the transport ([`services::TXN_MARKER`]), and is
//! retried until it is written or this broker stops leading the
//! coordinator partition — then the new leader, which knows the same
//! prepared transactions, writes them again. Writing a marker twice is
//! harmless: the marker carries the coordinator's transaction number, and
//! a partition ignores one it has applied.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};

use cairn_common::error_code::INVALID_PRODUCER_EPOCH;
use cairn_common::txn_marker::{self, TxnMarker};
use cairn_coordinator::txn::{PendingMarkers, TxnEvent};
use cairn_coordinator::TxnMarkerEvent;
use cairn_storage::partition::PartitionResponse;
use cairn_storage::GroupId;

use crate::appender::{MarkerAppend, Write};
use crate::clock::now_ms;
use crate::offsets::OffsetsHandle;
use crate::services;
use crate::shared::Core;

/// How often the coordinator partitions are checked for prepared
/// transactions besides when a decision wakes the writer (a new leader
/// finds its predecessor's prepared transactions this way).
const SCAN_EVERY: Duration = Duration::from_millis(100);
/// How long one marker write may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before a failed marker write is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// One marker for one partition, as sent to the partition's leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerWrite {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    /// The coordinator's epoch (its Raft term), written into the marker.
    pub coordinator_epoch: i32,
    /// The coordinator's number of the transaction.
    pub txn_seq: u64,
}

/// A transaction being completed here: (coordinator group, transactional
/// id, transaction number, producer epoch).
type InFlight = (GroupId, String, u64, i16);

/// Until `stop`: writes the markers of the prepared transactions of every
/// coordinator partition this broker leads.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let in_flight: Arc<Mutex<HashSet<InFlight>>> = Arc::default();
    let due = core.partitions().markers_due.clone();
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = due.notified() => {}
            _ = tokio::time::sleep(SCAN_EVERY) => {}
        }
        for (group, _, handle) in core.partitions().offsets.all() {
            if handle.host.ready().is_err() {
                continue;
            }
            for pending in handle.reader.read(|m| m.1.pending_markers()) {
                let key = (
                    group,
                    pending.transactional_id.clone(),
                    pending.txn_seq,
                    pending.producer_epoch,
                );
                if !in_flight
                    .lock()
                    .expect("in-flight lock")
                    .insert(key.clone())
                {
                    continue;
                }
                let (core, handle, in_flight) = (core.clone(), handle.clone(), in_flight.clone());
                core.clone()
                    .tasks()
                    .spawn("transaction markers", async move {
                        complete(&core, &handle, pending).await;
                        in_flight.lock().expect("in-flight lock").remove(&key);
                    });
            }
        }
    }
}

/// Writes every marker of `pending`, then reports them written to the
/// coordinator; gives up (leaving it to the next leader) when this broker
/// stops leading the coordinator partition.
async fn complete(core: &Arc<Core>, handle: &OffsetsHandle, pending: PendingMarkers) {
    let marker = MarkerWrite {
        producer_id: pending.producer_id,
        producer_epoch: pending.producer_epoch,
        commit: pending.commit,
        coordinator_epoch: i32::try_from(handle.host.term()).unwrap_or(i32::MAX),
        txn_seq: pending.txn_seq,
    };
    let writes = pending
        .partitions
        .iter()
        .map(|(topic, partition)| write_until_done(core, handle, topic, *partition, &marker));
    let written = futures::future::join_all(writes).await;
    if !written.iter().all(|w| *w) {
        return;
    }
    cairn_common::metrics::metrics()
        .txn
        .markers
        .inc_by(written.len() as u64);
    let event = TxnEvent::MarkersWritten {
        transactional_id: pending.transactional_id.clone(),
        producer_id: pending.producer_id,
        producer_epoch: pending.producer_epoch,
    };
    match handle.host.txn_request(event).await {
        Ok(_) => tracing::debug!(
            transactional_id = pending.transactional_id,
            commit = pending.commit,
            partitions = pending.partitions.len(),
            "transaction completed"
        ),
        Err(e) => tracing::debug!(
            transactional_id = pending.transactional_id,
            error = %e,
            "markers written but not yet recorded; the next leader writes them again"
        ),
    }
}

/// Writes `marker` to `topic`/`partition` until it is written (`true`) or
/// this broker no longer leads the coordinator partition (`false`).
async fn write_until_done(
    core: &Arc<Core>,
    handle: &OffsetsHandle,
    topic: &str,
    partition: i32,
    marker: &MarkerWrite,
) -> bool {
    loop {
        match write(core, topic, partition, marker).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::debug!(topic, partition, error = %e, "transaction marker not written yet");
                if handle.host.ready().is_err() {
                    return false;
                }
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// Writes `marker` to `topic`/`partition` on its leader. A partition that
/// no longer exists (its topic was deleted) needs no marker.
async fn write(
    core: &Arc<Core>,
    topic: &str,
    partition: i32,
    marker: &MarkerWrite,
) -> Result<(), String> {
    let Some(group) = u32::try_from(partition)
        .ok()
        .and_then(|p| core.partition_group(topic, p))
    else {
        return Ok(());
    };
    let leader = crate::dissemination::leader_of(core, group, Instant::now())
        .map(|l| l.leader)
        .ok_or_else(|| format!("{topic}-{partition} has no leader"))?;
    if leader == core.id() {
        return write_local(core, group, marker).await;
    }
    let body = bincode::serialize(marker).map_err(|e| e.to_string())?;
    let answer = core
        .transport()
        .call(leader, services::TXN_MARKER, group, body, WRITE_TIMEOUT)
        .await
        .map_err(|e| format!("broker {leader} (leader of {topic}-{partition}): {e}"))?;
    bincode::deserialize::<Result<(), String>>(&answer)
        .map_err(|e| format!("malformed marker answer from broker {leader}: {e}"))?
}

/// Writes `marker` to `group`, which this broker should lead: a data
/// partition or a `__consumer_offsets` partition.
async fn write_local(core: &Core, group: GroupId, marker: &MarkerWrite) -> Result<(), String> {
    let partitions = core.partitions();
    if let Some((_, handle)) = partitions.registry.get(group) {
        let batch = txn_marker::encode(
            &TxnMarker {
                producer_id: marker.producer_id,
                producer_epoch: marker.producer_epoch,
                commit: marker.commit,
                coordinator_epoch: marker.coordinator_epoch,
            },
            now_ms() as i64,
        );
        // Through the partition's appender, the one proposer of entries
        // that take offsets (its acks=1 answers predict them).
        let (reply, answer) = oneshot::channel();
        handle
            .appender
            .send(Write::Marker(MarkerAppend {
                batch,
                txn_seq: marker.txn_seq,
                reply,
            }))
            .map_err(|_| format!("the appender of group {group} has stopped"))?;
        let applied = tokio::time::timeout(WRITE_TIMEOUT, answer)
            .await
            .map_err(|_| format!("marker to group {group} not applied within {WRITE_TIMEOUT:?}"))?
            .map_err(|_| format!("the appender of group {group} dropped the marker"))??;
        return match applied {
            PartitionResponse::Marker { error: 0, .. } => Ok(()),
            PartitionResponse::Marker {
                error: INVALID_PRODUCER_EPOCH,
                ..
            } => {
                // The partition knows a newer epoch of the producer: this
                // transaction's records there are fenced already.
                tracing::warn!(
                    group,
                    producer_id = marker.producer_id,
                    epoch = marker.producer_epoch,
                    "transaction marker of an older producer epoch refused"
                );
                Ok(())
            }
            other => Err(format!("marker not written: {other:?}")),
        };
    }
    if let Some((_, handle)) = partitions.offsets.get(group) {
        return handle
            .host
            .write_marker(TxnMarkerEvent {
                producer_id: marker.producer_id,
                producer_epoch: marker.producer_epoch,
                commit: marker.commit,
                txn_seq: marker.txn_seq,
            })
            .await
            .map_err(|e| e.to_string());
    }
    Err(format!("broker {} does not host group {group}", core.id()))
}

/// Answers [`services::TXN_MARKER`] for a coordinator elsewhere: writes the
/// marker in `body` to `group`, which this broker should lead.
pub async fn serve(core: &Arc<Core>, group: GroupId, body: &[u8]) -> Result<Vec<u8>, String> {
    let marker: MarkerWrite =
        bincode::deserialize(body).map_err(|e| format!("malformed marker request: {e}"))?;
    bincode::serialize(&write_local(core, group, &marker).await).map_err(|e| e.to_string())
}
