//! The coordinator side of one coordinator partition (`__consumer_offsets`
//! or `__transaction_state`) on this broker. While this broker leads the
//! partition it proposes group requests as Raft entries and answers each
//! once an applied entry decides it: at once, or — for a JoinGroup or
//! SyncGroup the coordinator parks — when a later entry (another member's
//! request, a timer tick) does. Only the proposer holds the waiting
//! requests; replicas apply the same entries and drop the answers.
//! Transaction requests are answered by the entry that carries them
//! ([`CoordinatorHost::txn_request`]); the markers their decisions call for
//! are written by [`crate::txn::markers`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::Raft;
use tokio::sync::{oneshot, watch};

use cairn_common::error_code::{
    COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, REQUEST_TIMED_OUT,
};
use cairn_coordinator::txn::{TxnAnswer, TxnConfig, TxnDecision, TxnEvent};
use cairn_coordinator::{Decision, Event, GroupCoordinatorConfig, RequestId, Response};
use cairn_kafka::KafkaError;
use cairn_storage::state_machine::MachineReader;
use cairn_storage::GroupId;

use super::machine::{CoordinatorCommand, CoordinatorReply, OffsetsMachine, OffsetsTypeConfig};
use crate::clock::now_ms;

/// What a transaction decision in reply to an event means for
/// `cairn_txn_ended`: EndTxn ends a transaction as the client asked; any
/// other event (a tick, a new producer's InitProducerId) aborts one.
enum EndCause {
    Client,
    Timeout,
    Fenced,
}

impl EndCause {
    fn of(event: &Event) -> Self {
        match event {
            Event::Txn(TxnEvent::EndTxn { .. }) => EndCause::Client,
            Event::Txn(TxnEvent::InitProducerId { .. }) => EndCause::Fenced,
            // A tick, or any event: timeouts fire before it is applied.
            _ => EndCause::Timeout,
        }
    }
}

/// Counts the transactions `decisions` ended in `cairn_txn_ended`; returns
/// how many.
fn count_ended(cause: &EndCause, decisions: &[TxnDecision]) -> usize {
    // Timeouts fire before the entry's request is applied, so their markers
    // come first; the request's own decision (EndTxn, or the abort a new
    // producer's InitProducerId causes) is the last one.
    let last = decisions
        .iter()
        .rposition(|d| matches!(d, TxnDecision::WriteMarkers { .. }));
    let mut ended = 0;
    for (i, d) in decisions.iter().enumerate() {
        if let TxnDecision::WriteMarkers { commit, .. } = d {
            let cause = match cause {
                EndCause::Client if Some(i) == last => "client",
                EndCause::Fenced if Some(i) == last => "fenced",
                _ => "timeout",
            };
            cairn_common::metrics::metrics()
                .txn
                .ended
                .get_or_create(&cairn_common::metrics::TxnEndLabels {
                    outcome: if *commit { "commit" } else { "abort" },
                    cause,
                })
                .inc();
            ended += 1;
        }
    }
    ended
}

/// The longest a request may stay parked: a JoinGroup waits up to the
/// group's rebalance timeout (librdkafka's and Java's default 300 s).
const LONGEST_PARK: Duration = Duration::from_secs(310);
/// How often the host checks for a due coordinator timer.
const TICK_CHECK: Duration = Duration::from_millis(100);

type Waiter = oneshot::Sender<Result<Response, i16>>;

/// A running offsets partition: its state and its coordinator host.
#[derive(Clone)]
pub struct OffsetsHandle {
    /// The coordinator state, as applied here.
    pub reader: MachineReader<OffsetsMachine>,
    /// Proposes and answers group requests while this broker leads.
    pub host: std::sync::Arc<CoordinatorHost>,
}

/// Proposes group requests of one offsets partition and answers them.
pub struct CoordinatorHost {
    me: u64,
    group: GroupId,
    raft: Raft<OffsetsTypeConfig>,
    reader: MachineReader<OffsetsMachine>,
    /// This broker's group settings; as leader it makes them the partition's
    /// (an [`Event::Configure`] entry) before it serves.
    settings: GroupCoordinatorConfig,
    /// This broker's transaction settings, made the partition's likewise.
    txn_settings: TxnConfig,
    /// Woken when an entry decided that markers are to be written.
    markers_due: std::sync::Arc<tokio::sync::Notify>,
    next_seq: AtomicU64,
    waiting: Mutex<HashMap<RequestId, Waiter>>,
    stop: watch::Sender<bool>,
}

