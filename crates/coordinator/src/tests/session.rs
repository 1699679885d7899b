//! Heartbeats and session expiry in each state.

use super::harness::*;
use crate::error_code::*;
use crate::GroupState;

#[test]
fn heartbeats_keep_a_member_in_the_group() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    for _ in 0..20 {
        h.now += 5_000;
        assert_eq!(h.heartbeat(&formed.leader, formed.generation).code(), NONE);
    }
    h.advance(9_999);
    assert!(h.group().member(&formed.leader).is_some());
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn heartbeat_errors_name_what_is_wrong() {
    let mut h = Harness::new();
    assert_eq!(
        h.heartbeat("ghost", 1).code(),
        UNKNOWN_MEMBER_ID,
        "unknown group"
    );
    let formed = h.form_group(&["c0"]);
    assert_eq!(
        h.heartbeat("ghost", formed.generation).code(),
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        h.heartbeat(&formed.leader, formed.generation - 1).code(),
        ILLEGAL_GENERATION
    );
    assert_eq!(h.heartbeat(&formed.leader, formed.generation).code(), NONE);
}

#[test]
fn heartbeat_during_completing_rebalance_is_accepted() {
    let mut h = Harness::new();
    h.join("c0");
    h.run_join_phase();
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    assert_eq!(h.heartbeat("c0-0", 1).code(), NONE);
}

#[test]
fn session_expiry_in_stable_starts_a_rebalance() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let silent = formed.members[1].clone();
    let deadline = h.heartbeat_deadline(&silent).expect("armed");
    h.now = deadline - 2_000;
    h.heartbeat(&formed.leader, formed.generation);
    h.tick_at(deadline);
    assert!(h.group().member(&silent).is_none());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let rejoined = h.rejoin(&formed.leader);
    assert_eq!(rejoined.join().generation_id, formed.generation + 1);
}

#[test]
fn session_expiry_in_completing_rebalance_answers_parked_syncs_and_rebalances() {
    let mut h = Harness::new();
    h.join("c0");
    h.join("c1");
    h.run_join_phase();
    let waiting = h.sync("c1-1", 1);
    assert!(waiting.parked());
    // The leader neither syncs nor heartbeats.
    let deadline = h.heartbeat_deadline("c0-0").unwrap();
    let expired = h.tick_at(deadline);
    assert!(h.group().member("c0-0").is_none());
    let answered = sync_response(&expired, waiting.request).unwrap();
    assert_eq!(code(&answered.error), REBALANCE_IN_PROGRESS);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.group().leader(), Some("c1-1"));
}

#[test]
fn session_expiry_in_preparing_rebalance_lets_the_join_phase_end() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let rejoined = h.rejoin(&formed.leader);
    let silent = &formed.members[1];
    let deadline = h.heartbeat_deadline(silent).unwrap();
    assert!(
        deadline < h.now + REBALANCE_MS as u64,
        "expires before the rebalance timeout"
    );
    let expired = h.tick_at(deadline);
    let response = join_response(&expired, rejoined.request).expect("join phase over");
    assert_eq!(response.generation_id, formed.generation + 1);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn a_member_with_a_parked_join_does_not_expire() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let rejoined = h.rejoin(&formed.leader);
    let deadline = h.heartbeat_deadline(&formed.leader).unwrap();
    // Keep the other member alive so the join phase stays open.
    h.now = deadline - 1;
    h.heartbeat(&formed.members[1], formed.generation);
    let ticked = h.tick_at(deadline);
    assert!(h.group().member(&formed.leader).is_some());
    assert!(
        join_response(&ticked, rejoined.request).is_none(),
        "still parked"
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

#[test]
fn the_last_member_expiring_empties_the_group_and_persists_it() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let deadline = h.heartbeat_deadline(&formed.leader).unwrap();
    let expired = h.tick_at(deadline);
    assert_eq!(h.state(), GroupState::Empty);
    assert_eq!(h.group().generation_id(), formed.generation + 1);
    let records = persisted_groups(&expired);
    assert_eq!(records.len(), 1);
    assert!(records[0].members.is_empty());
    assert_eq!(records[0].state_timestamp, deadline);
}

#[test]
fn expiry_is_decided_by_the_event_time_not_by_when_ticks_arrive() {
    let mut early = Harness::new();
    let formed = early.form_group(&["c0"]);
    let deadline = early.heartbeat_deadline(&formed.leader).unwrap();
    early.now = deadline - 1;
    assert_eq!(
        early.heartbeat(&formed.leader, formed.generation).code(),
        NONE
    );

    let mut late = Harness::new();
    late.form_group(&["c0"]);
    // No tick at the deadline: the heartbeat after it still finds the member gone.
    late.now = deadline + 1;
    assert_eq!(
        late.heartbeat(&formed.leader, formed.generation).code(),
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(late.state(), GroupState::Empty);
}
