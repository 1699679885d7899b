//! The coordinator side of one `__consumer_offsets` partition on this broker.
//! While this broker leads the partition it proposes group requests as Raft
//! entries and answers each once an applied entry decides it: at once, or —
//! for a JoinGroup or SyncGroup the coordinator parks — when a later entry
//! (another member's request, a timer tick) does. Only the proposer holds the
//! waiting requests; replicas apply the same entries and drop the answers.

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
use cairn_coordinator::{Decision, Event, GroupCoordinatorConfig, RequestId, Response};
use cairn_kafka::KafkaError;
use cairn_storage::state_machine::MachineReader;
use cairn_storage::GroupId;

use super::machine::{CoordinatorCommand, OffsetsMachine, OffsetsTypeConfig};
use crate::clock::now_ms;

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
    next_seq: AtomicU64,
    waiting: Mutex<HashMap<RequestId, Waiter>>,
    stop: watch::Sender<bool>,
}

impl CoordinatorHost {
    /// A host for `group`'s replica on broker `me`, whose coordinator state
    /// `reader` reads, serving with `settings`.
    pub fn new(
        me: u64,
        group: GroupId,
        raft: Raft<OffsetsTypeConfig>,
        reader: MachineReader<OffsetsMachine>,
        settings: GroupCoordinatorConfig,
    ) -> Self {
        Self {
            me,
            group,
            raft,
            reader,
            settings,
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
        self.reader.read(|m| m.0.config() == &self.settings)
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
        let command = CoordinatorCommand {
            event,
            now_ms: now_ms(),
        };
        match self.raft.client_write(command).await {
            Ok(written) => {
                self.deliver(written.data.decisions);
                Ok(())
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
            if !self.configured() {
                let event = Event::Configure(self.settings.clone());
                if self.propose(event).await.is_ok() {
                    tracing::info!(group = self.group, "group settings applied");
                }
                continue;
            }
            let due = self
                .reader
                .read(|m| m.0.next_deadline())
                .is_some_and(|deadline| deadline <= now_ms());
            if due {
                let _ = self.propose(Event::Tick).await;
            }
        }
        self.release_all();
    }
}
