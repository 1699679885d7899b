//! Quiescence: idle partitions stop their per-group Raft heartbeats.
//!
//! openraft's leader heartbeats every follower of every group each interval,
//! and every replica ticks its election timer; with a thousand partitions that
//! is most of an idle broker's work. Brokers already heartbeat each other
//! (one message per broker pair for all groups, see [`crate::dissemination`]), so a
//! group that is idle leans on those instead:
//!
//! - A **leader** whose group saw no new entry for [`QUIET_AFTER`], with every
//!   follower caught up, sends one last heartbeat (it carries the commit index)
//!   and turns the group's ticks and heartbeats off, and reports the group as
//!   quiescent in its broker heartbeats. Any new entry wakes the group.
//! - A **follower** whose leader's broker reports the group quiescent, at the
//!   leader and term the follower knows, turns its ticks off: it cannot time
//!   out. It turns them on again as soon as that report is not renewed for
//!   [`LEADER_SILENCE`] (the leader's broker crashed, is paused or cut off), and
//!   then elects as usual; followers wake one [`STAGGER`] apart, lowest id
//!   first, so their campaigns do not split the vote. A follower that does not
//!   know the reported leader or term (it just restarted) asks the leader,
//!   in its own broker heartbeat, to wake the group.
//!
//! Raft's safety never rests on timers, so none of this can lose or reorder a
//! write; it only decides when elections may start. Replication and commit
//! propagation do not depend on heartbeats either: a quiescent leader that
//! receives a write replicates and commits it at once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openraft::Raft;

use cairn_raft::PartitionTypeConfig;
use cairn_storage::GroupId;

use crate::dissemination::knowledge::LeaderInfo;
use crate::tasks::Tasks;

/// Idle time after which a leader quiesces its group.
pub const QUIET_AFTER: Duration = Duration::from_secs(2);
/// Silence of a quiescent leader's broker after which its followers wake.
pub const LEADER_SILENCE: Duration = Duration::from_secs(2);
/// Extra silence each further follower waits before it wakes.
pub const STAGGER: Duration = Duration::from_millis(1200);

/// What a group's replica on this broker does about ticks and heartbeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain Raft: ticking, heartbeating when leader.
    Awake,
    /// Leader of an idle group: no ticks, no heartbeats.
    QuietLeader,
    /// Follower of a quiescent leader: no ticks, so no election timeout.
    QuietFollower,
}

/// A leader's view of one of its groups.
#[derive(Clone, Debug)]
pub struct LeaderView {
    /// Time since the last new entry (or wake request).
    pub idle_for: Duration,
    /// Every follower has matched the last log index.
    pub followers_caught_up: bool,
    /// No broker reports a newer leader of this group.
    pub uncontested: bool,
}

/// Whether a leader quiesces its group.
pub fn leader_mode(v: &LeaderView) -> Mode {
    if v.idle_for >= QUIET_AFTER && v.followers_caught_up && v.uncontested {
        Mode::QuietLeader
    } else {
        Mode::Awake
    }
}

/// A follower's view of one of its groups.
#[derive(Clone, Debug)]
pub struct FollowerView {
    /// This broker.
    pub me: u64,
    /// The leader this replica knows (from Raft).
    pub leader: Option<u64>,
    /// This replica's term.
    pub term: u64,
    /// The last leader report for the group and its age.
    pub report: Option<(LeaderInfo, Duration)>,
    /// The group's voters.
    pub voters: BTreeSet<u64>,
}

/// Whether a follower quiets its group, and whether it asks the reported
/// leader to wake the group.
pub fn follower_mode(v: &FollowerView) -> (Mode, bool) {
    let Some((report, age)) = &v.report else {
        return (Mode::Awake, false);
    };
    if !report.quiescent || report.leader == v.me {
        return (Mode::Awake, false);
    }
    let rank = v
        .voters
        .iter()
        .filter(|&&id| id != report.leader)
        .position(|&id| id == v.me)
        .unwrap_or(0) as u32;
    if *age >= LEADER_SILENCE + STAGGER * rank {
        // The leader's broker went silent: elect as plain Raft would.
        return (Mode::Awake, false);
    }
    if v.leader == Some(report.leader) && v.term == report.term {
        (Mode::QuietFollower, false)
    } else {
        // This replica lags the report (e.g. it just restarted): the leader's
        // heartbeats will teach it, so ask for them while the report is fresh.
        (Mode::Awake, v.term <= report.term && *age < LEADER_SILENCE)
    }
}

