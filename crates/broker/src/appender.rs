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
//! for commit, like acks=all) after any failure or mismatch, and for entries
//! holding an idempotent producer's batches: apply may find one a duplicate or
//! refuse it, so where their offsets (and every later entry's) land is known
//! only once applied.
//!
//! Transaction markers go through the appender too ([`Write::Marker`]), each
//! as an entry of its own: a marker takes an offset (or none, for a late
//! duplicate), which only apply decides, so like an idempotent batch it
//! suspends the prediction until the pipeline drains — and being proposed
//! here keeps the appender the only proposer of entries that take offsets.
//!
//! The prediction is decided by pure code (`Predictor`, `Prediction`,
//! `local_append_offsets`, `diverges`, `replies`) and counts offsets with the
//! same rule apply assigns them by (`batch::offsets_in`); `run` feeds it Raft
//! metrics and carries out its answers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::ClientWriteError;
use openraft::Raft;
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use cairn_common::batch;
use cairn_kafka::error_code::{NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, UNKNOWN_SERVER_ERROR};
use cairn_raft::PartitionTypeConfig;
use cairn_storage::{GroupId, PartitionReader, PartitionRequest, PartitionResponse};

use crate::tasks::Tasks;

/// Most bytes of client batches merged into one Raft entry (a single larger
/// batch still makes one entry). Kept small so that an AppendEntries of
/// `RaftTiming::PARTITION.max_payload_entries` entries stays a few MiB.
const MAX_ENTRY_BYTES: usize = 256 << 10;

/// How long an acks=1 request waits for the local append before it falls
/// back to waiting for the commit.
const LOCAL_APPEND_WAIT: Duration = Duration::from_secs(5);

/// What lets a leadership hand-off stop the appender: each proposal is
/// submitted under a read lock of `proposing`, so a hand-off that holds the
/// write lock knows none is being submitted and none will be; `in_flight`
/// counts the submitted entries not yet answered (committed or failed).
#[derive(Clone, Default)]
pub struct Gate {
    /// Held for reading while a proposal is submitted; the hand-off writes.
    pub proposing: Arc<tokio::sync::RwLock<()>>,
    /// Submitted entries not yet answered.
    pub in_flight: Arc<AtomicUsize>,
}

/// One produce request's batches for this partition.
pub struct Append {
    /// Validated batches, in order.
    pub batches: Vec<Bytes>,
    /// acks=1: answer at the leader's local append instead of at commit.
    pub leader_only: bool,
    /// Gets the base offset of the first batch, or a Kafka error code.
    pub reply: oneshot::Sender<Result<i64, i16>>,
}

/// A transaction marker for this partition ([`crate::txn::markers`]).
pub struct MarkerAppend {
    /// The marker's control batch.
    pub batch: Vec<u8>,
    /// The coordinator's number of the transaction it ends.
    pub txn_seq: u64,
    /// Gets what applying it answered, or why it was not written.
    pub reply: oneshot::Sender<Result<PartitionResponse, String>>,
}

/// What the appender proposes, in the order it receives them.
pub enum Write {
    /// A produce request's batches.
    Append(Append),
    /// A transaction marker.
    Marker(MarkerAppend),
}

/// Where the appender's next entry will land, while it can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Prediction {
    /// The offset apply will give the entry's first record.
    next_offset: u64,
    /// The log index the entry will get.
    next_index: u64,
}

impl Prediction {
    /// Whether the leader's log holds the predicted entry, seen from the
    /// leader's metrics: only then may acks=1 be answered.
    fn appended(self, is_leader: bool, last_log_index: Option<u64>) -> bool {
        is_leader && last_log_index.is_some_and(|i| i >= self.next_index)
    }
}

/// The leader's log as its metrics show it when nothing of ours is in flight.
#[derive(Clone, Copy, Debug)]
struct LogPosition {
    is_leader: bool,
    last_applied_index: Option<u64>,
    last_log_index: Option<u64>,
    high_watermark: u64,
}

