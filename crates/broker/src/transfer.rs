//! Leadership transfer: a leader hands its partition groups to caught-up
//! replicas, so that a broker stopped on purpose (SIGTERM) leaves no group
//! waiting out an election timeout.
//!
//! openraft 0.9 has no transfer; this builds one on its vote rules. A voter
//! refuses to vote while its leader's lease runs (`handle_vote_req`: a
//! committed vote refreshed less than `election_timeout_max` ago), but the
//! leader's own vote is refreshed only when it changes, not by replication,
//! so the leader itself grants its vote to a candidate whose log is as long
//! as its own. The hand-off therefore is:
//!
//! 1. the leader stops proposing (the partition's appender holds what queues)
//!    and waits until every entry it proposed is answered;
//! 2. it waits until a voter's log matches its own ([`transfer_targets`]);
//! 3. it asks that voter to stand for election ([`services::ELECT`]; a broker
//!    that is stopping too refuses, and the next caught-up voter is asked);
//!    the voter wins with its own vote and the old leader's, a majority of three;
//! 4. once leadership moved, the appender resumes, answering what queued
//!    NOT_LEADER_OR_FOLLOWER so that clients go to the new leader.
//!
//! A transfer may also name its target (the preferred replica, for leader
//! balancing and ElectLeaders, see [`crate::leader_balance`]): then only that
//! replica is asked, and only if it is in sync before the proposer stops, so
//! that a lagging target never holds produces back for long. Any broker asks
//! a group's leader for such a transfer with [`services::TRANSFER`].
//!
//! If the leader's log grows in between (another proposer), or a group has
//! more than three voters (the others' leases refuse the vote), the
//! candidate loses and the group elects a leader the ordinary way, after an
//! election timeout: the time a transfer tries to save, never safety.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use openraft::Raft;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use cairn_common::{GroupTypeConfig, METADATA_GROUP};

use crate::services;
use crate::shared::Core;

/// Since when this broker has led each group, as seen every heartbeat
/// interval (see `dissemination::observe_groups`): a leader refuses votes for
/// its own lease (`election_timeout_max`) after it was elected, so a hand-off
/// must not ask a replica to stand before that.
#[derive(Default)]
pub struct Leadership {
    since: std::sync::Mutex<BTreeMap<u64, (u64, std::time::Instant)>>,
}

impl Leadership {
    /// Records the groups led now, as (group, term); forgets the others.
    pub fn observe(&self, led: impl IntoIterator<Item = (u64, u64)>, now: std::time::Instant) {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        let led: BTreeMap<u64, u64> = led.into_iter().collect();
        since.retain(|group, (term, _)| led.get(group) == Some(term));
        for (group, term) in led {
            since.entry(group).or_insert((term, now));
        }
    }

    /// When this broker was first seen leading `group` in `term`.
    pub fn since(&self, group: u64, term: u64) -> Option<std::time::Instant> {
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        since
            .get(&group)
            .filter(|(t, _)| *t == term)
            .map(|(_, at)| *at)
    }
}

/// When a replica may be asked to stand: once the leader's lease, counted
/// from when it was first seen leading (`None`: not yet, so from `now`), has
/// surely run out.
pub fn may_ask_at(
    leading_since: Option<std::time::Instant>,
    lease: Duration,
    now: std::time::Instant,
) -> std::time::Instant {
    /// Beyond the lease: the leader's election preceded our first sight of it.
    const MARGIN: Duration = Duration::from_millis(50);
    leading_since.unwrap_or(now) + lease + MARGIN
}

/// How long the leader's log must stay put, with a voter caught up, before
/// that voter is asked to stand.
const SETTLE: Duration = Duration::from_millis(30);

/// How long the target may take to answer the request to stand.
const ELECT_RPC_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a named target that was in sync may take to match the stopped
/// leader's log exactly; the partition accepts no produce meanwhile.
const TARGET_CATCH_UP: Duration = Duration::from_secs(1);

