//! The write path of one partition: produce requests for a partition queue up
//! here, and the appender turns everything that queued while the previous
//! proposal was being submitted into one Raft entry (several client batches per
//! entry). Proposals are submitted in queue order, so requests keep their
//! order, and many proposals are in flight at once (replication pipelines).
//!
//! acks=1 (`leader_only`) is answered once the entry is in the leader's log,
//! before followers have it. Offsets are assigned when an entry is applied, so
//! the answer carries a predicted offset: the appender is the partition's only
//! proposer, so while it stays leader its entries take consecutive log indexes
//! and offsets from a point where the log was fully applied. The prediction is
//! re-anchored whenever nothing is in flight, and abandoned (acks=1 then waits
//! for commit, like acks=all) after any failure or mismatch.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::ClientWriteError;
use openraft::Raft;
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};

use cairn_common::batch;
use cairn_kafka::error_code::{NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, UNKNOWN_SERVER_ERROR};
use cairn_raft::PartitionTypeConfig;
use cairn_storage::{GroupId, PartitionReader, PartitionRequest, PartitionResponse};

/// Most bytes of client batches merged into one Raft entry (a single larger
/// batch still makes one entry). Kept small so that an AppendEntries of
/// `RaftTiming::PARTITION.max_payload_entries` entries stays a few MiB.
const MAX_ENTRY_BYTES: usize = 256 << 10;

/// How long an acks=1 request waits for the local append before it falls
/// back to waiting for the commit.
const LOCAL_APPEND_WAIT: Duration = Duration::from_secs(5);

/// One produce request's batches for this partition.
pub struct Append {
    /// Validated batches, in order.
    pub batches: Vec<Bytes>,
    /// acks=1: answer at the leader's local append instead of at commit.
    pub leader_only: bool,
    /// Gets the base offset of the first batch, or a Kafka error code.
    pub reply: oneshot::Sender<Result<i64, i16>>,
}

/// Where the appender's next entry will land, while it can tell.
#[derive(Clone, Copy, Debug)]
struct Prediction {
    next_offset: u64,
    next_index: u64,
}

/// Starts the appender of `group`; it stops when every sender is dropped.
pub fn spawn(
    group: GroupId,
    raft: Raft<PartitionTypeConfig>,
    reader: PartitionReader<PartitionTypeConfig>,
) -> mpsc::UnboundedSender<Append> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(group, raft, reader, rx));
    tx
}

