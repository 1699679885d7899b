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
//! 1. the leader stops proposing (the partition's appender holds what queues);
//! 2. it waits until a voter's log matches its own ([`transfer_target`]);
//! 3. it asks that voter to stand for election ([`services::ELECT`]); the
//!    voter wins with its own vote and the old leader's, a majority of three;
//! 4. once leadership moved, the appender resumes, answering what queued
//!    NOT_LEADER_OR_FOLLOWER so that clients go to the new leader.
//!
//! If the leader's log grows in between (another proposer), or a group has
//! more than three voters (the others' leases refuse the vote), the
//! candidate loses and the group elects a leader the ordinary way, after an
//! election timeout: the time a transfer tries to save, never safety.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::Raft;
use tokio::time::Instant;

use cairn_common::{GroupTypeConfig, METADATA_GROUP};

use crate::services;
use crate::shared::Core;

/// How long the target may take to answer the request to stand.
const ELECT_RPC_TIMEOUT: Duration = Duration::from_secs(2);

/// The voter to hand leadership to: one whose log matches the leader's
/// (`matched` is each replica's last replicated index, as the leader's
/// replication metrics show it), first in `voters` order (the partition's
/// replica order, so the preferred replica when it qualifies). `None` if
/// none has caught up.
pub fn transfer_target(
    me: u64,
    last_log_index: Option<u64>,
    voters: &[u64],
    matched: &BTreeMap<u64, Option<u64>>,
) -> Option<u64> {
    voters
        .iter()
        .copied()
        .filter(|v| *v != me)
        .find(|v| matched.get(v).is_some_and(|m| *m == last_log_index))
}

/// Hands `raft`'s leadership to a caught-up voter by `deadline`; returns the
/// new leader. `hold` pauses the group's proposer while it runs (the
/// appender of a data partition); it is released whatever the outcome.
pub async fn hand_off<C: GroupTypeConfig>(
    core: &Core,
    group: u64,
    raft: &Raft<C>,
    hold: Option<&tokio::sync::watch::Sender<bool>>,
    deadline: Instant,
) -> Result<u64, String> {
    let me = core.id();
    let others = {
        let m = raft.metrics();
        let m = m.borrow();
        if m.current_leader != Some(me) {
            return Err("not the leader".into());
        }
        m.membership_config
            .membership()
            .voter_ids()
            .filter(|v| *v != me)
            .count()
    };
    if others == 0 {
        return Err("no other replica to hand over to".into());
    }
    if let Some(hold) = hold {
        hold.send_replace(true);
    }
    let result = hand_off_held(core, group, raft, me, deadline).await;
    if let Some(hold) = hold {
        hold.send_replace(false);
    }
    result
}

async fn hand_off_held<C: GroupTypeConfig>(
    core: &Core,
    group: u64,
    raft: &Raft<C>,
    me: u64,
    deadline: Instant,
) -> Result<u64, String> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let target_now = |m: &openraft::RaftMetrics<u64, openraft::BasicNode>| {
        let voters: Vec<u64> = m.membership_config.membership().voter_ids().collect();
        let matched: BTreeMap<u64, Option<u64>> = m
            .replication
            .as_ref()?
            .iter()
            .map(|(id, log)| (*id, log.map(|l| l.index)))
            .collect();
        transfer_target(me, m.last_log_index, &voters, &matched)
    };
    let m = raft
        .wait(Some(left()))
        .metrics(
            |m| m.current_leader != Some(me) || target_now(m).is_some(),
            "a replica that caught up",
        )
        .await
        .map_err(|e| format!("no replica caught up: {e}"))?;
    if m.current_leader != Some(me) {
        return Err("lost leadership before handing it over".into());
    }
    let target = target_now(&m).ok_or("no caught-up replica")?;
    core.transport()
        .call(
            target,
            services::ELECT,
            group,
            Vec::new(),
            ELECT_RPC_TIMEOUT.min(left()),
        )
        .await
        .map_err(|e| format!("broker {target} did not stand: {e}"))?;
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

/// Answers [`services::ELECT`] from broker `from`: this broker's replica of
/// `group` stands for election now.
pub async fn serve_elect(core: &Core, from: u64, group: u64) -> Result<Vec<u8>, String> {
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
            let result = hand_off(core, group, &raft, Some(&*handle.hold), deadline).await;
            (group, result)
        });
    let offsets = partitions
        .offsets
        .all()
        .into_iter()
        .filter(|(_, raft, _)| raft.metrics().borrow().current_leader == Some(me))
        .map(|(group, raft, _)| async move {
            // The coordinator proposes rarely; it is not paused.
            let result = hand_off(core, group, &raft, None, deadline).await;
            (group, result)
        });
    // The controller too: its proposals are rare and retried.
    let metadata = async {
        let raft = &core.meta().raft;
        if raft.metrics().borrow().current_leader == Some(me) {
            vec![(
                METADATA_GROUP,
                hand_off(core, METADATA_GROUP, raft, None, deadline).await,
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
    fn the_first_caught_up_voter_in_replica_order_is_chosen() {
        let matched = BTreeMap::from([(2, Some(9)), (3, Some(10)), (4, Some(10))]);
        // 2 lags; 3 is first among the caught up (4 is a learner, not a voter).
        assert_eq!(transfer_target(1, Some(10), &[1, 2, 3], &matched), Some(3));
        assert_eq!(transfer_target(1, Some(10), &[3, 1, 2], &matched), Some(3));
        // None caught up, or no other voter.
        assert_eq!(transfer_target(1, Some(11), &[1, 2, 3], &matched), None);
        assert_eq!(transfer_target(1, Some(10), &[1], &matched), None);
        // An empty log: a replica with nothing replicated matches it.
        assert_eq!(
            transfer_target(1, None, &[1, 2], &BTreeMap::from([(2, None)])),
            Some(2)
        );
        // The leader never picks itself.
        assert_eq!(
            transfer_target(1, Some(5), &[1, 2], &BTreeMap::from([(1, Some(5))])),
            None
        );
    }
}
