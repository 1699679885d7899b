//! Replica moves carried out: the controller drives each move recorded in
//! the catalogue ([`cairn_meta::reassign`]) by asking the partition's leader
//! to take the next step towards the target replicas ([`services::MOVE`],
//! [`advance`]), until the group's voters are the target; then it records
//! the move complete, and the brokers left out delete their copy.
//!
//! The leader's steps, each safe to repeat and to interrupt (a new leader or
//! a new controller picks up from the membership the group has):
//!
//! 1. learners that are not in the target are removed (a redirected move);
//! 2. target replicas that are not members join as learners (their broker
//!    runs the group without initializing it, see `partitions::reconcile`)
//!    and catch up from the leader, by log entries or a snapshot;
//! 3. once every target replica is within [`MOVE_MAX_LAG`] entries, a leader
//!    that is not in the target first hands its leadership to a target
//!    replica that is a voter already (so that the group does not wait out
//!    an election when it leaves);
//! 4. the voters switch to the target by joint consensus (openraft's
//!    `change_membership`: the joint configuration, then the target alone),
//!    the removed voters dropped from the membership. A leader that removed
//!    itself steps down once that is committed.
//!
//! The same loop drains decommissioning brokers: it starts moves of their
//! replicas to other brokers ([`cairn_meta::reassign::drain_moves`], at
//! most [`MAX_DRAIN_MOVES`] moves in progress), and unregisters a broker
//! once it holds nothing.
//!
//! The catch-up can be throttled: with `replica_move_throttle_bytes` the
//! leader sends each learner at most that many bytes per second
//! ([`cairn_raft::throttle`]), renewed at every step and lifted before the
//! switch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::{BasicNode, ChangeMembers, Raft};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use cairn_common::GroupTypeConfig;
use cairn_meta::MetaCommand;

use crate::services;
use crate::shared::Core;
use crate::transfer::{hand_off, transfer_targets};

/// A target replica within this many entries of the leader's log may
/// become a voter: the joint configuration commits nothing until a majority
/// of the target holds it, so the switch waits for them to be close.
pub const MOVE_MAX_LAG: u64 = 100;

/// How often the controller looks at the moves in progress.
const DRIVE_INTERVAL: Duration = Duration::from_millis(500);

/// The most moves in progress at once that draining brokers start (moves
/// asked for by hand are not bounded).
pub const MAX_DRAIN_MOVES: usize = 8;

/// How long one step may take at the leader.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// What a leader reports after a step towards a move's target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MoveStep {
    /// The broker asked does not lead the group.
    NotLeader,
    /// Target replicas still catching up: (broker, entries behind; `None`
    /// before it replicated anything).
    CatchingUp(Vec<(u64, Option<u64>)>),
    /// The leader, not in the target, handed its leadership to this broker;
    /// ask it next.
    HandedOver(u64),
    /// The voters switched to the target; the next step checks that
    /// nothing else is left in the membership.
    Switched,
    /// The group's committed membership is the target: the move is done.
    Done,
    /// The step failed; it is tried again.
    Failed(String),
}

/// The group's membership as its leader sees it.
struct Seen {
    leading: bool,
    voters: BTreeSet<u64>,
    learners: BTreeSet<u64>,
    joint: bool,
    /// The membership above is committed (applied), not only appended.
    committed: bool,
    last_log_index: Option<u64>,
    matched: BTreeMap<u64, Option<u64>>,
}

fn seen<C: GroupTypeConfig>(raft: &Raft<C>, me: u64) -> Seen {
    let m = raft.metrics();
    let m = m.borrow();
    let membership = m.membership_config.membership();
    Seen {
        leading: m.current_leader == Some(me) && m.state.is_leader(),
        voters: membership.voter_ids().collect(),
        learners: membership.learner_ids().collect(),
        joint: membership.get_joint_config().len() > 1,
        committed: m.membership_config.log_id().as_ref() <= m.last_applied.as_ref(),
        last_log_index: m.last_log_index,
        matched: m
            .replication
            .as_ref()
            .map(|r| r.iter().map(|(id, l)| (*id, l.map(|l| l.index))).collect())
            .unwrap_or_default(),
    }
}

/// How far behind the leader's log each target replica that is not a voter
/// yet is, if more than `max_lag` entries (`None`: nothing replicated yet).
pub fn lagging(
    target: &[u64],
    voters: &BTreeSet<u64>,
    last_log_index: Option<u64>,
    matched: &BTreeMap<u64, Option<u64>>,
    max_lag: u64,
) -> Vec<(u64, Option<u64>)> {
    let last = last_log_index.unwrap_or(0);
    target
        .iter()
        .filter(|t| !voters.contains(t))
        .filter_map(|t| match matched.get(t).copied().flatten() {
            Some(m) if m.saturating_add(max_lag) >= last => None,
            Some(m) => Some((*t, Some(last - m))),
            None if last_log_index.is_none() => None,
            None => Some((*t, None)),
        })
        .collect()
}

