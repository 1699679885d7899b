//! The join phase of a rebalance ends at the rebalance timeout: members that
//! did not rejoin are dropped, and a leader that did not rejoin is replaced.

use super::harness::*;
use crate::error_code::*;
use crate::GroupState;

/// Keeps `member` alive with heartbeats every 5 s from `from` up to `until`
/// (exclusive), without rejoining.
fn keep_alive(h: &mut Harness, member: &str, generation: i32, from: u64, until: u64) {
    let mut t = from;
    while t < until {
        h.now = t;
        let beat = h.heartbeat(member, generation);
        assert_eq!(beat.code(), REBALANCE_IN_PROGRESS, "at {t}");
        t += 5_000;
    }
}

#[test]
fn rebalance_timeout_removes_members_that_did_not_rejoin() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let start = h.now;
    let leader = h.rejoin(&formed.leader);
    let follower = formed.members[1].clone();
    keep_alive(
        &mut h,
        &follower,
        formed.generation,
        start + 5_000,
        start + 30_000,
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let ended = h.tick_at(start + REBALANCE_MS as u64);
    let response = join_response(&ended, leader.request).expect("leader answered");
    assert_eq!(response.generation_id, formed.generation + 1);
    assert_eq!(response.members.len(), 1);
    assert!(h.group().member(&follower).is_none());
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn a_leader_that_does_not_rejoin_is_replaced_by_a_member_that_did() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let start = h.now;
    let follower = formed.members[1].clone();
    let mut changed = h.join_request(&follower, "c1");
    changed.protocols = vec![protocol("range", &["t", "u"])];
    let rejoined = h.join_with(changed);
    keep_alive(
        &mut h,
        &formed.leader,
        formed.generation,
        start + 5_000,
        start + 30_000,
    );
    let ended = h.tick_at(start + REBALANCE_MS as u64);
    let response = join_response(&ended, rejoined.request).unwrap();
    assert_eq!(response.leader, follower);
    assert_eq!(
        response.members.len(),
        1,
        "the new leader gets the member list"
    );
    assert!(h.group().member(&formed.leader).is_none());
}

#[test]
fn generation_advances_with_every_rebalance() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    for expected in formed.generation + 1..formed.generation + 4 {
        let rejoined = h.rejoin(&formed.leader);
        assert_eq!(rejoined.join().generation_id, expected);
        h.leader_sync(&formed.leader, expected);
        assert_eq!(h.group().generation_id(), expected);
    }
}

#[test]
fn heartbeat_during_the_join_phase_says_rebalance_in_progress() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    h.rejoin(&formed.leader);
    let beat = h.heartbeat(&formed.members[1], formed.generation);
    assert_eq!(beat.code(), REBALANCE_IN_PROGRESS);
}