impl CoordinatorHost {
    /// A host for `group`'s replica on broker `me`, whose coordinator state
    /// `reader` reads, serving with `settings` and `txn_settings`.
    pub fn new(
        me: u64,
        group: GroupId,
        raft: Raft<OffsetsTypeConfig>,
        reader: MachineReader<OffsetsMachine>,
        (settings, txn_settings): (GroupCoordinatorConfig, TxnConfig),
        markers_due: std::sync::Arc<tokio::sync::Notify>,
    ) -> Self {
        Self {
            me,
            group,
            raft,
            reader,
            settings,
            txn_settings,
            markers_due,
            next_seq: AtomicU64::new(0),
            waiting: Mutex::default(),
            stop: watch::channel(false).0,
        }
    }

    /// Ends [`CoordinatorHost::run_timers`] (the group is stopping).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Whether this broker serves the partition's groups: it leads (see
    /// `CoordinatorHost::leading`) and the applied settings are its own.
    pub fn ready(&self) -> Result<(), KafkaError> {
        self.leading()?;
        if !self.configured() {
            return Err(KafkaError::new(
                COORDINATOR_LOAD_IN_PROGRESS,
                format!(
                    "offsets group {} is applying broker {}'s group settings",
                    self.group, self.me
                ),
            ));
        }
        Ok(())
    }

    fn configured(&self) -> bool {
        self.reader
            .read(|m| m.0.config() == &self.settings && m.1.config() == &self.txn_settings)
    }

    /// The partition's Raft group.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// The current Raft term: the epoch of this coordinator (written into
    /// the transaction markers it decides).
    pub fn term(&self) -> u64 {
        self.raft.metrics().borrow().current_term
    }

    /// Proposes a transaction coordinator event and answers with the
    /// coordinator's answer to it (a request event), or `Done` for the
    /// broker's own reports.
    pub async fn txn_request(&self, event: TxnEvent) -> Result<TxnAnswer, KafkaError> {
        self.ready()?;
        let reply = self
            .propose_reply(Event::Txn(event))
            .await
            .map_err(KafkaError::from_code)?;
        Ok(reply
            .txn
            .into_iter()
            .find_map(|d| match d {
                TxnDecision::Respond(answer) => Some(answer),
                TxnDecision::WriteMarkers { .. } => None,
            })
            .unwrap_or(TxnAnswer::Done))
    }

    /// Proposes a transaction marker to this offsets partition's group
    /// coordinator (it releases or drops the producer's transactional
    /// offsets). Errors: NOT_COORDINATOR while this broker does not lead.
    pub async fn write_marker(
        &self,
        marker: cairn_coordinator::TxnMarkerEvent,
    ) -> Result<(), KafkaError> {
        self.leading()?;
        self.propose(Event::TxnMarker(marker))
            .await
            .map_err(KafkaError::from_code)
    }

    /// Whether this broker leads the partition and has applied an entry of
    /// its own term (the blank entry a leader commits first), and so every
    /// entry its predecessors committed.
    fn leading(&self) -> Result<(), KafkaError> {
        // Read in place: this runs every TICK_CHECK on every replica.
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        if m.current_leader != Some(self.me) || !m.state.is_leader() {
            return Err(KafkaError::new(
                NOT_COORDINATOR,
                format!(
                    "broker {} does not lead offsets group {}",
                    self.me, self.group
                ),
            ));
        }
        if m.last_applied.map(|l| l.leader_id.term) != Some(m.current_term) {
            return Err(KafkaError::from_code(COORDINATOR_LOAD_IN_PROGRESS));
        }
        Ok(())
    }

    /// Proposes the event `build` makes with a fresh request id and waits for
    /// the coordinator's answer to it.
    pub async fn request(
        &self,
        build: Box<dyn FnOnce(RequestId) -> Event + Send>,
    ) -> Result<Response, KafkaError> {
        self.ready()?;
        let term = self.raft.metrics().borrow().current_term;
        let id = RequestId::new(term, self.next_seq.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("waiting lock").insert(id, tx);
        if let Err(code) = self.propose(build(id)).await {
            self.waiting.lock().expect("waiting lock").remove(&id);
            return Err(KafkaError::from_code(code));
        }
        match tokio::time::timeout(LONGEST_PARK, rx).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => Err(KafkaError::from_code(code)),
            Ok(Err(_)) | Err(_) => {
                self.waiting.lock().expect("waiting lock").remove(&id);
                Err(KafkaError::from_code(REQUEST_TIMED_OUT))
            }
        }
    }

    /// Proposes one entry and delivers every answer it decided.
    async fn propose(&self, event: Event) -> Result<(), i16> {
        self.propose_reply(event).await.map(|_| ())
    }