#[derive(Debug)]
struct GroupState {
    mode: Mode,
    last_index: Option<u64>,
    term: u64,
    changed_at: Instant,
}

/// Per-group quiescence state of this broker's replicas.
#[derive(Default)]
pub struct Quiescence {
    groups: Mutex<HashMap<GroupId, GroupState>>,
    wake_requests: Mutex<HashMap<GroupId, Instant>>,
}

/// What the leader's Raft metrics and the leader reports say about a group.
#[derive(Clone, Copy, Debug)]
pub struct LeaderObservation {
    /// The leader's last log index.
    pub last_index: Option<u64>,
    /// Its term.
    pub term: u64,
    /// Every follower has matched the last log index.
    pub followers_caught_up: bool,
    /// No broker reports a newer leader of this group.
    pub uncontested: bool,
}

impl Quiescence {
    /// A peer asked for these groups to wake (only the ones led here matter).
    pub fn request_wake(&self, groups: &[GroupId], now: Instant) {
        let mut requests = self.wake_requests.lock().expect("wake lock");
        for g in groups {
            requests.insert(*g, now);
        }
    }

    /// Observes a group this broker leads: returns its new mode.
    pub fn lead(
        &self,
        group: GroupId,
        raft: &Raft<PartitionTypeConfig>,
        seen: &LeaderObservation,
        now: Instant,
        tasks: &Tasks,
    ) -> Mode {
        let LeaderObservation {
            last_index,
            term,
            followers_caught_up,
            uncontested,
        } = *seen;
        let woken = self.wake_requests.lock().expect("wake lock").remove(&group);
        let mut groups = self.groups.lock().expect("quiescence lock");
        let state = groups.entry(group).or_insert(GroupState {
            mode: Mode::Awake,
            last_index,
            term,
            changed_at: now,
        });
        if state.last_index != last_index || state.term != term {
            state.last_index = last_index;
            state.term = term;
            state.changed_at = now;
        }
        if let Some(at) = woken {
            state.changed_at = state.changed_at.max(at);
        }
        let mode = leader_mode(&LeaderView {
            idle_for: now.saturating_duration_since(state.changed_at),
            followers_caught_up,
            uncontested,
        });
        apply(group, raft, state.mode, mode, tasks);
        state.mode = mode;
        mode
    }

    /// Applies a follower's decision; returns its mode.
    pub fn follow(
        &self,
        group: GroupId,
        raft: &Raft<PartitionTypeConfig>,
        mode: Mode,
        tasks: &Tasks,
    ) -> Mode {
        let mut groups = self.groups.lock().expect("quiescence lock");
        let state = groups.entry(group).or_insert(GroupState {
            mode: Mode::Awake,
            last_index: None,
            term: 0,
            changed_at: Instant::now(),
        });
        apply(group, raft, state.mode, mode, tasks);
        state.mode = mode;
        mode
    }

    /// The mode of `group` here (Awake if unknown).
    pub fn mode(&self, group: GroupId) -> Mode {
        self.groups
            .lock()
            .expect("quiescence lock")
            .get(&group)
            .map_or(Mode::Awake, |s| s.mode)
    }

    /// Forgets groups that no longer run here.
    pub fn retain(&self, running: &BTreeSet<GroupId>) {
        self.groups
            .lock()
            .expect("quiescence lock")
            .retain(|g, _| running.contains(g));
        self.wake_requests
            .lock()
            .expect("wake lock")
            .retain(|g, _| running.contains(g));
    }
}