async fn run(
    group: GroupId,
    raft: Raft<PartitionTypeConfig>,
    reader: PartitionReader<PartitionTypeConfig>,
    mut rx: mpsc::UnboundedReceiver<Append>,
) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let diverged = Arc::new(AtomicBool::new(false));
    let mut prediction: Option<Prediction> = None;
    while let Some(first) = rx.recv().await {
        let mut size: usize = first.batches.iter().map(Bytes::len).sum();
        let mut appends = vec![first];
        while size < MAX_ENTRY_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    size += next.batches.iter().map(Bytes::len).sum::<usize>();
                    appends.push(next);
                }
                Err(_) => break,
            }
        }
        if in_flight.load(Ordering::Acquire) == 0 {
            // Nothing of ours is pending: re-anchor on a fully applied log.
            let metrics = raft.metrics().borrow().clone();
            let caught_up = metrics.last_applied.map(|l| l.index) == metrics.last_log_index;
            prediction = (metrics.state.is_leader() && caught_up).then(|| Prediction {
                next_offset: reader.high_watermark(),
                next_index: metrics.last_log_index.map_or(0, |i| i + 1),
            });
            diverged.store(false, Ordering::Release);
        } else if diverged.load(Ordering::Acquire) {
            prediction = None;
        }
        let this = prediction;
        if let Some(p) = prediction.as_mut() {
            p.next_offset += appends
                .iter()
                .map(|a| batch::offsets_in(&a.batches))
                .sum::<u64>();
            p.next_index += 1;
        }
        let batches = appends
            .iter()
            .flat_map(|a| a.batches.iter().map(|b| ByteBuf::from(b.to_vec())))
            .collect();
        match raft
            .client_write_ff(PartitionRequest::Append { batches })
            .await
        {
            Ok(committed) => {
                in_flight.fetch_add(1, Ordering::AcqRel);
                let (raft, in_flight, diverged) =
                    (raft.clone(), in_flight.clone(), diverged.clone());
                let mut appends: Vec<Waiting> = appends.into_iter().map(Waiting::from).collect();
                tokio::spawn(async move {
                    if let Some(p) = this {
                        answer_at_local_append(&raft, p, &mut appends).await;
                    }
                    let result = match committed.await {
                        Ok(Ok(written)) => match written.data {
                            PartitionResponse::Appended { base_offsets } => Ok(base_offsets),
                            PartitionResponse::None | PartitionResponse::Trimmed { .. } => {
                                Err(UNKNOWN_SERVER_ERROR)
                            }
                        },
                        Ok(Err(ClientWriteError::ForwardToLeader(_))) => {
                            Err(NOT_LEADER_OR_FOLLOWER)
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(group, error = %e, "partition write failed");
                            Err(UNKNOWN_SERVER_ERROR)
                        }
                        // Leadership was lost after the entry was appended: it
                        // may still be committed by the next leader, so the
                        // outcome is unknown (a timeout, not a rejection).
                        Err(_) => Err(REQUEST_TIMED_OUT),
                    };
                    match (&result, this) {
                        (Ok(offsets), Some(p)) if offsets.first() != Some(&p.next_offset) => {
                            tracing::error!(group, predicted = p.next_offset, actual = ?offsets.first(), "acks=1 offset prediction diverged");
                            diverged.store(true, Ordering::Release);
                        }
                        (Err(_), _) => diverged.store(true, Ordering::Release),
                        _ => {}
                    }
                    reply_all(appends, result);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                });
            }
            Err(fatal) => {
                tracing::warn!(group, error = %fatal, "partition group is stopped");
                diverged.store(true, Ordering::Release);
                reply_all(
                    appends.into_iter().map(Waiting::from).collect(),
                    Err(NOT_LEADER_OR_FOLLOWER),
                );
            }
        }
    }
}

/// A request inside a submitted entry; `reply` is taken once answered.
struct Waiting {
    batches: usize,
    records: u64,
    leader_only: bool,
    reply: Option<oneshot::Sender<Result<i64, i16>>>,
}

impl From<Append> for Waiting {
    fn from(a: Append) -> Self {
        Waiting {
            batches: a.batches.len(),
            records: batch::offsets_in(&a.batches),
            leader_only: a.leader_only,
            reply: Some(a.reply),
        }
    }
}

/// Answers the acks=1 requests of an entry once the leader's log holds it.
async fn answer_at_local_append(
    raft: &Raft<PartitionTypeConfig>,
    p: Prediction,
    appends: &mut [Waiting],
) {
    if !appends.iter().any(|a| a.leader_only) {
        return;
    }
    let appended = raft
        .wait(Some(LOCAL_APPEND_WAIT))
        .metrics(
            |m| m.state.is_leader() && m.last_log_index.is_some_and(|i| i >= p.next_index),
            "local append",
        )
        .await;
    if appended.is_err() {
        return; // answered at commit instead
    }
    let mut offset = p.next_offset;
    for waiting in appends.iter_mut() {
        if waiting.leader_only {
            if let Some(reply) = waiting.reply.take() {
                let _ = reply.send(Ok(offset as i64));
            }
        }
        offset += waiting.records;
    }
}

/// Gives each request still waiting the base offset of its first batch.
fn reply_all(appends: Vec<Waiting>, result: Result<Vec<u64>, i16>) {
    let mut next = 0usize;
    for waiting in appends {
        let reply = match &result {
            Ok(offsets) => offsets
                .get(next)
                .map(|&o| o as i64)
                .ok_or(UNKNOWN_SERVER_ERROR),
            Err(code) => Err(*code),
        };
        next += waiting.batches;
        if let Some(sender) = waiting.reply {
            let _ = sender.send(reply);
        }
    }
}
