//! [`GroupCoordinator`]: every group and committed offset of one coordinator
//! shard (one `__consumer_offsets` partition), the timers, and [`apply`], the
//! single entry point that changes them.
//!
//! [`apply`]: GroupCoordinator::apply

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::GroupCoordinatorConfig;
use crate::consumer::{ConsumerGroup, ConsumerGroupConfig};
use crate::decision::{Decision, Record, Response};
use crate::error::CoordinatorError;
use crate::event::{Event, Millis, RequestId};
use crate::group::ClassicGroup;
use crate::offsets::{FetchedOffset, OffsetStore};
use crate::rebalance;
use crate::timer::{TimerKey, Timers};
use crate::txn::TransactionCoordinator;

/// The group coordinator of one shard (classic and consumer groups): a
/// deterministic state machine. Serialize it whole to snapshot it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCoordinator {
    pub(crate) config: GroupCoordinatorConfig,
    pub(crate) groups: BTreeMap<String, ClassicGroup>,
    pub(crate) offsets: OffsetStore,
    pub(crate) timers: Timers,
    /// Suffix of the next generated member id; never reused.
    pub(crate) next_member_seq: u64,
    /// The latest `now` applied: time never runs backwards inside the state,
    /// even if a new leader's clock is behind the old one's.
    pub(crate) now: Millis,
    /// Consumer (KIP-848) groups, by id; no id is also in `groups`.
    pub(crate) consumer_groups: BTreeMap<String, ConsumerGroup>,
    /// Settings of consumer groups.
    pub(crate) consumer_config: ConsumerGroupConfig,
    /// Offsets of open transactions. Not in the derived serialization (the
    /// snapshot format before transactions): see [`encode_shard`].
    #[serde(skip)]
    pub(crate) pending: crate::txn::pending_offsets::PendingOffsets,
}

/// The snapshot bytes of one coordinator shard: the group coordinator as
/// builds before transactions wrote it, then — only when there are any
/// transactional offsets or transactions — the transactional offsets and
/// the transaction coordinator, so that older snapshots still decode.
pub fn encode_shard(
    groups: &GroupCoordinator,
    txns: &TransactionCoordinator,
) -> Result<Vec<u8>, bincode::Error> {
    let mut bytes = bincode::serialize(groups)?;
    let no_txns = txns == &TransactionCoordinator::default();
    if !groups.pending.is_empty() || !no_txns {
        bincode::serialize_into(&mut bytes, &groups.pending)?;
        if !no_txns {
            bincode::serialize_into(&mut bytes, txns)?;
        }
    }
    Ok(bytes)
}

/// The shard [`encode_shard`] wrote.
pub fn decode_shard(
    bytes: &[u8],
) -> Result<(GroupCoordinator, TransactionCoordinator), bincode::Error> {
    let mut rest = bytes;
    let mut groups: GroupCoordinator = bincode::deserialize_from(&mut rest)?;
    let mut txns = TransactionCoordinator::default();
    if !rest.is_empty() {
        groups.pending = bincode::deserialize_from(&mut rest)?;
        if !rest.is_empty() {
            txns = bincode::deserialize(rest)?;
        }
    }
    Ok((groups, txns))
}

impl GroupCoordinator {
    /// A coordinator with no groups, after checking `config`.
    pub fn new(config: GroupCoordinatorConfig) -> Result<Self, CoordinatorError> {
        config.validate()?;
        Ok(Self {
            config,
            groups: BTreeMap::new(),
            offsets: OffsetStore::new(),
            timers: Timers::default(),
            next_member_seq: 0,
            now: 0,
            consumer_groups: BTreeMap::new(),
            consumer_config: ConsumerGroupConfig::default(),
            pending: Default::default(),
        })
    }

    /// Whether `group_id` has transactional offsets waiting for a marker.
    pub fn has_pending_offsets(&self, group_id: &str) -> bool {
        self.pending.has_pending(group_id)
    }

    /// Whether a transaction holds an offset of `group_id` for
    /// `topic`/`partition` until its marker (OffsetFetch's `require_stable`).
    pub fn has_pending_offset(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        self.pending.is_pending(group_id, topic, partition)
    }

