//! Who leads each partition, learned by dissemination (not through the
//! metadata log): every heartbeat interval each broker looks at the partition
//! replicas it hosts ([`observe_groups`]) and tells every other broker which
//! groups it leads, with the term, the ISR and quiescence ([`heartbeat_loop`]).
//! The same messages are the brokers' heartbeats, so every broker also knows
//! when it last heard from each peer; the controller fences brokers on that
//! basis. The message and the knowledge built from it are in [`knowledge`].

pub mod knowledge;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use knowledge::{compute_isr, ClusterKnowledge, Heartbeat, LeaderInfo, LedGroup};

use crate::quiesce::{follower_mode, FollowerView, LeaderObservation, Mode};
use crate::services;
use crate::shared::Core;

/// A follower within this many entries of the leader's last entry counts as caught up.
pub const ISR_MAX_LAG_ENTRIES: u64 = 1000;

/// One pass over this broker's partition replicas, every heartbeat interval:
/// the groups it leads (with term, ISR and quiescence) and the quiescent
/// groups it follows whose leader should wake them. Applies each replica's
/// quiescence mode on the way (see [`crate::quiesce`]).
pub fn observe_groups(core: &Core) -> (Vec<LedGroup>, Vec<u64>) {
    let now = Instant::now();
    let knowledge = core.knowledge();
    let mut live = knowledge.heard_within(now, core.session_timeout());
    live.insert(core.id());
    let mut led = Vec::new();
    let mut wake = Vec::new();
    let groups = core.partitions().registry.all();
    core.quiet()
        .retain(&groups.iter().map(|(g, _, _)| *g).collect());
    for (group, raft, _) in groups {
        let (leading, term, leader, last, voters, matched) = {
            let m = raft.metrics();
            let m = m.borrow();
            let (voters, matched) = replication(&m);
            (
                m.current_leader == Some(core.id()) && m.state.is_leader(),
                m.current_term,
                m.current_leader,
                m.last_log_index,
                voters,
                matched,
            )
        };
        let report = knowledge.report(group);
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
            let quiescing = core.config().quiesce_partitions;
            let seen = LeaderObservation {
                last_index: last,
                term,
                followers_caught_up: caught_up && quiescing,
                uncontested,
            };
            let mode = core.quiet().lead(group, &raft, &seen, now, core.tasks());
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
            core.quiet().follow(group, &raft, mode, core.tasks());
            if ask {
                wake.push(group);
            }
        }
    }
    led.extend(led_offsets_groups(core, &live));
    core.leadership()
        .observe(led.iter().map(|l| (l.group, l.term)), now);
    (led, wake)
}

/// The leader of `group` as this broker knows it now: the newer of its
/// leader's last report and what this broker's own replica of the group
/// knows (a replica learns of a new leader with its first append, before that
/// leader's next report), never a broker whose process is gone or that was
/// not heard from within the session timeout. Metadata, FindCoordinator, the
/// admin API and the controller's loops all ask this.
pub fn leader_of(core: &Core, group: u64, now: Instant) -> Option<LeaderInfo> {
    let knowledge = core.knowledge();
    let reported = knowledge.leader(group, now, core.session_timeout());
    let mut live = knowledge.heard_within(now, core.session_timeout());
    live.insert(core.id());
    live.retain(|&b| !knowledge.is_gone(b));
    match (reported, local_leader(core, group, &live)) {
        (Some(reported), Some(local)) if local.term > reported.term => Some(local),
        // The last leader is gone or silent. (A group that never had a
        // leader report waits for one: its first ISR comes from its leader.)
        (None, Some(local)) if knowledge.report(group).is_some() => Some(local),
        (reported, _) => reported,
    }
}

/// Whether `group` has no leader because its leader's broker was found gone
/// less than [`crate::failover::CAMPAIGN_FOR`] ago: a new leader is being
/// elected, and Metadata waits a moment for it rather than answer "no leader"
/// (a client told so retries only after its next periodic refresh, a second
/// later for librdkafka).
pub fn awaiting_new_leader(core: &Core, group: u64, now: Instant) -> bool {
    let knowledge = core.knowledge();
    leader_of(core, group, now).is_none()
        && knowledge.report(group).is_some_and(|(report, _)| {
            knowledge
                .gone_since(report.leader)
                .is_some_and(|at| now.saturating_duration_since(at) < crate::failover::CAMPAIGN_FOR)
        })
}

