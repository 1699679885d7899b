//! Fast failover: when a broker's process is gone, the groups it led elect a
//! new leader at once instead of waiting out openraft's timers.
//!
//! Left to itself, a follower of a leader that died campaigns only after the
//! leader's lease *and* an election timeout have passed since the last
//! heartbeat (openraft 0.9's `handle_tick_election`: 2 s + 1–2 s for a
//! partition group), and the other follower refuses to vote while its own
//! lease runs (`handle_vote_req`). A broker learns much sooner that a peer's
//! process is gone: the transport's connection to it closes and the connect
//! that follows is refused ([`cairn_raft::Transport::subscribe_gone`]). Then,
//! for every group that broker led, the surviving voters agree without
//! talking, from the replica order in the catalogue, who stands ([`role`]):
//!
//! - the first survivor in replica order is the **candidate**: it campaigns
//!   at once and again, each time [`retry_after`] longer, until a leader
//!   other than the gone
//!   broker is known, waiting while another survivor's campaign is under way
//!   ([`next`]), for at most [`CAMPAIGN_FOR`]. In a group that was idle the
//!   others' leases have run out and it wins its first campaign;
//! - every other survivor that still holds the gone leader's lease after
//!   [`BREAK_AFTER`] (it refused the candidate) **gives up its lease**: it
//!   campaigns once itself, which leaves its vote uncommitted, and a voter
//!   whose vote is not committed grants a later term without a lease check,
//!   so the candidate's next campaign wins. It waits first so that it does not
//!   unseat a candidate that has just won.
//!
//! The metadata group (the controller) fails over the same way, its voters
//! ordered by id.
//!
//! Raft's vote and log rules still decide who leads, so this cannot elect a
//! stale replica or two leaders of one term; it only decides when campaigns
//! start. A peer that is paused or cut off refuses nothing, so these faults
//! still go through the timers; and if the candidate's log is shorter than
//! another survivor's it cannot win, and the group falls back to the timers
//! too.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::Raft;
use tokio::sync::{broadcast, watch};

use cairn_common::{GroupTypeConfig, METADATA_GROUP};

use crate::shared::Core;

/// Longest a candidate keeps campaigning; after it, openraft's timers decide.
pub const CAMPAIGN_FOR: Duration = Duration::from_secs(3);
/// Pause between two looks at the group while a candidate campaigns or waits.
const LOOK_EVERY: Duration = Duration::from_millis(25);

/// How long after its `n`th campaign (from 0) a candidate campaigns again:
/// 50 ms, doubling up to 800 ms. A new campaign abandons the one before, whose
/// answers may still be on their way on a loaded broker: so each waits longer.
pub fn retry_after(n: u32) -> Duration {
    Duration::from_millis(50 << n.min(4))
}
/// How long a candidate lets another survivor's campaign run before it
/// campaigns itself again. A vote for another survivor may also be one the
/// candidate took over from that survivor's refusal, with no campaign behind
/// it: so not long.
const YIELD_FOR: Duration = Duration::from_millis(250);
/// How long the other survivors give the candidate before they give up
/// their leases.
pub const BREAK_AFTER: Duration = Duration::from_millis(100);

/// What a surviving voter does for a group whose leader's broker is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Campaigns until the group has a leader.
    Candidate,
    /// Campaigns once, to give up its lease, if it still holds it after
    /// [`BREAK_AFTER`].
    LeaseBreaker,
}

/// The role of broker `me` in a group with `voters` whose leader's broker
/// `gone` is gone: the survivors in the order of the partition's `replicas`
/// (then by id, for voters not listed), the first is the candidate. `None`
/// when `me` is not a surviving voter.
pub fn role(me: u64, gone: u64, voters: &BTreeSet<u64>, replicas: &[u64]) -> Option<Role> {
    if me == gone || !voters.contains(&me) {
        return None;
    }
    let first = replicas
        .iter()
        .copied()
        .chain(voters.iter().copied())
        .find(|v| *v != gone && voters.contains(v))?;
    Some(if first == me {
        Role::Candidate
    } else {
        Role::LeaseBreaker
    })
}

/// What a candidate sees of its group between campaigns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// The leader this replica knows.
    pub leader: Option<u64>,
    /// The term of this replica's vote.
    pub term: u64,
    /// Whom that vote is for.
    pub voted_for: Option<u64>,
}

/// A candidate's next move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The group has a leader that is not the gone broker: stop.
    Done,
    /// Another survivor campaigns in a term after the gone leader's (this
    /// replica voted for it): let that campaign finish.
    Wait,
    /// Campaign (again).
    Elect,
}