/// The state of the appender's pipeline when it submits an entry.
#[derive(Clone, Copy, Debug)]
enum Pipeline {
    /// Nothing of ours is in flight: the prediction restarts from the log.
    Idle(LogPosition),
    /// Entries of ours are in flight; `diverged` once one of them failed or
    /// got other offsets than predicted.
    InFlight { diverged: bool },
}

/// Predicts where each submitted entry lands (pure: metrics in, prediction out).
#[derive(Debug, Default)]
struct Predictor {
    next: Option<Prediction>,
}

impl Predictor {
    /// The prediction for the entry about to be submitted, which holds
    /// `offsets` offsets (`batch::offsets_in` of its batches); `None` if the
    /// offsets cannot be told, and acks=1 must wait for the commit.
    ///
    /// When idle, the prediction re-anchors on a fully applied log (every
    /// entry applied, so the high watermark is where the next entry's
    /// offsets start); while entries are in flight it continues from the
    /// previous entry, unless one diverged.
    fn next_entry(&mut self, pipeline: Pipeline, offsets: u64) -> Option<Prediction> {
        match pipeline {
            Pipeline::Idle(log) => {
                let caught_up = log.last_applied_index == log.last_log_index;
                self.next = (log.is_leader && caught_up).then(|| Prediction {
                    next_offset: log.high_watermark,
                    next_index: log.last_log_index.map_or(0, |i| i + 1),
                });
            }
            Pipeline::InFlight { diverged: true } => self.next = None,
            Pipeline::InFlight { diverged: false } => {}
        }
        let this = self.next;
        if let Some(p) = self.next.as_mut() {
            p.next_offset += offsets;
            p.next_index += 1;
        }
        this
    }
}

/// The offsets to answer at the local append: one per request of the entry,
/// in order, `Some` for the acks=1 (`leader_only`) requests. `requests` are
/// `(leader_only, offsets the request's batches span)`.
fn local_append_offsets(p: Prediction, requests: &[(bool, u64)]) -> Vec<Option<u64>> {
    let mut offset = p.next_offset;
    requests
        .iter()
        .map(|&(leader_only, offsets)| {
            let answer = leader_only.then_some(offset);
            offset += offsets;
            answer
        })
        .collect()
}

/// Whether the outcome of an entry breaks the prediction pipeline: it failed,
/// or its first base offset is not the predicted one.
fn diverges(predicted: Option<Prediction>, result: &Result<Vec<u64>, i16>) -> bool {
    match (result, predicted) {
        (Ok(offsets), Some(p)) => offsets.first() != Some(&p.next_offset),
        (Ok(_), None) => false,
        (Err(_), _) => true,
    }
}

/// Each request's answer at commit: the base offset of its first batch, or
/// the error code of its first batch that apply refused (`rejected`: entry
/// positions and codes). `batches` holds how many batches each request put
/// in the entry.
fn replies(
    batches: &[usize],
    result: &Result<Vec<u64>, i16>,
    rejected: &[(u32, i16)],
) -> Vec<Result<i64, i16>> {
    let mut next = 0usize;
    batches
        .iter()
        .map(|&n| {
            let refused = rejected
                .iter()
                .find(|(position, _)| (next..next + n).contains(&(*position as usize)));
            let reply = match (result, refused) {
                (Err(code), _) => Err(*code),
                (Ok(_), Some(&(_, code))) => Err(code),
                (Ok(offsets), None) => offsets
                    .get(next)
                    .map(|&o| o as i64)
                    .ok_or(UNKNOWN_SERVER_ERROR),
            };
            next += n;
            reply
        })
        .collect()
}

/// Starts the appender of `group` as one of `tasks`; it stops when every
/// sender is dropped, once the writes it submitted have been answered.
pub fn spawn(
    group: GroupId,
    raft: Raft<PartitionTypeConfig>,
    reader: PartitionReader<PartitionTypeConfig>,
    gate: Gate,
    tasks: &Tasks,
) -> mpsc::UnboundedSender<Write> {
    let (tx, rx) = mpsc::unbounded_channel();
    tasks.spawn("appender", run(group, raft, reader, gate, rx));
    tx
}