/// Why leadership was not handed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferError {
    /// The broker asked does not lead the group (any more, or yet).
    NotLeader,
    /// The named target cannot take over: not a voter, not in sync, or it
    /// refused to stand.
    TargetUnavailable(String),
    /// It did not complete by the deadline, or failed on the way.
    Failed(String),
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::NotLeader => f.write_str("not the leader"),
            TransferError::TargetUnavailable(why) | TransferError::Failed(why) => f.write_str(why),
        }
    }
}

impl From<String> for TransferError {
    fn from(why: String) -> Self {
        TransferError::Failed(why)
    }
}

impl From<&str> for TransferError {
    fn from(why: &str) -> Self {
        TransferError::Failed(why.to_string())
    }
}

/// The voters leadership may go to, best first: those whose log matches the
/// leader's (`matched` is each replica's last replicated index, as the
/// leader's replication metrics show it), in `voters` order (the
/// partition's replica order, so the preferred replica first when it
/// qualifies). Empty if none has caught up.
pub fn transfer_targets(
    me: u64,
    last_log_index: Option<u64>,
    voters: &[u64],
    matched: &BTreeMap<u64, Option<u64>>,
) -> Vec<u64> {
    voters
        .iter()
        .copied()
        .filter(|v| *v != me)
        .filter(|v| matched.get(v).is_some_and(|m| *m == last_log_index))
        .collect()
}