/// The candidate's next move, given the gone broker, the gone leader's term,
/// what it sees, and how long it has waited on another's campaign.
pub fn next(me: u64, gone: u64, leader_term: u64, view: &GroupView, waited: Duration) -> Next {
    match view.leader {
        Some(leader) if leader != gone => Next::Done,
        _ if view.term > leader_term
            && view.voted_for.is_some_and(|v| v != me && v != gone)
            && waited < YIELD_FOR =>
        {
            Next::Wait
        }
        _ => Next::Elect,
    }
}

/// Reacts to every peer the transport reports gone, until `stop`.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut gone = core.transport().subscribe_gone();
    let running: Arc<Mutex<HashSet<u64>>> = Arc::default();
    loop {
        let peer = tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            peer = gone.recv() => match peer {
                Ok(peer) => peer,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if !core.config().fast_failover {
            continue;
        }
        core.knowledge().mark_gone(peer, Instant::now());
        if core.is_stopping() {
            continue;
        }
        let replicas: HashMap<u64, Vec<u64>> = core.meta().reader.read(|s| {
            s.topics
                .values()
                .flat_map(|t| t.partitions.iter())
                .map(|p| (p.group, p.replicas.clone()))
                .collect()
        });
        let mut started = 0;
        for (group, raft, _) in core.partitions().registry.all() {
            started += start(&core, &running, peer, group, raft, &replicas) as usize;
        }
        for (group, raft, _) in core.partitions().offsets.all() {
            started += start(&core, &running, peer, group, raft, &replicas) as usize;
        }
        // The metadata group (the controller): its voters by id.
        let meta = core.meta().raft.clone();
        started += start(&core, &running, peer, METADATA_GROUP, meta, &replicas) as usize;
        if started > 0 {
            tracing::info!(
                peer,
                groups = started,
                "broker refuses connections: electing new leaders for the groups it led"
            );
        }
    }
}

/// Starts this replica's part in electing a new leader of `group` if broker
/// `gone` led it; whether it did.
fn start<C>(
    core: &Arc<Core>,
    running: &Arc<Mutex<HashSet<u64>>>,
    gone: u64,
    group: u64,
    raft: Raft<C>,
    replicas: &HashMap<u64, Vec<u64>>,
) -> bool
where
    C: GroupTypeConfig,
{
    let (leader_term, voters) = {
        let m = raft.metrics();
        let m = m.borrow();
        if m.current_leader != Some(gone) || m.state.is_leader() {
            return false;
        }
        let voters: BTreeSet<u64> = m.membership_config.membership().voter_ids().collect();
        (m.current_term, voters)
    };
    let listed = replicas.get(&group).map(Vec::as_slice).unwrap_or(&[]);
    let Some(role) = role(core.id(), gone, &voters, listed) else {
        return false;
    };
    if !running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(group)
    {
        return false;
    }
    let me = core.id();
    let running = running.clone();
    core.tasks().spawn("failover election", async move {
        match role {
            Role::LeaseBreaker => {
                tokio::time::sleep(BREAK_AFTER).await;
                // Only while it still follows the gone leader (it refused the
                // candidate); once: campaigning again could unseat the
                // candidate that has just won.
                let holds_lease = raft.metrics().borrow().current_leader == Some(gone);
                if holds_lease && raft.trigger().elect().await.is_ok() {
                    await_leader(gone, &raft).await;
                }
            }
            Role::Candidate => campaign(me, gone, leader_term, &raft).await,
        }
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&group);
    });
    true
}

/// Waits until the group has a leader other than `gone`, or [`CAMPAIGN_FOR`].
async fn await_leader<C: GroupTypeConfig>(gone: u64, raft: &Raft<C>) {
    let mut metrics = raft.metrics();
    let _ = tokio::time::timeout(
        CAMPAIGN_FOR,
        metrics.wait_for(|m| m.current_leader.is_some_and(|l| l != gone)),
    )
    .await;
}

