//! Preferred-leader elections: moving a partition's leadership back to its
//! preferred replica (the first of its replicas) by a leadership transfer
//! ([`crate::transfer::transfer`]). Three callers: Kafka's ElectLeaders
//! (PREFERRED), the admin API's `POST /v1/cluster/rebalance-leaders` (the
//! CLI's `cairn cluster rebalance-leaders`), and the controller's periodic
//! check ([`run`], Kafka's `auto.leader.rebalance.enable`). The decisions
//! are the pure functions of [`cairn_meta::balance`]; leaders and ISRs come
//! from dissemination.
//!
//! At most [`MAX_CONCURRENT_TRANSFERS`] transfers run at once: each holds
//! its partition's produces for a moment, and a thousand at once would
//! flood the brokers with elections.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::watch;

use cairn_meta::balance::{preferred_election, rebalance_plan, Leadership, Preferred};
use cairn_meta::MetaState;

use crate::shared::Core;
use crate::transfer::{transfer, TransferError};

/// How many leadership transfers an election runs at once.
pub const MAX_CONCURRENT_TRANSFERS: usize = 16;

/// How long one transfer of the periodic check may take.
const BALANCE_TRANSFER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a partition's preferred replica did not become its leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionError {
    /// No such topic or partition.
    UnknownPartition,
    /// The preferred replica leads already.
    NotNeeded,
    /// The preferred replica cannot lead now (not live, not in sync, no
    /// leader to hand over, or it refused), and why.
    NotAvailable(String),
    /// The transfer did not complete in time, and why.
    Failed(String),
}

/// One partition's preferred-leader election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// Topic.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The leader before (if known).
    pub from: Option<u64>,
    /// The preferred replica (if the partition exists).
    pub preferred: Option<u64>,
    /// `Ok(new leader)`, or why not.
    pub result: Result<u64, ElectionError>,
}

/// Brokers that may lead: registered, unfenced and heard from recently.
fn live_brokers(core: &Core, state: &MetaState, now: Instant) -> BTreeSet<u64> {
    let mut heard = core.knowledge().heard_within(now, core.session_timeout());
    heard.insert(core.id());
    state
        .live_brokers()
        .map(|b| b.registration.id)
        .filter(|id| heard.contains(id))
        .collect()
}

/// A partition's leadership as this broker knows it.
fn leadership(core: &Core, group: u64, replicas: &[u64], now: Instant) -> Leadership {
    let leader = crate::dissemination::leader_of(core, group, now);
    Leadership {
        group,
        replicas: replicas.to_vec(),
        leader: leader.as_ref().map(|l| l.leader),
        isr: leader.map(|l| l.isr).unwrap_or_default(),
    }
}

/// Runs a preferred-leader election for `partitions` (every partition when
/// `None`); each transfer may take `timeout`. Results in request order.
pub async fn elect_preferred(
    core: &Core,
    partitions: Option<Vec<(String, i32)>>,
    timeout: Duration,
) -> Vec<Election> {
    let now = Instant::now();
    let (live, planned) = core.meta().reader.read(|state| {
        let live = live_brokers(core, state, now);
        let wanted: Vec<(String, i32)> = partitions.unwrap_or_else(|| {
            state
                .topics
                .values()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (t.name.clone(), p.partition as i32))
                })
                .collect()
        });
        let planned: Vec<(String, i32, Option<Leadership>)> = wanted
            .into_iter()
            .map(|(topic, partition)| {
                let assignment = state.topics.get(&topic).and_then(|t| {
                    usize::try_from(partition)
                        .ok()
                        .and_then(|i| t.partitions.get(i))
                });
                let seen = assignment.map(|a| leadership(core, a.group, &a.replicas, now));
                (topic, partition, seen)
            })
            .collect();
        (live, planned)
    });
    let elections = planned.into_iter().map(|(topic, partition, seen)| {
        let live = &live;
        async move {
            let Some(seen) = seen else {
                return Election {
                    topic,
                    partition,
                    from: None,
                    preferred: None,
                    result: Err(ElectionError::UnknownPartition),
                };
            };
            let result = match preferred_election(&seen, live) {
                Preferred::AlreadyLeads => Err(ElectionError::NotNeeded),
                Preferred::NotAvailable(why) => Err(ElectionError::NotAvailable(why)),
                Preferred::Move { from, to } => transfer(core, seen.group, from, to, timeout)
                    .await
                    .map_err(|e| election_error(e, from)),
            };
            Election {
                topic,
                partition,
                from: seen.leader,
                preferred: seen.replicas.first().copied(),
                result,
            }
        }
    });
    futures::stream::iter(elections)
        .buffered(MAX_CONCURRENT_TRANSFERS)
        .collect()
        .await
}

fn election_error(e: TransferError, from: u64) -> ElectionError {
    match e {
        TransferError::NotLeader => ElectionError::NotAvailable(format!(
            "broker {from} no longer leads the partition; its replicas may be electing"
        )),
        TransferError::TargetUnavailable(why) => ElectionError::NotAvailable(why),
        TransferError::Failed(why) => ElectionError::Failed(why),
    }
}

/// The controller's periodic leader balance check: while this broker leads
/// the metadata group, every `leader_imbalance_check_interval_seconds` it
/// moves the partitions of brokers whose imbalance exceeds
/// `leader_imbalance_per_broker_percentage` back to them.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    if !core.config().auto_leader_rebalance_enable {
        return;
    }
    let interval = Duration::from_secs(core.config().leader_imbalance_check_interval_seconds);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        if !core.meta().is_leader() || core.is_stopping() {
            continue;
        }
        let now = Instant::now();
        let plan = core.meta().reader.read(|state| {
            let live = live_brokers(&core, state, now);
            // A moving partition's leadership is the move's business.
            let partitions: Vec<Leadership> = state
                .topics
                .values()
                .flat_map(|t| t.partitions.iter())
                .filter(|p| !state.reassignments.contains_key(&p.group))
                .map(|p| leadership(&core, p.group, &p.replicas, now))
                .collect();
            let plan = rebalance_plan(
                &partitions,
                &live,
                core.config().leader_imbalance_per_broker_percentage,
            );
            plan.into_iter()
                .filter_map(|(group, _, _)| {
                    state
                        .partition_of_group(group)
                        .map(|(t, p)| (t.name.clone(), p.partition as i32))
                })
                .collect::<Vec<_>>()
        });
        if plan.is_empty() {
            continue;
        }
        let planned = plan.len();
        let results = elect_preferred(&core, Some(plan), BALANCE_TRANSFER_TIMEOUT).await;
        let moved = results.iter().filter(|e| e.result.is_ok()).count();
        for e in results.iter().filter(|e| e.result.is_err()) {
            tracing::debug!(topic = %e.topic, partition = e.partition, result = ?e.result, "leadership not moved back");
        }
        tracing::info!(
            planned,
            moved,
            "leader balance: moved leaderships back to preferred replicas"
        );
    }
}
