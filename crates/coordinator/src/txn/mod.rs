//! The transaction coordinator of Kafka's transactions (KIP-98) as a pure,
//! deterministic state machine: events in, decisions out, time an argument.
//!
//! # Where it runs
//!
//! Like the group coordinator, one [`TransactionCoordinator`] is the state of
//! one partition of the internal `__transaction_state` topic, a Raft group;
//! the transactional ids that hash to it are coordinated by its leader. The
//! broker turns each request into a [`TxnEvent`], proposes it, and every
//! replica applies it with the entry's timestamp, so a new leader knows every
//! transaction the old one knew. (The broker side is not built yet: this
//! module is the first step of issue 18.)
//!
//! # The model
//!
//! A transactional id has a producer id and epoch and a [`TxnState`]:
//!
//! - **Empty**: initialised, no transaction open.
//! - **Ongoing**: AddPartitionsToTxn (or AddOffsetsToTxn) registered the
//!   first partition; more may join. It must end within its timeout.
//! - **PrepareCommit / PrepareAbort**: EndTxn (or a timeout, or a new
//!   producer's InitProducerId) decided the outcome; the answer goes out and
//!   [`TxnDecision::WriteMarkers`] asks the broker to write the commit or
//!   abort marker to every partition of the transaction. Requests other
//!   than a retried EndTxn are answered CONCURRENT_TRANSACTIONS meanwhile.
//! - **CompleteCommit / CompleteAbort**: the markers are written
//!   ([`TxnEvent::MarkersWritten`]); the next transaction may begin.
//!
//! # Fencing
//!
//! InitProducerId bumps the epoch; a request with an older epoch is answered
//! PRODUCER_FENCED, so a zombie (a producer that was replaced while paused
//! or partitioned) can neither add partitions nor commit. A transaction that
//! is still open when InitProducerId arrives is aborted first, with the
//! epoch bumped so that its producer is fenced, and the new producer retries
//! (CONCURRENT_TRANSACTIONS) until the abort completes. A transaction open
//! past its timeout is aborted the same way on the next event
//! ([`TxnEvent::Tick`] does only that). When the epoch would overflow, the
//! producer id changes: the broker allocates one for every InitProducerId
//! and the event carries it, so applying stays deterministic.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::error_code;

pub mod pending_offsets;
#[cfg(test)]
mod tests;

/// A partition of a transaction: (topic, partition).
pub type TxnPartition = (String, i32);

/// Where a transactional id stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

impl TxnState {
    /// Kafka's name of the state (DescribeTransactions, ListTransactions).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }

    /// No transaction open or completing: a new one may begin.
    fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }
}

/// One transactional id's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMetadata {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump by InitProducerId, so that a retried
    /// InitProducerId (KIP-360) gets the same answer, not another bump.
    pub last_producer_epoch: Option<i16>,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions of the open (or completing) transaction.
    pub partitions: BTreeSet<TxnPartition>,
    /// When the open transaction began (its first partition), ms.
    pub started_ms: Option<u64>,
    /// When this id last changed, ms (for expiry).
    pub updated_ms: u64,
    /// The number of the current (or last) transaction: it grows by one
    /// each time a transaction begins, and markers carry it, so that a
    /// partition can tell a late duplicate marker of an earlier
    /// transaction from the marker of the current one.
    pub txn_seq: u64,
}

/// The coordinator's settings, with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: the longest timeout a producer may ask for.
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: an idle transactional id unused
    /// this long is forgotten.
    pub id_expiration_ms: u64,
}

