//! The controller: carries out controller requests on the metadata leader and,
//! while this broker leads the metadata group, fences silent brokers, unfences
//! returning ones and adds newly registered brokers as metadata learners. The
//! decisions themselves are the pure functions of `cairn_meta::controller`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::BasicNode;
use rand::Rng;
use tokio::sync::watch;

use cairn_meta::controller::{
    learners_to_add, liveness_changes, plan_add_partitions, plan_create_topic,
};
use cairn_meta::{ControllerRequest, MetaCommand, MetaError, MetaErrorCode, MetaResponse};

use crate::leaders::{compute_isr, LedGroup};
use crate::node::{now_ms, Core};

/// A follower within this many entries of the leader's last entry counts as caught up.
pub const ISR_MAX_LAG_ENTRIES: u64 = 1000;

/// Carries out `request` on this broker, which must be the controller.
pub async fn handle(core: &Core, request: ControllerRequest) -> Result<MetaResponse, MetaError> {
    let now = now_ms();
    let command = match request {
        ControllerRequest::Register(registration) => MetaCommand::RegisterBroker {
            registration,
            now_ms: now,
        },
        ControllerRequest::CreateTopic {
            name,
            partitions,
            replication_factor,
            configs,
            validate_only,
        } => {
            let start = rand::thread_rng().gen::<u32>() as usize;
            let command = core.meta.reader.read(|state| {
                plan_create_topic(
                    state,
                    &name,
                    partitions,
                    replication_factor,
                    &configs,
                    start,
                    now,
                )
            })?;
            if validate_only {
                return Ok(MetaResponse::Ok);
            }
            command
        }
        ControllerRequest::DeleteTopic { name } => MetaCommand::DeleteTopic { name },
        ControllerRequest::AlterTopicConfigs {
            name,
            change,
            validate_only,
        } => {
            let current = core
                .meta
                .reader
                .read(|state| state.topics.get(&name).map(|t| t.configs.clone()))
                .ok_or_else(|| {
                    MetaError::new(
                        MetaErrorCode::UnknownTopic,
                        format!("topic '{name}' does not exist"),
                    )
                })?;
            change.apply_to(&current)?;
            if validate_only {
                return Ok(MetaResponse::Ok);
            }
            MetaCommand::AlterTopicConfigs { name, change }
        }
        ControllerRequest::CreatePartitions {
            name,
            total,
            validate_only,
        } => {
            let start = rand::thread_rng().gen::<u32>() as usize;
            let command = core
                .meta
                .reader
                .read(|state| plan_add_partitions(state, &name, total, start))?;
            if validate_only {
                return Ok(MetaResponse::Ok);
            }
            command
        }
    };
    core.meta.propose(command).await
}

/// The groups this broker leads now, with term and ISR.
pub fn led_groups(core: &Core) -> Vec<LedGroup> {
    let now = Instant::now();
    let mut live = core.knowledge.heard_within(now, core.session_timeout());
    live.insert(core.id());
    core.partitions
        .registry
        .all()
        .into_iter()
        .filter_map(|(group, raft, _)| {
            let metrics = raft.metrics().borrow().clone();
            if metrics.current_leader != Some(core.id()) || !metrics.state.is_leader() {
                return None;
            }
            let voters: BTreeSet<u64> =
                metrics.membership_config.membership().voter_ids().collect();
            let matched: BTreeMap<u64, Option<u64>> = metrics
                .replication
                .as_ref()
                .map(|r| {
                    r.iter()
                        .map(|(id, log)| (*id, log.map(|l| l.index)))
                        .collect()
                })
                .unwrap_or_default();
            let last = metrics.last_log_index.unwrap_or(0);
            let isr = compute_isr(
                core.id(),
                &voters,
                last,
                &matched,
                &live,
                ISR_MAX_LAG_ENTRIES,
            );
            Some(LedGroup {
                group,
                term: metrics.current_term,
                isr,
            })
        })
        .collect()
}

/// The controller loop; acts only while this broker leads the metadata group.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(
        core.config.heartbeat_interval_ms.max(100),
    ));
    let mut leader_since: Option<u64> = None;
    // Learners being added, with when the attempt started (retried after a while).
    let mut adding: BTreeMap<u64, u64> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        if !core.meta.is_leader() {
            leader_since = None;
            continue;
        }
        let now = now_ms();
        let since = *leader_since.get_or_insert(now);
        let state = core.meta.reader.read(Clone::clone);
        // Heartbeat ages, converted to wall-clock times for the pure decision.
        let instant_now = Instant::now();
        let last_heard: BTreeMap<u64, u64> = state
            .brokers
            .keys()
            .filter_map(|&id| {
                let at = if id == core.id() {
                    Some(instant_now)
                } else {
                    core.knowledge.last_heard(id)
                };
                at.map(|at| {
                    (
                        id,
                        now.saturating_sub(
                            instant_now.saturating_duration_since(at).as_millis() as u64
                        ),
                    )
                })
            })
            .collect();
        for command in liveness_changes(
            &state,
            &last_heard,
            now,
            core.config.session_timeout_ms,
            since,
        ) {
            tracing::info!(?command, "controller changes broker liveness");
            if let Err(e) = core.meta.propose(command).await {
                tracing::warn!(error = %e, "liveness change not applied");
            }
        }
        let members: BTreeSet<u64> = core
            .meta
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .nodes()
            .map(|(id, _)| *id)
            .collect();
        // One membership change at a time (openraft refuses a second while
        // one is uncommitted); an attempt that has not made the broker a
        // member within a second is retried.
        adding.retain(|id, started| !members.contains(id) && now.saturating_sub(*started) < 1_000);
        if let Some((id, addr)) = learners_to_add(&state, &members)
            .into_iter()
            .next()
            .filter(|_| adding.is_empty())
        {
            adding.insert(id, now);
            let raft = core.meta.raft.clone();
            tokio::spawn(async move {
                tracing::info!(id, %addr, "adding broker to the metadata group as a learner");
                if let Err(e) = raft.add_learner(id, BasicNode { addr }, false).await {
                    tracing::warn!(id, error = %e, "cannot add metadata learner");
                }
            });
        }
    }
}
