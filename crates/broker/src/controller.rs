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
use crate::quiesce::{follower_mode, FollowerView, LeaderObservation, Mode};

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

/// One pass over this broker's partition replicas, every heartbeat interval:
/// the groups it leads (with term, ISR and quiescence) and the quiescent
/// groups it follows whose leader should wake them. Applies each replica's
/// quiescence mode on the way (see [`crate::quiesce`]).
pub fn observe_groups(core: &Core) -> (Vec<LedGroup>, Vec<u64>) {
    let now = Instant::now();
    let mut live = core.knowledge.heard_within(now, core.session_timeout());
    live.insert(core.id());
    let mut led = Vec::new();
    let mut wake = Vec::new();
    let groups = core.partitions.registry.all();
    core.quiet
        .retain(&groups.iter().map(|(g, _, _)| *g).collect());
    for (group, raft, _) in groups {
        let (leading, term, leader, last, voters, matched) = {
            let m = raft.metrics();
            let m = m.borrow();
            let matched: BTreeMap<u64, Option<u64>> = m
                .replication
                .as_ref()
                .map(|r| {
                    r.iter()
                        .map(|(id, log)| (*id, log.map(|l| l.index)))
                        .collect()
                })
                .unwrap_or_default();
            (
                m.current_leader == Some(core.id()) && m.state.is_leader(),
                m.current_term,
                m.current_leader,
                m.last_log_index,
                m.membership_config
                    .membership()
                    .voter_ids()
                    .collect::<BTreeSet<u64>>(),
                matched,
            )
        };
        let report = core.knowledge.report(group);
        if leading {
            let last_index = last.unwrap_or(0);
            let isr = compute_isr(
                core.id(),
                &voters,
                last_index,
                &matched,
                &live,
                ISR_MAX_LAG_ENTRIES,
            );
            let caught_up = voters
                .iter()
                .filter(|&&v| v != core.id())
                .all(|v| matched.get(v).copied().flatten() == last);
            let uncontested = report
                .as_ref()
                .is_none_or(|(r, _)| r.leader == core.id() || r.term < term);
            let quiescing = core.config.quiesce_partitions;
            let seen = LeaderObservation {
                last_index: last,
                term,
                followers_caught_up: caught_up && quiescing,
                uncontested,
            };
            let mode = core.quiet.lead(group, &raft, &seen, now);
            led.push(LedGroup {
                group,
                term,
                isr,
                quiescent: mode == Mode::QuietLeader,
            });
        } else {
            let (mode, ask) = follower_mode(&FollowerView {
                me: core.id(),
                leader,
                term,
                report: report.map(|(r, at)| (r, now.saturating_duration_since(at))),
                voters,
            });
            core.quiet.follow(group, &raft, mode);
            if ask {
                wake.push(group);
            }
        }
    }
    (led, wake)
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
