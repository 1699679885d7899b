//! What dissemination carries and what a broker learns from it: the
//! [`Heartbeat`] message, the [`ClusterKnowledge`] it builds up (each group's
//! leader, term and ISR as last reported; when each peer was last heard), and
//! the pure ISR rule [`compute_isr`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use cairn_storage::GroupId;

/// One group a broker leads, as reported in its heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedGroup {
    /// Group id.
    pub group: GroupId,
    /// The leader's Raft term (the leader epoch).
    pub term: u64,
    /// In-sync replicas as the leader sees them.
    pub isr: Vec<u64>,
    /// The group is idle and its Raft heartbeats are off (see [`crate::quiesce`]).
    pub quiescent: bool,
}

/// A broker's heartbeat to every peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The sender.
    pub from: u64,
    /// Every group the sender leads right now.
    pub led: Vec<LedGroup>,
    /// Quiescent groups the sender follows but whose leader or term it does
    /// not know: their leader should wake them (see [`crate::quiesce`]).
    pub wake: Vec<GroupId>,
}

/// A partition's leader as last reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderInfo {
    /// Leader broker.
    pub leader: u64,
    /// Its term.
    pub term: u64,
    /// ISR it reported.
    pub isr: Vec<u64>,
    /// Whether the leader reported the group quiescent.
    pub quiescent: bool,
}

struct Reported {
    info: LeaderInfo,
    at: Instant,
}

/// Leaders of all groups and liveness of all brokers, as this broker knows them.
#[derive(Default)]
pub struct ClusterKnowledge {
    leaders: RwLock<HashMap<GroupId, Reported>>,
    heard: RwLock<BTreeMap<u64, Instant>>,
    /// Brokers whose process is gone (the transport's connects are refused),
    /// until they are heard from again.
    gone: RwLock<BTreeMap<u64, Instant>>,
}

impl ClusterKnowledge {
    /// Records a heartbeat (from a peer, or this broker's own report).
    pub fn record(&self, heartbeat: &Heartbeat, now: Instant) {
        self.gone
            .write()
            .expect("gone lock")
            .remove(&heartbeat.from);
        self.heard
            .write()
            .expect("heard lock")
            .insert(heartbeat.from, now);
        let mut leaders = self.leaders.write().expect("leaders lock");
        let led: BTreeSet<GroupId> = heartbeat.led.iter().map(|g| g.group).collect();
        // The sender no longer leads groups it does not list.
        leaders.retain(|group, r| r.info.leader != heartbeat.from || led.contains(group));
        for g in &heartbeat.led {
            let newer = leaders.get(&g.group).is_none_or(|r| g.term >= r.info.term);
            if newer {
                let info = LeaderInfo {
                    leader: heartbeat.from,
                    term: g.term,
                    isr: g.isr.clone(),
                    quiescent: g.quiescent,
                };
                leaders.insert(g.group, Reported { info, at: now });
            }
        }
    }

    /// The leader of `group`, if reported within `max_age` by a broker that
    /// is not gone.
    pub fn leader(&self, group: GroupId, now: Instant, max_age: Duration) -> Option<LeaderInfo> {
        let leaders = self.leaders.read().expect("leaders lock");
        leaders
            .get(&group)
            .filter(|r| now.saturating_duration_since(r.at) < max_age)
            .filter(|r| !self.is_gone(r.info.leader))
            .map(|r| r.info.clone())
    }

    /// Records that `broker`'s process is gone: the groups it reported
    /// leading have no known leader until their new leaders report (clients
    /// asking Metadata meanwhile retry rather than dial a dead broker), or it
    /// is heard from again.
    pub fn mark_gone(&self, broker: u64, now: Instant) {
        self.gone
            .write()
            .expect("gone lock")
            .entry(broker)
            .or_insert(now);
    }

    /// Whether `broker` is gone (see [`ClusterKnowledge::mark_gone`]).
    pub fn is_gone(&self, broker: u64) -> bool {
        self.gone.read().expect("gone lock").contains_key(&broker)
    }

    /// Whether some broker was found gone less than `window` ago.
    pub fn any_gone_within(&self, now: Instant, window: Duration) -> bool {
        let gone = self.gone.read().expect("gone lock");
        gone.values()
            .any(|&at| now.saturating_duration_since(at) < window)
    }

    /// Since when `broker` is gone, if it is.
    pub fn gone_since(&self, broker: u64) -> Option<Instant> {
        self.gone.read().expect("gone lock").get(&broker).copied()
    }