impl Default for TxnConfig {
    fn default() -> Self {
        Self {
            max_timeout_ms: 900_000,
            id_expiration_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// A request (or the broker's report) applied to the coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnEvent {
    /// InitProducerId with a transactional id. `producer` is the (id,
    /// epoch) the request carried (KIP-360, `None` for -1/-1);
    /// `fresh_producer_id` is an id the broker allocated, used when the id
    /// is new or its epoch is exhausted.
    InitProducerId {
        transactional_id: String,
        timeout_ms: i32,
        producer: Option<(i64, i16)>,
        fresh_producer_id: i64,
    },
    /// AddPartitionsToTxn, or AddOffsetsToTxn with the group's
    /// `__consumer_offsets` partition.
    AddPartitions {
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        partitions: Vec<TxnPartition>,
    },
    /// EndTxn.
    EndTxn {
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    },
    /// The broker wrote the markers a [`TxnDecision::WriteMarkers`] asked for.
    MarkersWritten {
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
    },
    /// Time passed: abort transactions past their timeout, forget expired ids.
    Tick,
    /// The leader's settings replace the partition's (a new leader whose
    /// broker config differs proposes this before it serves, so that every
    /// replica decides with the same settings).
    Configure(TxnConfig),
}

/// The answer to a request event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnAnswer {
    /// InitProducerId succeeded.
    Producer {
        producer_id: i64,
        producer_epoch: i16,
    },
    /// The request succeeded.
    Done,
    /// A Kafka error code.
    Error(i16),
}

/// What the broker must do after applying an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnDecision {
    /// Answer the request this event carried.
    Respond(TxnAnswer),
    /// Write the commit (or abort) marker of (`producer_id`,
    /// `producer_epoch`) to each partition, then apply
    /// [`TxnEvent::MarkersWritten`].
    WriteMarkers {
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        partitions: Vec<TxnPartition>,
    },
}

/// The markers one transaction still needs (see
/// [`TransactionCoordinator::pending_markers`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMarkers {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub txn_seq: u64,
    pub partitions: Vec<TxnPartition>,
}

/// The transactions of one `__transaction_state` partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionCoordinator {
    config: TxnConfig,
    ids: BTreeMap<String, TxnMetadata>,
    /// The largest `now` applied: time never runs backwards.
    clock: u64,
}

/// The epoch at which InitProducerId moves to a new producer id.
const LAST_EPOCH: i16 = i16::MAX - 1;

impl TransactionCoordinator {
    /// An empty coordinator with `config`.
    pub fn new(config: TxnConfig) -> Self {
        Self {
            config,
            ids: BTreeMap::new(),
            clock: 0,
        }
    }

    /// The settings applied.
    pub fn config(&self) -> &TxnConfig {
        &self.config
    }

    /// The transactions whose markers are still to be written (PrepareCommit
    /// or PrepareAbort): id, producer id and epoch, outcome, transaction
    /// number and partitions. A new leader writes them again.
    pub fn pending_markers(&self) -> Vec<PendingMarkers> {
        self.ids
            .iter()
            .filter_map(|(id, meta)| {
                let commit = match meta.state {
                    TxnState::PrepareCommit => true,
                    TxnState::PrepareAbort => false,
                    _ => return None,
                };
                Some(PendingMarkers {
                    transactional_id: id.clone(),
                    producer_id: meta.producer_id,
                    producer_epoch: meta.producer_epoch,
                    commit,
                    txn_seq: meta.txn_seq,
                    partitions: meta.partitions.iter().cloned().collect(),
                })
            })
            .collect()
    }

    /// When the next open transaction times out or the next idle
    /// transactional id expires (ms), if any.
    pub fn next_deadline(&self) -> Option<u64> {
        let expiration = self.config.id_expiration_ms;
        self.ids
            .values()
            .filter_map(|m| match m.state {
                TxnState::Ongoing => m.started_ms.map(|s| s + m.timeout_ms.max(0) as u64),
                s if s.is_idle() => Some(m.updated_ms.saturating_add(expiration)),
                _ => None,
            })
            .min()
    }

    /// One transactional id's state.
    pub fn describe(&self, transactional_id: &str) -> Option<&TxnMetadata> {
        self.ids.get(transactional_id)
    }

    /// Every transactional id, by id.
    pub fn list(&self) -> impl Iterator<Item = (&String, &TxnMetadata)> {
        self.ids.iter()
    }

    /// Applies `event` at `now` (ms); returns what to do, the answer to a
    /// request first.
    pub fn apply(&mut self, event: TxnEvent, now: u64) -> Vec<TxnDecision> {
        self.clock = self.clock.max(now);
        let mut decisions = self.expire();
        match event {
            TxnEvent::InitProducerId {
                transactional_id,
                timeout_ms,
                producer,
                fresh_producer_id,
            } => {
                let (answer, markers) = self.init_producer_id(
                    &transactional_id,
                    timeout_ms,
                    producer,
                    fresh_producer_id,
                );
                decisions.insert(0, TxnDecision::Respond(answer));
                decisions.extend(markers);
            }
            TxnEvent::AddPartitions {
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
            } => {
                let answer =
                    self.add_partitions(&transactional_id, producer_id, producer_epoch, partitions);
                decisions.insert(0, TxnDecision::Respond(answer));
            }
            TxnEvent::EndTxn {
                transactional_id,
                producer_id,
                producer_epoch,
                commit,
            } => {
                let (answer, markers) =
                    self.end_txn(&transactional_id, producer_id, producer_epoch, commit);
                decisions.insert(0, TxnDecision::Respond(answer));
                decisions.extend(markers);
            }
            TxnEvent::MarkersWritten {
                transactional_id,
                producer_id,
                producer_epoch,
            } => self.markers_written(&transactional_id, producer_id, producer_epoch),
            TxnEvent::Tick => {}
            TxnEvent::Configure(config) => self.config = config,
        }
        decisions
    }