/// Hands `raft`'s leadership to a caught-up voter by `deadline` (to `to`
/// only, when given); returns the new leader. `gate` stops the group's
/// proposer while it runs (the appender of a data partition) and waits for
/// its entries to be answered; it opens again whatever the outcome.
pub async fn hand_off<C: GroupTypeConfig>(
    core: &Core,
    group: u64,
    raft: &Raft<C>,
    gate: Option<&crate::appender::Gate>,
    to: Option<u64>,
    deadline: Instant,
) -> Result<u64, TransferError> {
    let me = core.id();
    let term = {
        let m = raft.metrics();
        let m = m.borrow();
        if m.current_leader != Some(me) || !m.state.is_leader() {
            return Err(TransferError::NotLeader);
        }
        let others: Vec<u64> = m
            .membership_config
            .membership()
            .voter_ids()
            .filter(|v| *v != me)
            .collect();
        if others.is_empty() {
            return Err("no other replica to hand over to".into());
        }
        if let Some(to) = to {
            in_sync_voter(core, &m, to)?;
        }
        m.current_term
    };
    // The leader's own lease must run out first, or it refuses the vote; it
    // keeps serving meanwhile.
    let lease = Duration::from_millis(raft.config().election_timeout_max);
    let now = std::time::Instant::now();
    let ready = may_ask_at(core.leadership().since(group, term), lease, now);
    if ready > now {
        if Instant::now() + (ready - now) > deadline {
            return Err("elected too recently to hand over in time".into());
        }
        tokio::time::sleep(ready - now).await;
    }
    let _shut = match gate {
        Some(gate) => {
            let shut = tokio::time::timeout_at(deadline, gate.proposing.clone().write_owned())
                .await
                .map_err(|_| "the appender did not stop in time".to_string())?;
            // Every entry it submitted answered: none is still on its way
            // into the log.
            while gate.in_flight.load(std::sync::atomic::Ordering::Acquire) > 0 {
                if Instant::now() >= deadline {
                    return Err("the appender's entries were not answered in time".into());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Some(shut)
        }
        None => None,
    };
    // A named target was in sync: it gets a short while to match the log.
    let catch_up_by = match to {
        Some(_) => deadline.min(Instant::now() + TARGET_CATCH_UP),
        None => deadline,
    };
    hand_off_held(core, group, raft, me, to, catch_up_by, deadline).await
}

/// Checks that `to` is a voter of the group `m` describes, live and within
/// the ISR's lag of the leader's log.
fn in_sync_voter(
    core: &Core,
    m: &openraft::RaftMetrics<u64, openraft::BasicNode>,
    to: u64,
) -> Result<(), TransferError> {
    let me = core.id();
    if to == me {
        return Err(TransferError::TargetUnavailable(format!(
            "broker {to} leads already"
        )));
    }
    let voters: std::collections::BTreeSet<u64> =
        m.membership_config.membership().voter_ids().collect();
    if !voters.contains(&to) {
        return Err(TransferError::TargetUnavailable(format!(
            "broker {to} is not a voter of the group"
        )));
    }
    let matched: BTreeMap<u64, Option<u64>> = m
        .replication
        .as_ref()
        .map(|r| {
            r.iter()
                .map(|(id, log)| (*id, log.map(|l| l.index)))
                .collect()
        })
        .unwrap_or_default();
    let mut live = core
        .knowledge()
        .heard_within(std::time::Instant::now(), core.session_timeout());
    live.insert(me);
    let isr = crate::dissemination::compute_isr(
        me,
        &voters,
        m.last_log_index.unwrap_or(0),
        &matched,
        &live,
        crate::dissemination::ISR_MAX_LAG_ENTRIES,
    );
    if isr.contains(&to) {
        Ok(())
    } else {
        Err(TransferError::TargetUnavailable(format!(
            "broker {to} is not in sync"
        )))
    }
}

async fn hand_off_held<C: GroupTypeConfig>(
    core: &Core,
    group: u64,
    raft: &Raft<C>,
    me: u64,
    to: Option<u64>,
    catch_up_by: Instant,
    deadline: Instant,
) -> Result<u64, TransferError> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let target_now = |m: &openraft::RaftMetrics<u64, openraft::BasicNode>| {
        let voters: Vec<u64> = m.membership_config.membership().voter_ids().collect();
        let matched: BTreeMap<u64, Option<u64>> = m
            .replication
            .as_ref()?
            .iter()
            .map(|(id, log)| (*id, log.map(|l| l.index)))
            .collect();
        let mut targets = transfer_targets(me, m.last_log_index, &voters, &matched);
        if let Some(to) = to {
            targets.retain(|t| *t == to);
        }
        Some(targets).filter(|t| !t.is_empty())
    };
    let not_caught_up = |e: String| match to {
        Some(to) => TransferError::TargetUnavailable(format!("broker {to} did not catch up: {e}")),
        None => TransferError::Failed(format!("no replica caught up: {e}")),
    };
    // A voter has caught up, and the log stays put: a proposal that passed
    // the hold just before it was set may still be landing, and a candidate
    // whose log is one entry short loses.
    let candidates = loop {
        let m = raft
            .wait(Some(catch_up_by.saturating_duration_since(Instant::now())))
            .metrics(
                |m| m.current_leader != Some(me) || target_now(m).is_some(),
                "a replica that caught up",
            )
            .await
            .map_err(|e| not_caught_up(e.to_string()))?;
        if m.current_leader != Some(me) {
            return Err("lost leadership before handing it over".into());
        }
        tokio::time::sleep(SETTLE).await;
        let again = raft.metrics().borrow().clone();
        if again.current_leader != Some(me) {
            return Err("lost leadership before handing it over".into());
        }
        if again.last_log_index == m.last_log_index {
            if let Some(candidates) = target_now(&again) {
                break candidates;
            }
        }
        if Instant::now() >= catch_up_by {
            return Err("the log kept growing".into());
        }
    };
    // The first that agrees to stand (a broker that is stopping too refuses).
    let mut refusals = Vec::new();
    let mut target = None;
    for candidate in candidates {
        match core
            .transport()
            .call(
                candidate,
                services::ELECT,
                group,
                Vec::new(),
                ELECT_RPC_TIMEOUT.min(left()),
            )
            .await
        {
            Ok(_) => {
                target = Some(candidate);
                break;
            }
            Err(e) => refusals.push(format!("broker {candidate}: {e}")),
        }
    }
    let target = target.ok_or_else(|| {
        let why = format!("no replica would stand ({})", refusals.join("; "));
        match to {
            Some(_) => TransferError::TargetUnavailable(why),
            None => TransferError::Failed(why),
        }
    })?;
    let m = raft
        .wait(Some(left()))
        .metrics(
            |m| m.current_leader.is_some_and(|l| l != me),
            "leadership to move",
        )
        .await
        .map_err(|e| format!("broker {target} did not take over: {e}"))?;
    Ok(m.current_leader.unwrap_or(target))
}

/// A request to a group's leader to hand its leadership to `to`
/// ([`services::TRANSFER`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct TransferRequest {
    to: u64,
    timeout_ms: u64,
}