/// The candidate's campaigns, until the group has a leader or [`CAMPAIGN_FOR`].
async fn campaign<C: GroupTypeConfig>(me: u64, gone: u64, leader_term: u64, raft: &Raft<C>) {
    let began = Instant::now();
    let mut waiting_since: Option<Instant> = None;
    let mut campaigns = 0;
    let mut next_campaign = began;
    while began.elapsed() < CAMPAIGN_FOR {
        let view = {
            let m = raft.metrics();
            let m = m.borrow();
            GroupView {
                leader: m.current_leader,
                term: m.vote.leader_id().term,
                voted_for: m.vote.leader_id().voted_for(),
            }
        };
        let waited = waiting_since.map_or(Duration::ZERO, |at| at.elapsed());
        match next(me, gone, leader_term, &view, waited) {
            Next::Done => return,
            Next::Wait => {
                waiting_since.get_or_insert_with(Instant::now);
            }
            Next::Elect if Instant::now() >= next_campaign => {
                waiting_since = None;
                if raft.trigger().elect().await.is_err() {
                    return;
                }
                next_campaign = Instant::now() + retry_after(campaigns);
                campaigns += 1;
            }
            Next::Elect => {}
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u64]) -> BTreeSet<u64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn the_first_survivor_in_replica_order_stands_and_the_others_give_up_their_leases() {
        let voters = set(&[1, 2, 3]);
        assert_eq!(role(3, 1, &voters, &[1, 3, 2]), Some(Role::Candidate));
        assert_eq!(role(2, 1, &voters, &[1, 3, 2]), Some(Role::LeaseBreaker));
        assert_eq!(role(2, 3, &voters, &[3, 2, 1]), Some(Role::Candidate));
        assert_eq!(role(1, 3, &voters, &[3, 2, 1]), Some(Role::LeaseBreaker));
    }

    #[test]
    fn the_gone_broker_and_non_voters_have_no_role() {
        let voters = set(&[1, 2, 3]);
        assert_eq!(role(1, 1, &voters, &[1, 2, 3]), None);
        assert_eq!(role(4, 1, &voters, &[1, 2, 3]), None);
    }

    #[test]
    fn voters_missing_from_the_replica_list_are_ordered_by_id() {
        // A group in the middle of a move: the catalogue lists the target,
        // the voters are still the old set.
        let voters = set(&[1, 2, 5]);
        assert_eq!(role(2, 1, &voters, &[7, 8, 9]), Some(Role::Candidate));
        assert_eq!(role(5, 1, &voters, &[7, 8, 9]), Some(Role::LeaseBreaker));
        assert_eq!(role(5, 1, &voters, &[5, 8, 9]), Some(Role::Candidate));
        assert_eq!(role(2, 1, &voters, &[]), Some(Role::Candidate));
    }

    #[test]
    fn five_voters_have_one_candidate_and_three_lease_breakers() {
        let voters = set(&[1, 2, 3, 4, 5]);
        let roles: Vec<_> = [2, 3, 4, 5]
            .into_iter()
            .map(|me| role(me, 1, &voters, &[1, 2, 3, 4, 5]))
            .collect();
        assert_eq!(
            roles,
            [
                Some(Role::Candidate),
                Some(Role::LeaseBreaker),
                Some(Role::LeaseBreaker),
                Some(Role::LeaseBreaker)
            ]
        );
    }

    fn view(leader: Option<u64>, term: u64, voted_for: Option<u64>) -> GroupView {
        GroupView {
            leader,
            term,
            voted_for,
        }
    }

    #[test]
    fn campaigns_back_off_to_at_most_800_ms() {
        let waits: Vec<u64> = (0..7).map(|n| retry_after(n).as_millis() as u64).collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 800, 800]);
    }

    #[test]
    fn a_candidate_stops_once_another_broker_leads() {
        let z = Duration::ZERO;
        assert_eq!(next(2, 1, 5, &view(Some(2), 6, Some(2)), z), Next::Done);
        assert_eq!(next(2, 1, 5, &view(Some(3), 6, Some(3)), z), Next::Done);
    }

    #[test]
    fn a_candidate_campaigns_while_the_gone_broker_is_still_its_leader_or_none_leads() {
        let z = Duration::ZERO;
        assert_eq!(next(2, 1, 5, &view(Some(1), 5, Some(1)), z), Next::Elect);
        // Its own campaign did not win yet: again, at a later term.
        assert_eq!(next(2, 1, 5, &view(None, 6, Some(2)), z), Next::Elect);
    }

    #[test]
    fn a_candidate_lets_another_survivors_campaign_finish_but_not_forever() {
        let campaigning = view(None, 6, Some(3));
        assert_eq!(next(2, 1, 5, &campaigning, Duration::ZERO), Next::Wait);
        assert_eq!(next(2, 1, 5, &campaigning, YIELD_FOR), Next::Elect);
        // A vote for the gone broker in its own term is no campaign.
        assert_eq!(
            next(2, 1, 5, &view(None, 5, Some(1)), Duration::ZERO),
            Next::Elect
        );
    }
}