    /// Applies one event at time `now` (the Raft entry's timestamp) and
    /// returns what the broker must do, in order. First every timer due at
    /// `now` fires, each at its own deadline, so the outcome depends only on
    /// the events and their timestamps, never on when ticks arrive.
    pub fn apply(&mut self, event: Event, now: Millis) -> Vec<Decision> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        self.fire_due_timers(&mut out);
        match event {
            Event::JoinGroup(request) => self.join_group(request, &mut out),
            Event::SyncGroup(request) => self.sync_group(request, &mut out),
            Event::Heartbeat(request) => self.heartbeat(request, &mut out),
            Event::LeaveGroup(request) => self.leave_group(request, &mut out),
            Event::OffsetCommit(request) => self.offset_commit(request, &mut out),
            Event::OffsetDelete(request) => self.offset_delete(request, &mut out),
            Event::DeleteGroups(request) => self.delete_groups(request, &mut out),
            Event::Tick => {}
            Event::Configure(config) => self.configure(config),
            Event::ConsumerGroupHeartbeat(request) => {
                self.consumer_group_heartbeat(request, &mut out)
            }
            Event::ConfigureConsumerGroups(config) => {
                if config.validate().is_ok() {
                    self.consumer_config = config;
                }
            }
            Event::TxnOffsetCommit(request) => self.txn_offset_commit(request, &mut out),
            Event::TxnMarker(marker) => self.txn_marker(marker, &mut out),
            Event::Txn(_) => {}
        }
        out
    }

    /// Adopts `config` if it is valid. It takes effect from this entry on:
    /// sessions, rebalances and timers already running keep their deadlines;
    /// the retention check next fires at its armed deadline and then at the
    /// new interval.
    fn configure(&mut self, config: GroupCoordinatorConfig) {
        if config.validate().is_ok() {
            self.config = config;
        }
    }

    /// The earliest armed deadline: tick at or after it.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.next_deadline()
    }

    /// The deadline of one timer, if armed.
    pub fn deadline(&self, key: &TimerKey) -> Option<Millis> {
        self.timers.deadline(key)
    }

    /// The settings.
    pub fn config(&self) -> &GroupCoordinatorConfig {
        &self.config
    }

    /// The settings of consumer groups.
    pub fn consumer_config(&self) -> &ConsumerGroupConfig {
        &self.consumer_config
    }

    /// The latest time applied.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// One group.
    pub fn group(&self, group_id: &str) -> Option<&ClassicGroup> {
        self.groups.get(group_id)
    }

    /// Every group, by id.
    pub fn groups(&self) -> impl Iterator<Item = &ClassicGroup> {
        self.groups.values()
    }

    /// The committed offsets.
    pub fn offsets(&self) -> &OffsetStore {
        &self.offsets
    }

    /// OffsetFetch: the named partitions, or all with `None`. A read: the
    /// broker serves it from applied state (after a read barrier if it must
    /// see every acknowledged commit).
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, Vec<FetchedOffset>)> {
        self.offsets.fetch(group_id, topics)
    }

    fn fire_due_timers(&mut self, out: &mut Vec<Decision>) {
        while let Some((deadline, key)) = self.timers.pop_due(self.now) {
            self.fire(key, deadline, out);
        }
    }

    /// Runs one timer at its deadline `at`.
    fn fire(&mut self, key: TimerKey, at: Millis, out: &mut Vec<Decision>) {
        match key {
            TimerKey::OffsetRetention => return self.expire_offsets(at, out),
            TimerKey::ConsumerSession { .. } | TimerKey::ConsumerRevocation { .. } => {
                return self.fire_consumer_timer(&key)
            }
            TimerKey::Join { .. } | TimerKey::Sync { .. } | TimerKey::Heartbeat { .. } => {}
        }
        let Some(group_id) = key.group_id() else {
            return;
        };
        let Self {
            config,
            groups,
            timers,
            ..
        } = self;
        let Some(group) = groups.get_mut(group_id) else {
            return;
        };
        let mut ctx = Ctx::new(config, timers, out, at);
        match &key {
            TimerKey::Join { .. } => rebalance::on_join_timer(group, &mut ctx),
            TimerKey::Sync { .. } => rebalance::expire_pending_sync(group, &mut ctx),
            TimerKey::Heartbeat { member_id, .. } => {
                rebalance::expire_heartbeat(group, member_id, &mut ctx)
            }
            TimerKey::OffsetRetention
            | TimerKey::ConsumerSession { .. }
            | TimerKey::ConsumerRevocation { .. } => {}
        }
    }

    /// Arms the retention check if it is not armed.
    pub(crate) fn ensure_retention_timer(&mut self, out: &mut Vec<Decision>) {
        if self.timers.deadline(&TimerKey::OffsetRetention).is_none() {
            let deadline = self.now + u64::from(self.config.offsets_retention_check_interval_ms);
            self.timers.schedule(TimerKey::OffsetRetention, deadline);
            out.push(Decision::ArmTimer {
                key: TimerKey::OffsetRetention,
                deadline,
            });
        }
    }

    /// The next member id for a member that names itself `prefix`
    /// (its instance id, else its client id).
    pub(crate) fn generate_member_id(next_member_seq: &mut u64, prefix: &str) -> String {
        let id = format!("{prefix}-{next_member_seq}");
        *next_member_seq += 1;
        id
    }
}

/// What a transition needs besides the group: settings, timers, the output,
/// and the logical time it happens at.
pub(crate) struct Ctx<'a> {
    pub config: &'a GroupCoordinatorConfig,
    pub timers: &'a mut Timers,
    pub out: &'a mut Vec<Decision>,
    pub now: Millis,
}

impl<'a> Ctx<'a> {
    pub fn new(
        config: &'a GroupCoordinatorConfig,
        timers: &'a mut Timers,
        out: &'a mut Vec<Decision>,
        now: Millis,
    ) -> Self {
        Self {
            config,
            timers,
            out,
            now,
        }
    }

    pub fn respond(&mut self, request: RequestId, response: Response) {
        self.out.push(Decision::Respond { request, response });
    }

    /// Parks `request` unless this event already answered it.
    pub fn park_unless_answered(&mut self, request: RequestId) {
        let answered = self
            .out
            .iter()
            .any(|d| matches!(d, Decision::Respond { request: r, .. } if *r == request));
        if !answered {
            self.out.push(Decision::Park { request });
        }
    }

    pub fn persist(&mut self, record: Record) {
        self.out.push(Decision::Persist(record));
    }

    /// Arms `key` `delay_ms` from now.
    pub fn schedule(&mut self, key: TimerKey, delay_ms: u64) {
        let deadline = self.now + delay_ms;
        self.timers.schedule(key.clone(), deadline);
        self.out.push(Decision::ArmTimer { key, deadline });
    }

    pub fn cancel(&mut self, key: &TimerKey) {
        self.timers.cancel(key);
    }
}