/// The leader this broker's replica of `group` knows, if it runs one and
/// that leader is `live`. The ISR: as the leader computes it when that is
/// this broker; else the live voters, until the leader's report comes (a
/// follower does not see the others' progress).
fn local_leader(core: &Core, group: u64, live: &BTreeSet<u64>) -> Option<LeaderInfo> {
    fn known<C: cairn_common::GroupTypeConfig>(
        raft: &openraft::Raft<C>,
        me: u64,
        live: &BTreeSet<u64>,
    ) -> Option<LeaderInfo> {
        let m = raft.metrics();
        let m = m.borrow();
        let leader = m.current_leader.filter(|l| live.contains(l))?;
        let (voters, matched) = replication(&m);
        let isr = if leader == me && m.state.is_leader() {
            let last = m.last_log_index.unwrap_or(0);
            compute_isr(me, &voters, last, &matched, live, ISR_MAX_LAG_ENTRIES)
        } else {
            voters.into_iter().filter(|v| live.contains(v)).collect()
        };
        Some(LeaderInfo {
            leader,
            term: m.current_term,
            isr,
            quiescent: false,
        })
    }
    let partitions = core.partitions();
    match partitions.registry.raft(group) {
        Some(raft) => known(&raft, core.id(), live),
        None => known(&partitions.offsets.raft(group)?, core.id(), live),
    }
}

/// A group's voters and, on its leader, each follower's replicated index.
fn replication(
    m: &openraft::RaftMetrics<u64, openraft::BasicNode>,
) -> (BTreeSet<u64>, BTreeMap<u64, Option<u64>>) {
    let matched = m
        .replication
        .as_ref()
        .map(|r| {
            r.iter()
                .map(|(id, log)| (*id, log.map(|l| l.index)))
                .collect()
        })
        .unwrap_or_default();
    let voters = m.membership_config.membership().voter_ids().collect();
    (voters, matched)
}

/// The `__consumer_offsets` groups this broker leads, for the heartbeat (so
/// that every broker can answer FindCoordinator). They never quiesce: their
/// members heartbeat through them.
fn led_offsets_groups(core: &Core, live: &BTreeSet<u64>) -> Vec<LedGroup> {
    let mut led = Vec::new();
    for (group, raft, _) in core.partitions().offsets.all() {
        let m = raft.metrics();
        let m = m.borrow();
        if m.current_leader != Some(core.id()) || !m.state.is_leader() {
            continue;
        }
        let (voters, matched) = replication(&m);
        led.push(LedGroup {
            group,
            term: m.current_term,
            isr: compute_isr(
                core.id(),
                &voters,
                m.last_log_index.unwrap_or(0),
                &matched,
                live,
                ISR_MAX_LAG_ENTRIES,
            ),
            quiescent: false,
        });
    }
    led
}

/// Every heartbeat interval: report the groups this broker leads to itself and
/// to every registered peer. Each send is an owned task bounded by two intervals.
pub async fn heartbeat_loop(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(core.config().heartbeat_interval_ms);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        let (led, wake) = observe_groups(&core);
        let heartbeat = Heartbeat {
            from: core.id(),
            led,
            wake,
        };
        core.knowledge().record(&heartbeat, Instant::now());
        let body = match bincode::serialize(&heartbeat) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode heartbeat");
                continue;
            }
        };
        let mut peers: Vec<u64> = core
            .meta()
            .reader
            .read(|s| s.brokers.keys().copied().collect());
        peers.extend(core.config().seeds.iter().map(|s| s.id));
        peers.sort_unstable();
        peers.dedup();
        for peer in peers.into_iter().filter(|&p| p != core.id()) {
            let transport = core.transport().clone();
            let body = body.clone();
            core.tasks().spawn("heartbeat send", async move {
                if let Err(e) = transport
                    .call(peer, services::HEARTBEAT, 0, body, interval * 2)
                    .await
                {
                    tracing::trace!(peer, error = %e, "heartbeat not delivered");
                }
            });
        }
    }
}