    /// Proposes one entry, delivers every group answer it decided and
    /// returns what it decided.
    async fn propose_reply(&self, event: Event) -> Result<CoordinatorReply, i16> {
        let event_kind = EndCause::of(&event);
        let command = CoordinatorCommand {
            event,
            now_ms: now_ms(),
        };
        match self.raft.client_write(command).await {
            Ok(written) => {
                let mut reply = written.data;
                self.deliver(std::mem::take(&mut reply.decisions));
                let decided = count_ended(&event_kind, &reply.txn);
                if decided > 0 {
                    self.markers_due.notify_one();
                }
                Ok(reply)
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(NOT_COORDINATOR),
            Err(e) => {
                tracing::warn!(group = self.group, error = %e, "coordinator proposal failed");
                Err(COORDINATOR_NOT_AVAILABLE)
            }
        }
    }

    fn deliver(&self, decisions: Vec<Decision>) {
        let mut waiting = self.waiting.lock().expect("waiting lock");
        for decision in decisions {
            if let Decision::Respond { request, response } = decision {
                if let Some(waiter) = waiting.remove(&request) {
                    let _ = waiter.send(Ok(response));
                }
            }
        }
    }

    /// Answers every waiting request with NOT_COORDINATOR (leadership moved:
    /// the members find the new coordinator and carry on there).
    fn release_all(&self) {
        let mut waiting = self.waiting.lock().expect("waiting lock");
        for (_, waiter) in waiting.drain() {
            let _ = waiter.send(Err(NOT_COORDINATOR));
        }
    }

    /// Until [`CoordinatorHost::stop`]: while leading, makes this broker's
    /// settings the partition's and then proposes a tick whenever a
    /// coordinator timer is due; when not leading, releases what still waits.
    pub async fn run_timers(&self) {
        let mut stop = self.stop.subscribe();
        let mut ticker = tokio::time::interval(TICK_CHECK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cairn_raft::until_true(&mut stop) => break,
                _ = ticker.tick() => {}
            }
            if self.leading().is_err() {
                if !self.waiting.lock().expect("waiting lock").is_empty() {
                    self.release_all();
                }
                continue;
            }
            let (groups_set, txns_set) = self.reader.read(|m| {
                (
                    m.0.config() == &self.settings,
                    m.1.config() == &self.txn_settings,
                )
            });
            if !groups_set {
                let event = Event::Configure(self.settings.clone());
                if self.propose(event).await.is_ok() {
                    tracing::info!(group = self.group, "group settings applied");
                }
                continue;
            }
            if !txns_set {
                let event = Event::Txn(TxnEvent::Configure(self.txn_settings.clone()));
                if self.propose(event).await.is_ok() {
                    tracing::info!(group = self.group, "transaction settings applied");
                }
                continue;
            }
            let now = now_ms();
            let (groups_due, txns_due) = self.reader.read(|m| {
                (
                    m.0.next_deadline().is_some_and(|d| d <= now),
                    m.1.next_deadline().is_some_and(|d| d <= now),
                )
            });
            if groups_due {
                let _ = self.propose(Event::Tick).await;
            }
            if txns_due {
                let _ = self.propose(Event::Txn(TxnEvent::Tick)).await;
            }
        }
        self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers(commit: bool) -> TxnDecision {
        TxnDecision::WriteMarkers {
            transactional_id: "t".into(),
            producer_id: 1,
            producer_epoch: 0,
            commit,
            partitions: Vec::new(),
        }
    }

    fn ended(outcome: &'static str, cause: &'static str) -> u64 {
        cairn_common::metrics::metrics()
            .txn
            .ended
            .get_or_create(&cairn_common::metrics::TxnEndLabels { outcome, cause })
            .get()
    }

    #[test]
    fn the_requests_own_decision_is_last_and_earlier_ones_are_timeouts() {
        let before = (
            ended("commit", "client"),
            ended("abort", "timeout"),
            ended("abort", "fenced"),
        );
        let answer = TxnDecision::Respond(TxnAnswer::Done);
        // An EndTxn entry that also timed out another transaction.
        let n = count_ended(
            &EndCause::Client,
            &[answer.clone(), markers(false), markers(true)],
        );
        assert_eq!(n, 2);
        // An InitProducerId that aborted the open transaction.
        count_ended(&EndCause::Fenced, &[markers(false)]);
        // A tick.
        count_ended(&EndCause::Timeout, &[markers(false)]);
        assert_eq!(ended("commit", "client"), before.0 + 1);
        assert_eq!(ended("abort", "timeout"), before.1 + 2);
        assert_eq!(ended("abort", "fenced"), before.2 + 1);
        assert_eq!(count_ended(&EndCause::Client, &[answer]), 0);
    }
}