/// Asks broker `leader`, which should lead `group`, to hand its leadership
/// to `to` within `timeout` (this broker itself, or over the transport);
/// returns the new leader.
pub async fn transfer(
    core: &Core,
    group: u64,
    leader: u64,
    to: u64,
    timeout: Duration,
) -> Result<u64, TransferError> {
    if leader == core.id() {
        return transfer_here(core, group, to, Instant::now() + timeout).await;
    }
    let request = TransferRequest {
        to,
        timeout_ms: timeout.as_millis() as u64,
    };
    let body = bincode::serialize(&request).map_err(|e| e.to_string())?;
    // The leader answers by its own deadline; the margin covers the trip.
    let answer = core
        .transport()
        .call(
            leader,
            services::TRANSFER,
            group,
            body,
            timeout + Duration::from_secs(1),
        )
        .await
        .map_err(|e| TransferError::Failed(format!("broker {leader}: {e}")))?;
    bincode::deserialize::<Result<u64, TransferError>>(&answer)
        .map_err(|e| TransferError::Failed(format!("broker {leader} answered garbage: {e}")))?
}

/// Hands the leadership of `group`, led here, to `to` by `deadline`.
async fn transfer_here(
    core: &Core,
    group: u64,
    to: u64,
    deadline: Instant,
) -> Result<u64, TransferError> {
    let partitions = core.partitions();
    if group == METADATA_GROUP {
        hand_off(core, group, &core.meta().raft, None, Some(to), deadline).await
    } else if let Some((raft, handle)) = partitions.registry.get(group) {
        hand_off(core, group, &raft, Some(&handle.gate), Some(to), deadline).await
    } else if let Some(raft) = partitions.offsets.raft(group) {
        hand_off(core, group, &raft, None, Some(to), deadline).await
    } else {
        Err(TransferError::NotLeader)
    }
}

/// Answers [`services::TRANSFER`]: hands `group` to the requested broker and
/// says how that went.
pub async fn serve_transfer(
    core: &Core,
    from: u64,
    group: u64,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let request: TransferRequest =
        bincode::deserialize(body).map_err(|e| format!("malformed transfer request: {e}"))?;
    let timeout = Duration::from_millis(request.timeout_ms.min(60_000));
    let outcome = transfer_here(core, group, request.to, Instant::now() + timeout).await;
    tracing::info!(
        group,
        from,
        to = request.to,
        ?outcome,
        "leadership transfer asked by a peer"
    );
    bincode::serialize(&outcome).map_err(|e| e.to_string())
}

/// Answers [`services::ELECT`] from broker `from`: this broker's replica of
/// `group` stands for election now.
pub async fn serve_elect(core: &Core, from: u64, group: u64) -> Result<Vec<u8>, String> {
    if core.is_stopping() {
        return Err(format!("broker {} is stopping", core.id()));
    }
    let partitions = core.partitions();
    let elected = if group == METADATA_GROUP {
        core.meta()
            .raft
            .trigger()
            .elect()
            .await
            .map_err(|e| e.to_string())
    } else if let Some(raft) = partitions.registry.raft(group) {
        raft.trigger().elect().await.map_err(|e| e.to_string())
    } else if let Some(raft) = partitions.offsets.raft(group) {
        raft.trigger().elect().await.map_err(|e| e.to_string())
    } else {
        Err(format!(
            "group {group} does not run on broker {}",
            core.id()
        ))
    };
    tracing::info!(
        group,
        from,
        ok = elected.is_ok(),
        "standing for election at the leader's request"
    );
    elected.map(|()| Vec::new())
}