fn apply(group: GroupId, raft: &Raft<PartitionTypeConfig>, from: Mode, to: Mode, tasks: &Tasks) {
    if from == to {
        return;
    }
    tracing::debug!(group, ?from, ?to, "quiescence");
    let config = raft.runtime_config();
    match to {
        Mode::Awake => {
            config.heartbeat(true);
            config.tick(true);
        }
        Mode::QuietLeader => {
            // One last heartbeat carries the commit index to every follower.
            let raft = raft.clone();
            tasks.spawn("last heartbeat before quiescence", async move {
                let _ = raft.trigger().heartbeat().await;
            });
            config.heartbeat(false);
            config.tick(false);
        }
        Mode::QuietFollower => {
            config.heartbeat(true);
            config.tick(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(leader: u64, term: u64, quiescent: bool) -> LeaderInfo {
        LeaderInfo {
            leader,
            term,
            isr: vec![1, 2, 3],
            quiescent,
        }
    }

    fn follower(
        me: u64,
        leader: Option<u64>,
        term: u64,
        r: Option<(LeaderInfo, u64)>,
    ) -> FollowerView {
        FollowerView {
            me,
            leader,
            term,
            report: r.map(|(i, ms)| (i, Duration::from_millis(ms))),
            voters: BTreeSet::from([1, 2, 3]),
        }
    }

    #[test]
    fn a_leader_quiesces_only_when_idle_caught_up_and_uncontested() {
        let idle = LeaderView {
            idle_for: QUIET_AFTER,
            followers_caught_up: true,
            uncontested: true,
        };
        assert_eq!(leader_mode(&idle), Mode::QuietLeader);
        let busy = LeaderView {
            idle_for: QUIET_AFTER - Duration::from_millis(1),
            ..idle.clone()
        };
        assert_eq!(leader_mode(&busy), Mode::Awake);
        let lagging = LeaderView {
            followers_caught_up: false,
            ..idle.clone()
        };
        assert_eq!(leader_mode(&lagging), Mode::Awake);
        let deposed = LeaderView {
            uncontested: false,
            ..idle
        };
        assert_eq!(leader_mode(&deposed), Mode::Awake);
    }

    #[test]
    fn a_follower_quiets_only_under_the_leader_and_term_it_knows() {
        let quiet = follower(2, Some(1), 5, Some((report(1, 5, true), 100)));
        assert_eq!(follower_mode(&quiet), (Mode::QuietFollower, false));
        // The leader is busy: plain Raft.
        let busy = follower(2, Some(1), 5, Some((report(1, 5, false), 100)));
        assert_eq!(follower_mode(&busy), (Mode::Awake, false));
        // No report at all.
        assert_eq!(
            follower_mode(&follower(2, Some(1), 5, None)),
            (Mode::Awake, false)
        );
        // This replica knows a newer term: it does not ask the old leader.
        let newer = follower(2, Some(3), 6, Some((report(1, 5, true), 100)));
        assert_eq!(follower_mode(&newer), (Mode::Awake, false));
        // Just restarted: knows no leader yet, asks the reported one to wake.
        let restarted = follower(2, None, 4, Some((report(1, 5, true), 100)));
        assert_eq!(follower_mode(&restarted), (Mode::Awake, true));
    }

    #[test]
    fn followers_wake_one_after_another_when_the_leader_goes_silent() {
        let silence = LEADER_SILENCE.as_millis() as u64;
        let stagger = STAGGER.as_millis() as u64;
        // Voters 1 (leader), 2 and 3: broker 2 wakes first, then 3.
        let at =
            |me, ms| follower_mode(&follower(me, Some(1), 5, Some((report(1, 5, true), ms)))).0;
        assert_eq!(at(2, silence - 1), Mode::QuietFollower);
        assert_eq!(at(2, silence), Mode::Awake);
        assert_eq!(at(3, silence), Mode::QuietFollower);
        assert_eq!(at(3, silence + stagger), Mode::Awake);
        // A stale disagreeing report asks for nothing.
        let stale = follower(2, None, 4, Some((report(1, 5, true), silence + 1)));
        assert_eq!(follower_mode(&stale), (Mode::Awake, false));
    }
}