/// One step of moving `group`, led here, to `target` (see the module doc).
async fn advance_group<C>(
    core: &Core,
    group: u64,
    raft: &Raft<C>,
    gate: Option<&crate::appender::Gate>,
    target: &[u64],
) -> MoveStep
where
    C: GroupTypeConfig<Responder = openraft::impls::OneshotResponder<C>>,
{
    let me = core.id();
    let wanted: BTreeSet<u64> = target.iter().copied().collect();
    let s = seen(raft, me);
    if !s.leading {
        return MoveStep::NotLeader;
    }
    // Done only once the group's committed membership is exactly the
    // target: the catalogue then drops the move, and every broker left out
    // deletes its copy, which a member (even a learner) must never do.
    if s.voters == wanted && !s.joint && s.learners.is_empty() && s.committed {
        return MoveStep::Done;
    }
    let failed = |what: &str, e: &dyn std::fmt::Display| MoveStep::Failed(format!("{what}: {e}"));
    let stray: BTreeSet<u64> = s.learners.difference(&wanted).copied().collect();
    if !stray.is_empty() && !s.joint {
        if let Err(e) = raft
            .change_membership(ChangeMembers::RemoveNodes(stray.clone()), false)
            .await
        {
            return failed(&format!("removing learners {stray:?}"), &e);
        }
    }
    let addresses = core.meta().reader.read(|state| {
        target
            .iter()
            .map(|t| {
                let addr = state
                    .brokers
                    .get(t)
                    .map(|b| b.registration.raft_addr.clone())
                    .unwrap_or_default();
                (*t, addr)
            })
            .collect::<BTreeMap<u64, String>>()
    });
    for (t, addr) in &addresses {
        if s.voters.contains(t) || s.learners.contains(t) {
            continue;
        }
        tracing::info!(group, learner = t, "a moved-to replica joins as a learner");
        if let Err(e) = raft
            .add_learner(*t, BasicNode { addr: addr.clone() }, false)
            .await
        {
            return failed(&format!("adding learner {t}"), &e);
        }
    }
    let s = seen(raft, me);
    if !s.leading {
        return MoveStep::NotLeader;
    }
    if s.voters == wanted && !s.joint {
        // Switched already; waiting for stray learners to go and the
        // membership to commit.
        return MoveStep::Switched;
    }
    // Replicas catching up get at most the configured rate, renewed at
    // every step; voters never.
    let rate = core.config().replica_move_throttle_bytes;
    for t in target {
        let rate = if s.voters.contains(t) { 0 } else { rate };
        core.transport().throttle().limit(group, *t, rate);
    }
    let behind = lagging(
        target,
        &s.voters,
        s.last_log_index,
        &s.matched,
        MOVE_MAX_LAG,
    );
    if !behind.is_empty() {
        return MoveStep::CatchingUp(behind);
    }
    if !wanted.contains(&me) && !s.joint {
        // Leave the leadership to a voter that stays, if one is caught up.
        let staying: Vec<u64> = target
            .iter()
            .copied()
            .filter(|t| s.voters.contains(t))
            .collect();
        let caught_up = transfer_targets(me, s.last_log_index, &staying, &s.matched);
        if let Some(&to) = caught_up.first().or(staying.first()) {
            return match hand_off(
                core,
                group,
                raft,
                gate,
                Some(to),
                Instant::now() + STEP_TIMEOUT,
            )
            .await
            {
                Ok(to) => MoveStep::HandedOver(to),
                Err(e) => failed(&format!("handing leadership to {to}"), &e),
            };
        }
    }
    // Catching up is over: the new voters replicate at full speed.
    core.transport().throttle().lift(group);
    tracing::info!(
        group,
        ?target,
        "switching the voters to the moved-to replicas"
    );
    match raft.change_membership(wanted, false).await {
        // Learners left out (of a redirected move) go at the next step,
        // which also sees the switch committed before calling it done.
        Ok(_) => MoveStep::Switched,
        Err(e) => failed("changing the voters", &e),
    }
}

/// One step of moving `group` to `target`, if this broker leads it.
pub async fn advance(core: &Core, group: u64, target: &[u64]) -> MoveStep {
    let partitions = core.partitions();
    if let Some((raft, handle)) = partitions.registry.get(group) {
        advance_group(core, group, &raft, Some(&handle.gate), target).await
    } else if let Some(raft) = partitions.offsets.raft(group) {
        advance_group(core, group, &raft, None, target).await
    } else {
        MoveStep::NotLeader
    }
}

/// Answers [`services::MOVE`]: one step towards the target in `body`.
pub async fn serve_move(core: &Core, group: u64, body: &[u8]) -> Result<Vec<u8>, String> {
    let target: Vec<u64> =
        bincode::deserialize(body).map_err(|e| format!("malformed move request: {e}"))?;
    let step = advance(core, group, &target).await;
    bincode::serialize(&step).map_err(|e| e.to_string())
}