    /// The last report of `group`'s leader and when it arrived, however old.
    pub fn report(&self, group: GroupId) -> Option<(LeaderInfo, Instant)> {
        let leaders = self.leaders.read().expect("leaders lock");
        leaders.get(&group).map(|r| (r.info.clone(), r.at))
    }

    /// When `broker` was last heard from.
    pub fn last_heard(&self, broker: u64) -> Option<Instant> {
        self.heard.read().expect("heard lock").get(&broker).copied()
    }

    /// Brokers heard from within `window`.
    pub fn heard_within(&self, now: Instant, window: Duration) -> BTreeSet<u64> {
        let heard = self.heard.read().expect("heard lock");
        heard
            .iter()
            .filter(|(_, &at)| now.saturating_duration_since(at) < window)
            .map(|(&id, _)| id)
            .collect()
    }
}

/// The in-sync replicas of a group this broker leads: itself, plus every other
/// voter whose replicated index is within `max_lag` entries of the leader's last
/// index and that was heard from recently (`live`). A follower that died in an
/// idle partition keeps a current index, so liveness is what drops it.
pub fn compute_isr(
    leader: u64,
    voters: &BTreeSet<u64>,
    last_index: u64,
    matched: &BTreeMap<u64, Option<u64>>,
    live: &BTreeSet<u64>,
    max_lag: u64,
) -> Vec<u64> {
    voters
        .iter()
        .copied()
        .filter(|&v| {
            v == leader
                || (live.contains(&v)
                    && matched
                        .get(&v)
                        .copied()
                        .flatten()
                        .is_some_and(|m| m.saturating_add(max_lag) >= last_index))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isr_requires_progress_and_liveness() {
        let voters = BTreeSet::from([1, 2, 3, 4]);
        let matched = BTreeMap::from([(2, Some(100)), (3, Some(10)), (4, Some(100))]);
        let live = BTreeSet::from([1, 2, 3]);
        // 3 lags by 90 > 50; 4 is current but not heard from.
        assert_eq!(
            compute_isr(1, &voters, 100, &matched, &live, 50),
            vec![1, 2]
        );
        assert_eq!(
            compute_isr(1, &voters, 100, &matched, &live, 100),
            vec![1, 2, 3]
        );
        // A follower that never replicated anything is out.
        assert_eq!(
            compute_isr(1, &voters, 0, &BTreeMap::new(), &live, 10),
            vec![1]
        );
    }

    #[test]
    fn a_gone_broker_leads_nothing_until_it_is_heard_from_again() {
        let k = ClusterKnowledge::default();
        let t0 = Instant::now();
        let hb = Heartbeat {
            from: 2,
            led: vec![LedGroup {
                group: 7,
                term: 3,
                isr: vec![2, 1],
                quiescent: false,
            }],
            wake: vec![],
        };
        let fresh = Duration::from_secs(4);
        k.record(&hb, t0);
        k.mark_gone(2, t0);
        assert!(k.is_gone(2));
        assert_eq!(k.gone_since(2), Some(t0));
        assert!(k.any_gone_within(t0, fresh));
        assert!(!k.any_gone_within(t0 + fresh, fresh));
        assert!(k.leader(7, t0, fresh).is_none());
        // Quiescence still sees what the leader last said.
        assert_eq!(k.report(7).unwrap().0.leader, 2);
        k.record(&hb, t0);
        assert!(!k.is_gone(2));
        assert_eq!(k.leader(7, t0, fresh).unwrap().leader, 2);
    }

    #[test]
    fn higher_terms_win_and_silence_expires() {
        let k = ClusterKnowledge::default();
        let t0 = Instant::now();
        let hb = |from, term| Heartbeat {
            from,
            led: vec![LedGroup {
                group: 7,
                term,
                isr: vec![from],
                quiescent: false,
            }],
            wake: vec![],
        };
        k.record(&hb(1, 3), t0);
        k.record(&hb(2, 2), t0); // stale report from an old leader
        assert_eq!(k.leader(7, t0, Duration::from_secs(1)).unwrap().leader, 1);
        k.record(&hb(2, 4), t0);
        assert_eq!(k.leader(7, t0, Duration::from_secs(1)).unwrap().leader, 2);
        assert!(k
            .leader(7, t0 + Duration::from_secs(2), Duration::from_secs(1))
            .is_none());
        // A leader that stops listing a group gives it up.
        k.record(
            &Heartbeat {
                from: 2,
                led: vec![],
                wake: vec![],
            },
            t0,
        );
        assert!(k.leader(7, t0, Duration::from_secs(1)).is_none());
        assert_eq!(
            k.heard_within(t0, Duration::from_secs(1)),
            BTreeSet::from([1, 2])
        );
    }
}