async fn run(
    group: GroupId,
    raft: Raft<PartitionTypeConfig>,
    reader: PartitionReader<PartitionTypeConfig>,
    gate: Gate,
    mut rx: mpsc::UnboundedReceiver<Write>,
) {
    let in_flight = gate.in_flight.clone();
    let diverged = Arc::new(AtomicBool::new(false));
    let mut predictor = Predictor::default();
    // One task per submitted entry, answering its requests; owned here.
    let mut waiting = JoinSet::new();
    // A marker that ended the gathering of an entry: proposed next.
    let mut held: Option<Write> = None;
    loop {
        let write = match held.take() {
            Some(write) => write,
            None => match rx.recv().await {
                Some(write) => write,
                None => break,
            },
        };
        // While leadership is being handed over the gate is shut: requests
        // queue, and once it opens (if leadership moved) proposing them
        // answers NOT_LEADER_OR_FOLLOWER.
        let _proposing = gate.proposing.read().await;
        while waiting.try_join_next().is_some() {}
        let first = match write {
            Write::Append(append) => append,
            Write::Marker(marker) => {
                // Apply decides whether it takes an offset: no prediction
                // for any entry after it until the pipeline drains.
                diverged.store(true, Ordering::Release);
                predictor.next_entry(Pipeline::InFlight { diverged: true }, 0);
                let request = PartitionRequest::TxnMarker {
                    batch: ByteBuf::from(marker.batch),
                    txn_seq: marker.txn_seq,
                };
                match raft.client_write_ff(request).await {
                    Ok(committed) => {
                        in_flight.fetch_add(1, Ordering::AcqRel);
                        let in_flight = in_flight.clone();
                        let reply = marker.reply;
                        waiting.spawn(async move {
                            let answer = match committed.await {
                                Ok(Ok(written)) => Ok(written.data),
                                Ok(Err(e)) => Err(e.to_string()),
                                Err(e) => Err(format!("outcome unknown: {e}")),
                            };
                            let _ = reply.send(answer);
                            in_flight.fetch_sub(1, Ordering::AcqRel);
                        });
                    }
                    Err(fatal) => {
                        let _ = marker.reply.send(Err(fatal.to_string()));
                    }
                }
                continue;
            }
        };
        let mut size: usize = first.batches.iter().map(Bytes::len).sum();
        let mut appends = vec![first];
        while size < MAX_ENTRY_BYTES {
            match rx.try_recv() {
                Ok(Write::Append(next)) => {
                    size += next.batches.iter().map(Bytes::len).sum::<usize>();
                    appends.push(next);
                }
                Ok(marker) => {
                    held = Some(marker);
                    break;
                }
                Err(_) => break,
            }
        }
        let idempotent = appends.iter().any(|a| batch::any_with_producer(&a.batches));
        let pipeline = if idempotent {
            // Apply decides where (and whether) these batches land: no
            // prediction for this entry nor any after it until drained.
            diverged.store(true, Ordering::Release);
            Pipeline::InFlight { diverged: true }
        } else if in_flight.load(Ordering::Acquire) == 0 {
            // Nothing of ours is pending: the prediction may re-anchor.
            let metrics = raft.metrics().borrow().clone();
            diverged.store(false, Ordering::Release);
            Pipeline::Idle(LogPosition {
                is_leader: metrics.state.is_leader(),
                last_applied_index: metrics.last_applied.map(|l| l.index),
                last_log_index: metrics.last_log_index,
                high_watermark: reader.high_watermark(),
            })
        } else {
            Pipeline::InFlight {
                diverged: diverged.load(Ordering::Acquire),
            }
        };
        let offsets = appends.iter().map(|a| batch::offsets_in(&a.batches)).sum();
        let this = predictor.next_entry(pipeline, offsets);
        let batches = appends
            .iter()
            .flat_map(|a| a.batches.iter().map(|b| ByteBuf::from(b.to_vec())))
            .collect();
        let proposed = std::time::Instant::now();
        match raft
            .client_write_ff(PartitionRequest::Append { batches })
            .await
        {
            Ok(committed) => {
                in_flight.fetch_add(1, Ordering::AcqRel);
                let (raft, in_flight, diverged) =
                    (raft.clone(), in_flight.clone(), diverged.clone());
                let mut appends: Vec<Waiting> = appends.into_iter().map(Waiting::from).collect();
                waiting.spawn(async move {
                    if let Some(p) = this {
                        answer_at_local_append(&raft, p, &mut appends).await;
                    }
                    let mut rejected = Vec::new();
                    let outcome = committed.await;
                    if matches!(outcome, Ok(Ok(_))) {
                        cairn_common::metrics::metrics()
                            .raft
                            .commit_duration
                            .observe(proposed.elapsed().as_secs_f64());
                    }
                    let result = match outcome {
                        Ok(Ok(written)) => match written.data {
                            PartitionResponse::Appended {
                                base_offsets,
                                rejected: refused,
                            } => {
                                rejected = refused;
                                Ok(base_offsets)
                            }
                            PartitionResponse::None
                            | PartitionResponse::Trimmed { .. }
                            | PartitionResponse::ProducersExpired { .. }
                            | PartitionResponse::Marker { .. } => Err(UNKNOWN_SERVER_ERROR),
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
                    if diverges(this, &result) {
                        if let (Ok(offsets), Some(p)) = (&result, this) {
                            tracing::error!(group, predicted = p.next_offset, actual = ?offsets.first(), "acks=1 offset prediction diverged");
                        }
                        diverged.store(true, Ordering::Release);
                    }
                    reply_all(appends, result, &rejected);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                });
            }
            Err(fatal) => {
                tracing::warn!(group, error = %fatal, "partition group is stopped");
                diverged.store(true, Ordering::Release);
                reply_all(
                    appends.into_iter().map(Waiting::from).collect(),
                    Err(NOT_LEADER_OR_FOLLOWER),
                    &[],
                );
            }
        }
    }
    while waiting.join_next().await.is_some() {}
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
            |m| p.appended(m.state.is_leader(), m.last_log_index),
            "local append",
        )
        .await;
    if appended.is_err() {
        return; // answered at commit instead
    }
    let requests: Vec<(bool, u64)> = appends.iter().map(|a| (a.leader_only, a.records)).collect();
    for (waiting, offset) in appends.iter_mut().zip(local_append_offsets(p, &requests)) {
        if let Some(offset) = offset {
            if let Some(reply) = waiting.reply.take() {
                let _ = reply.send(Ok(offset as i64));
            }
        }
    }
}

/// Gives each request still waiting its answer ([`replies`]).
fn reply_all(appends: Vec<Waiting>, result: Result<Vec<u64>, i16>, rejected: &[(u32, i16)]) {
    let batches: Vec<usize> = appends.iter().map(|a| a.batches).collect();
    for (waiting, reply) in appends
        .into_iter()
        .zip(replies(&batches, &result, rejected))
    {
        if let Some(sender) = waiting.reply {
            let _ = sender.send(reply);
        }
    }
}

#[cfg(test)]
mod tests {
    use cairn_storage::partition::assign_offsets;

    use super::*;

    fn records(n: usize) -> Bytes {
        let values: Vec<&[u8]> = (0..n).map(|_| &b"v"[..]).collect();
        Bytes::from(batch::build(&values, 0))
    }

    /// A batch whose lastOffsetDelta is negative (produce rejects it; the
    /// prediction must still count it as apply does: no offsets).
    fn spanless() -> Bytes {
        let mut b = batch::build(&[b"v"], 0);
        b[23..27].copy_from_slice(&(-1i32).to_be_bytes());
        Bytes::from(b)
    }

    fn idle(
        is_leader: bool,
        last_applied_index: Option<u64>,
        last_log_index: Option<u64>,
        high_watermark: u64,
    ) -> Pipeline {
        Pipeline::Idle(LogPosition {
            is_leader,
            last_applied_index,
            last_log_index,
            high_watermark,
        })
    }

    fn at(next_offset: u64, next_index: u64) -> Option<Prediction> {
        Some(Prediction {
            next_offset,
            next_index,
        })
    }

    #[test]
    fn an_idle_appender_predicts_only_as_a_caught_up_leader() {
        // (pipeline when idle, expected prediction for the next entry)
        let cases = [
            (idle(true, Some(9), Some(9), 40), at(40, 10)),
            (idle(true, None, None, 0), at(0, 0)),
            // Entries not applied yet: the high watermark is not where ours start.
            (idle(true, Some(8), Some(9), 40), None),
            (idle(true, None, Some(1), 0), None),
            // Not the leader: the entry will not be appended here.
            (idle(false, Some(9), Some(9), 40), None),
        ];
        for (pipeline, want) in cases {
            assert_eq!(
                Predictor::default().next_entry(pipeline, 3),
                want,
                "{pipeline:?}"
            );
        }
    }

    #[test]
    fn entries_in_flight_continue_from_the_previous_prediction() {
        let mut predictor = Predictor::default();
        let in_flight = Pipeline::InFlight { diverged: false };
        assert_eq!(
            predictor.next_entry(idle(true, Some(4), Some(4), 100), 3),
            at(100, 5)
        );
        assert_eq!(predictor.next_entry(in_flight, 2), at(103, 6));
        assert_eq!(predictor.next_entry(in_flight, 0), at(105, 7));
        assert_eq!(predictor.next_entry(in_flight, 7), at(105, 8));
        assert_eq!(predictor.next_entry(in_flight, 1), at(112, 9));
    }

    #[test]
    fn a_divergence_stops_predicting_until_the_pipeline_drains() {
        let mut predictor = Predictor::default();
        predictor.next_entry(idle(true, Some(4), Some(4), 100), 3);
        let diverged = Pipeline::InFlight { diverged: true };
        assert_eq!(predictor.next_entry(diverged, 1), None);
        // Still none after the flag clears while entries are in flight: the
        // old chain is not trusted again.
        assert_eq!(
            predictor.next_entry(Pipeline::InFlight { diverged: false }, 1),
            None
        );
        assert_eq!(
            predictor.next_entry(idle(true, Some(7), Some(7), 110), 1),
            at(110, 8)
        );
    }

    #[test]
    fn without_a_prediction_nothing_is_predicted_in_flight() {
        let mut predictor = Predictor::default();
        assert_eq!(predictor.next_entry(idle(false, None, None, 0), 1), None);
        assert_eq!(
            predictor.next_entry(Pipeline::InFlight { diverged: false }, 1),
            None
        );
    }

    #[test]
    fn acks_1_is_answered_once_the_leader_log_holds_the_entry() {
        let p = at(0, 10).unwrap();
        assert!(p.appended(true, Some(10)));
        assert!(p.appended(true, Some(12)));
        assert!(!p.appended(true, Some(9)));
        assert!(!p.appended(true, None));
        assert!(!p.appended(false, Some(10)));
    }

    #[test]
    fn only_acks_1_requests_are_answered_at_the_local_append() {
        let p = at(10, 3).unwrap();
        let requests = [(true, 2), (false, 3), (true, 1), (true, 0), (false, 4)];
        assert_eq!(
            local_append_offsets(p, &requests),
            vec![Some(10), None, Some(15), Some(16), None]
        );
    }

    #[test]
    fn predicted_offsets_are_the_offsets_apply_assigns() {
        // Requests of one entry; the last holds a batch spanning no offsets.
        let requests: Vec<Vec<Bytes>> = vec![
            vec![records(2), records(1)],
            vec![records(3)],
            vec![spanless(), records(2)],
            vec![records(1)],
        ];
        let high_watermark = 57;
        let mut predictor = Predictor::default();
        let offsets = requests.iter().map(|r| batch::offsets_in(r)).sum();
        let p = predictor
            .next_entry(idle(true, Some(3), Some(3), high_watermark), offsets)
            .expect("a caught-up leader predicts");
        let shape: Vec<(bool, u64)> = requests
            .iter()
            .map(|r| (true, batch::offsets_in(r)))
            .collect();
        let predicted = local_append_offsets(p, &shape);

        let all: Vec<Bytes> = requests.iter().flatten().cloned().collect();
        let applied = assign_offsets(high_watermark, &all);
        let batches: Vec<usize> = requests.iter().map(Vec::len).collect();
        let at_commit = replies(&batches, &Ok(applied.base_offsets.clone()), &[]);
        assert_eq!(
            predicted
                .iter()
                .map(|o| Ok(o.unwrap() as i64))
                .collect::<Vec<_>>(),
            at_commit
        );
        assert!(!diverges(Some(p), &Ok(applied.base_offsets)));
        // The next entry is predicted where apply leaves the next offset.
        assert_eq!(
            predictor
                .next_entry(Pipeline::InFlight { diverged: false }, 1)
                .map(|p| p.next_offset),
            Some(applied.next_offset)
        );
    }

    #[test]
    fn outcomes_that_break_the_prediction() {
        let p = at(10, 3);
        // (prediction, outcome, diverges)
        let cases = [
            (p, Ok(vec![10, 12]), false),
            (p, Ok(vec![11, 12]), true),
            (p, Ok(vec![]), true),
            (p, Err(NOT_LEADER_OR_FOLLOWER), true),
            (None, Ok(vec![4]), false),
            (None, Err(REQUEST_TIMED_OUT), true),
        ];
        for (predicted, outcome, want) in cases {
            assert_eq!(
                diverges(predicted, &outcome),
                want,
                "{predicted:?} {outcome:?}"
            );
        }
    }

    #[test]
    fn each_request_gets_the_base_offset_of_its_first_batch() {
        let offsets = Ok(vec![10, 12, 13, 16, 17, 19]);
        assert_eq!(
            replies(&[2, 1, 3], &offsets, &[]),
            vec![Ok(10), Ok(13), Ok(16)]
        );
        // Fewer offsets than batches (never from apply): an error, not a guess.
        assert_eq!(
            replies(&[1, 1], &Ok(vec![5]), &[]),
            vec![Ok(5), Err(UNKNOWN_SERVER_ERROR)]
        );
        assert_eq!(
            replies(&[1, 2], &Err(NOT_LEADER_OR_FOLLOWER), &[]),
            vec![Err(NOT_LEADER_OR_FOLLOWER), Err(NOT_LEADER_OR_FOLLOWER)]
        );
        assert!(replies(&[], &Ok(vec![1]), &[]).is_empty());
    }

    #[test]
    fn a_request_with_a_refused_batch_gets_its_error_code() {
        use cairn_kafka::error_code::{INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER};
        // Three requests of 1, 2 and 1 batches; apply refused positions 2 and 3.
        let offsets = Ok(vec![10, 11, 12, 12]);
        let rejected = [
            (2, OUT_OF_ORDER_SEQUENCE_NUMBER),
            (3, INVALID_PRODUCER_EPOCH),
        ];
        assert_eq!(
            replies(&[1, 2, 1], &offsets, &rejected),
            vec![
                Ok(10),
                Err(OUT_OF_ORDER_SEQUENCE_NUMBER),
                Err(INVALID_PRODUCER_EPOCH)
            ]
        );
        // A failed entry answers its failure, whatever was refused.
        assert_eq!(
            replies(
                &[1],
                &Err(REQUEST_TIMED_OUT),
                &[(0, INVALID_PRODUCER_EPOCH)]
            ),
            vec![Err(REQUEST_TIMED_OUT)]
        );
    }
}