/// Asks broker `leader` for one step of moving `group` to `target`.
async fn ask(core: &Core, leader: u64, group: u64, target: &[u64]) -> MoveStep {
    if leader == core.id() {
        return advance(core, group, target).await;
    }
    let body = match bincode::serialize(target) {
        Ok(body) => body,
        Err(e) => return MoveStep::Failed(e.to_string()),
    };
    match core
        .transport()
        .call(
            leader,
            services::MOVE,
            group,
            body,
            STEP_TIMEOUT + Duration::from_secs(1),
        )
        .await
    {
        Ok(answer) => bincode::deserialize(&answer)
            .unwrap_or_else(|e| MoveStep::Failed(format!("broker {leader} answered garbage: {e}"))),
        Err(e) => MoveStep::Failed(format!("broker {leader}: {e}")),
    }
}

/// The controller's side: while this broker leads the metadata group, every
/// half second each move in progress gets its next step (one at a time per
/// group), and a move whose group's voters are its target is recorded
/// complete.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let busy: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let mut ticker = tokio::time::interval(DRIVE_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        if !core.meta().is_leader() || core.is_stopping() {
            continue;
        }
        let moves: Vec<(u64, Vec<u64>)> = core.meta().reader.read(|state| {
            state
                .reassignments
                .iter()
                .map(|(g, m)| (*g, m.target.clone()))
                .collect()
        });
        drain(&core).await;
        for (group, target) in moves {
            if !busy.lock().unwrap_or_else(|e| e.into_inner()).insert(group) {
                continue;
            }
            let core2 = core.clone();
            let busy = busy.clone();
            core.tasks().spawn("partition move step", async move {
                drive(&core2, group, &target).await;
                busy.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&group);
            });
        }
    }
}

/// Decommissioning: starts the next moves off draining brokers, and
/// unregisters those that hold nothing any more.
async fn drain(core: &Core) {
    let (moves, drained) = core.meta().reader.read(|state| {
        (
            cairn_meta::reassign::drain_moves(state, MAX_DRAIN_MOVES),
            cairn_meta::reassign::drained(state),
        )
    });
    let now = crate::clock::now_ms();
    for (group, target) in moves {
        tracing::info!(
            group,
            ?target,
            "moving a replica off a decommissioning broker"
        );
        let command = MetaCommand::Reassign {
            group,
            target: Some(target),
            now_ms: now,
        };
        if let Err(e) = core.meta().propose(command).await {
            tracing::warn!(group, error = %e, "decommission move not started");
        }
    }
    for broker in drained {
        match core
            .meta()
            .propose(MetaCommand::UnregisterBroker { broker })
            .await
        {
            Ok(_) => tracing::info!(broker, "decommissioned broker unregistered"),
            Err(e) => tracing::warn!(broker, error = %e, "decommissioned broker not unregistered"),
        }
    }
}

/// One step of one move, from the controller.
async fn drive(core: &Core, group: u64, target: &[u64]) {
    let Some(leader) = crate::dissemination::leader_of(core, group, std::time::Instant::now())
    else {
        return;
    };
    let step = ask(core, leader.leader, group, target).await;
    match &step {
        MoveStep::Done => {
            let command = MetaCommand::CompleteReassignment {
                group,
                target: target.to_vec(),
            };
            match core.meta().propose(command).await {
                Ok(_) => tracing::info!(group, ?target, "partition moved"),
                Err(e) => tracing::warn!(group, error = %e, "move done but not recorded; retrying"),
            }
        }
        MoveStep::CatchingUp(behind) => {
            tracing::debug!(group, ?behind, "moved-to replicas catching up")
        }
        MoveStep::HandedOver(to) => {
            tracing::info!(
                group,
                from = leader.leader,
                to,
                "leadership left a replica being removed"
            )
        }
        MoveStep::NotLeader | MoveStep::Switched => {}
        MoveStep::Failed(why) => tracing::warn!(group, why, "partition move step failed; retrying"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_replicas_far_behind_hold_the_switch() {
        let voters = BTreeSet::from([1, 2, 3]);
        let matched = BTreeMap::from([(2, Some(500)), (3, Some(500)), (4, Some(450)), (5, None)]);
        // 4 is within 100 of 500; 5 has nothing yet.
        assert_eq!(
            lagging(&[2, 3, 4, 5], &voters, Some(500), &matched, 100),
            vec![(5, None)]
        );
        let matched = BTreeMap::from([(4, Some(300))]);
        assert_eq!(
            lagging(&[2, 3, 4], &voters, Some(500), &matched, 100),
            vec![(4, Some(200))]
        );
        // Voters are not checked here (they are in the ISR's care), and an
        // empty log has nothing to catch up.
        assert!(lagging(&[1, 2], &voters, Some(500), &BTreeMap::new(), 100).is_empty());
        assert!(lagging(&[4], &voters, None, &BTreeMap::new(), 100).is_empty());
    }
}