    fn init_producer_id(
        &mut self,
        id: &str,
        timeout_ms: i32,
        producer: Option<(i64, i16)>,
        fresh_producer_id: i64,
    ) -> (TxnAnswer, Option<TxnDecision>) {
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return (
                TxnAnswer::Error(error_code::INVALID_TRANSACTION_TIMEOUT),
                None,
            );
        }
        let now = self.clock;
        let Some(meta) = self.ids.get_mut(id) else {
            if producer.is_some() {
                // A producer that believes it has an id here, but the
                // coordinator has none (expired): it must start over.
                return (
                    TxnAnswer::Error(error_code::INVALID_PRODUCER_ID_MAPPING),
                    None,
                );
            }
            self.ids.insert(
                id.to_string(),
                TxnMetadata {
                    producer_id: fresh_producer_id,
                    producer_epoch: 0,
                    last_producer_epoch: None,
                    timeout_ms,
                    state: TxnState::Empty,
                    partitions: BTreeSet::new(),
                    started_ms: None,
                    updated_ms: now,
                    txn_seq: 0,
                },
            );
            return (
                TxnAnswer::Producer {
                    producer_id: fresh_producer_id,
                    producer_epoch: 0,
                },
                None,
            );
        };
        if let Some((pid, epoch)) = producer {
            let current = pid == meta.producer_id && epoch == meta.producer_epoch;
            let retried = pid == meta.producer_id
                && Some(epoch) == meta.last_producer_epoch
                && meta.state.is_idle();
            if retried {
                // The answer to this request was lost: give it again.
                return (
                    TxnAnswer::Producer {
                        producer_id: meta.producer_id,
                        producer_epoch: meta.producer_epoch,
                    },
                    None,
                );
            }
            if !current {
                return (TxnAnswer::Error(error_code::PRODUCER_FENCED), None);
            }
        }
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                (TxnAnswer::Error(error_code::CONCURRENT_TRANSACTIONS), None)
            }
            TxnState::Ongoing => {
                // A new producer replaces one with an open transaction:
                // abort it under a bumped epoch (fencing the old producer),
                // and let the new one retry once the abort is complete.
                let markers = Self::begin_abort(id, meta, now);
                (
                    TxnAnswer::Error(error_code::CONCURRENT_TRANSACTIONS),
                    Some(markers),
                )
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                meta.last_producer_epoch = Some(meta.producer_epoch);
                if meta.producer_epoch >= LAST_EPOCH {
                    meta.producer_id = fresh_producer_id;
                    meta.producer_epoch = 0;
                    meta.last_producer_epoch = None;
                } else {
                    meta.producer_epoch += 1;
                }
                meta.timeout_ms = timeout_ms;
                meta.state = TxnState::Empty;
                meta.partitions.clear();
                meta.started_ms = None;
                meta.updated_ms = now;
                (
                    TxnAnswer::Producer {
                        producer_id: meta.producer_id,
                        producer_epoch: meta.producer_epoch,
                    },
                    None,
                )
            }
        }
    }

    /// The checks every request of a producer passes: its id maps to this
    /// transactional id, its epoch is the current one.
    fn producer_of<'a>(
        ids: &'a mut BTreeMap<String, TxnMetadata>,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<&'a mut TxnMetadata, i16> {
        let meta = ids
            .get_mut(id)
            .ok_or(error_code::INVALID_PRODUCER_ID_MAPPING)?;
        if meta.producer_id != producer_id {
            return Err(error_code::INVALID_PRODUCER_ID_MAPPING);
        }
        if producer_epoch != meta.producer_epoch {
            return Err(error_code::PRODUCER_FENCED);
        }
        Ok(meta)
    }

    fn add_partitions(
        &mut self,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: Vec<TxnPartition>,
    ) -> TxnAnswer {
        let now = self.clock;
        let meta = match Self::producer_of(&mut self.ids, id, producer_id, producer_epoch) {
            Ok(meta) => meta,
            Err(code) => return TxnAnswer::Error(code),
        };
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                TxnAnswer::Error(error_code::CONCURRENT_TRANSACTIONS)
            }
            TxnState::Ongoing => {
                meta.partitions.extend(partitions);
                meta.updated_ms = now;
                TxnAnswer::Done
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                if partitions.is_empty() {
                    return TxnAnswer::Done;
                }
                meta.state = TxnState::Ongoing;
                meta.txn_seq += 1;
                meta.partitions = partitions.into_iter().collect();
                meta.started_ms = Some(now);
                meta.updated_ms = now;
                TxnAnswer::Done
            }
        }
    }

    fn end_txn(
        &mut self,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> (TxnAnswer, Option<TxnDecision>) {
        let now = self.clock;
        let meta = match Self::producer_of(&mut self.ids, id, producer_id, producer_epoch) {
            Ok(meta) => meta,
            Err(code) => return (TxnAnswer::Error(code), None),
        };
        let invalid = (TxnAnswer::Error(error_code::INVALID_TXN_STATE), None);
        match (meta.state, commit) {
            (TxnState::Ongoing, _) => {
                meta.state = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                meta.updated_ms = now;
                (TxnAnswer::Done, Some(Self::markers(id, meta, commit)))
            }
            // A retry of an EndTxn that was decided: the same answer.
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
                (TxnAnswer::Done, None)
            }
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                (TxnAnswer::Error(error_code::CONCURRENT_TRANSACTIONS), None)
            }
            _ => invalid,
        }
    }

    fn markers_written(&mut self, id: &str, producer_id: i64, producer_epoch: i16) {
        let now = self.clock;
        let Some(meta) = self.ids.get_mut(id) else {
            return;
        };
        if meta.producer_id != producer_id || meta.producer_epoch != producer_epoch {
            return;
        }
        meta.state = match meta.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            // Markers reported twice, or for a transaction that moved on.
            _ => return,
        };
        meta.partitions.clear();
        meta.started_ms = None;
        meta.updated_ms = now;
    }

    /// Aborts `meta`'s open transaction under a bumped epoch (the producer
    /// that opened it is fenced); returns the markers to write. The old
    /// epoch is remembered: that producer, re-initialising with it
    /// (KIP-360), gets the bumped epoch once the abort is complete; any
    /// other epoch stays fenced.
    fn begin_abort(id: &str, meta: &mut TxnMetadata, now: u64) -> TxnDecision {
        // At the last epoch the abort keeps it; the next InitProducerId
        // moves to a new producer id anyway.
        let bumped = meta.producer_epoch.saturating_add(1).min(LAST_EPOCH);
        meta.last_producer_epoch = Some(meta.producer_epoch);
        meta.producer_epoch = bumped;
        meta.state = TxnState::PrepareAbort;
        meta.updated_ms = now;
        Self::markers(id, meta, false)
    }

    fn markers(id: &str, meta: &TxnMetadata, commit: bool) -> TxnDecision {
        TxnDecision::WriteMarkers {
            transactional_id: id.to_string(),
            producer_id: meta.producer_id,
            producer_epoch: meta.producer_epoch,
            commit,
            partitions: meta.partitions.iter().cloned().collect(),
        }
    }

    /// Aborts the transactions past their timeout and forgets idle ids
    /// unused for `id_expiration_ms`; returns the markers to write.
    fn expire(&mut self) -> Vec<TxnDecision> {
        let now = self.clock;
        let expiration = self.config.id_expiration_ms;
        self.ids.retain(|_, meta| {
            !(meta.state.is_idle() && now.saturating_sub(meta.updated_ms) >= expiration)
        });
        let mut decisions = Vec::new();
        for (id, meta) in &mut self.ids {
            let timed_out = meta.state == TxnState::Ongoing
                && meta
                    .started_ms
                    .is_some_and(|s| now.saturating_sub(s) >= meta.timeout_ms.max(0) as u64);
            if timed_out {
                decisions.push(Self::begin_abort(id, meta, now));
            }
        }
        decisions
    }
}