/// Hands every group this broker leads to another replica, all at once, by
/// `timeout`; returns (handed over, not). Called before a shutdown.
pub async fn hand_off_all(core: &Core, timeout: Duration) -> (usize, usize) {
    let deadline = Instant::now() + timeout;
    let me = core.id();
    let partitions = core.partitions();
    let data = partitions
        .registry
        .all()
        .into_iter()
        .filter(|(_, raft, _)| raft.metrics().borrow().current_leader == Some(me))
        .map(|(group, raft, handle)| async move {
            let result = hand_off(core, group, &raft, Some(&handle.gate), None, deadline).await;
            (group, result)
        });
    let offsets = partitions
        .offsets
        .all()
        .into_iter()
        .filter(|(_, raft, _)| raft.metrics().borrow().current_leader == Some(me))
        .map(|(group, raft, _)| async move {
            // The coordinator proposes rarely; it is not paused.
            let result = hand_off(core, group, &raft, None, None, deadline).await;
            (group, result)
        });
    // The controller too: its proposals are rare and retried.
    let metadata = async {
        let raft = &core.meta().raft;
        if raft.metrics().borrow().current_leader == Some(me) {
            vec![(
                METADATA_GROUP,
                hand_off(core, METADATA_GROUP, raft, None, None, deadline).await,
            )]
        } else {
            Vec::new()
        }
    };
    let (data, offsets, metadata) = futures::future::join3(
        futures::future::join_all(data),
        futures::future::join_all(offsets),
        metadata,
    )
    .await;
    let (mut moved, mut kept) = (0, 0);
    for (group, result) in data.into_iter().chain(offsets).chain(metadata) {
        match result {
            Ok(to) => {
                moved += 1;
                tracing::debug!(group, to, "leadership handed over");
            }
            Err(e) => {
                kept += 1;
                tracing::warn!(group, error = %e, "leadership not handed over; the group will elect");
            }
        }
    }
    (moved, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_asked_only_after_the_leaders_lease() {
        let now = std::time::Instant::now();
        let lease = Duration::from_secs(2);
        let long_ago = now - Duration::from_secs(10);
        assert!(may_ask_at(Some(long_ago), lease, now) < now);
        let just = now - Duration::from_millis(500);
        assert_eq!(
            may_ask_at(Some(just), lease, now),
            just + lease + Duration::from_millis(50)
        );
        assert!(may_ask_at(None, lease, now) > now + lease);
    }

    #[test]
    fn leadership_is_remembered_per_term_and_forgotten_when_lost() {
        let leadership = Leadership::default();
        let t0 = std::time::Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        leadership.observe([(7, 3), (8, 1)], t0);
        leadership.observe([(7, 3), (8, 2)], t1);
        assert_eq!(leadership.since(7, 3), Some(t0), "still the same term");
        assert_eq!(leadership.since(8, 2), Some(t1), "a new term starts anew");
        assert_eq!(leadership.since(8, 1), None);
        leadership.observe([(8, 2)], t1);
        assert_eq!(leadership.since(7, 3), None, "no longer led");
    }

    #[test]
    fn caught_up_voters_in_replica_order_are_the_candidates() {
        let matched = BTreeMap::from([(2, Some(9)), (3, Some(10)), (4, Some(10)), (5, Some(10))]);
        // 2 lags; 3 and 5 caught up (4 is a learner, not a voter).
        assert_eq!(
            transfer_targets(1, Some(10), &[1, 2, 3, 5], &matched),
            vec![3, 5]
        );
        assert_eq!(
            transfer_targets(1, Some(10), &[5, 1, 3], &matched),
            vec![5, 3]
        );
        // None caught up, or no other voter.
        assert!(transfer_targets(1, Some(11), &[1, 2, 3], &matched).is_empty());
        assert!(transfer_targets(1, Some(10), &[1], &matched).is_empty());
        // An empty log: a replica with nothing replicated matches it.
        assert_eq!(
            transfer_targets(1, None, &[1, 2], &BTreeMap::from([(2, None)])),
            vec![2]
        );
        // The leader never picks itself.
        assert!(transfer_targets(1, Some(5), &[1, 2], &BTreeMap::from([(1, Some(5))])).is_empty());
    }
}
