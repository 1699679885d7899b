//! SyncGroup: the leader hands out the assignment, followers wait for it,
//! stale or unknown members are refused, and silent members are dropped.

use super::harness::*;
use crate::error_code::*;
use crate::{Decision, GroupState, Record};

/// Two members joined generation 1; returns (leader, follower).
fn completing(h: &mut Harness) -> (String, String) {
    h.join("c0");
    h.join("c1");
    h.run_join_phase();
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    ("c0-0".into(), "c1-1".into())
}

#[test]
fn leader_sync_hands_out_every_assignment_and_the_group_becomes_stable() {
    let mut h = Harness::new();
    let (leader, follower) = completing(&mut h);
    let synced = h.leader_sync(&leader, 1);
    let response = synced.sync();
    assert_eq!(response.error, None);
    assert_eq!(response.assignment, assignment_of(&leader));
    assert_eq!(response.protocol_name.as_deref(), Some("range"));
    assert_eq!(h.state(), GroupState::Stable);
    let later = h.sync(&follower, 1);
    assert_eq!(later.sync().assignment, assignment_of(&follower));
}

#[test]
fn leader_sync_persists_the_generation_with_its_assignment() {
    let mut h = Harness::new();
    let (leader, follower) = completing(&mut h);
    let synced = h.leader_sync(&leader, 1);
    let records = persisted_groups(&synced.decisions);
    assert_eq!(records.len(), 1);
    let record = records[0];
    assert_eq!(
        (record.generation_id, record.leader.as_deref()),
        (1, Some(leader.as_str()))
    );
    let assigned: Vec<(&str, &[u8])> = record
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.assignment.as_slice()))
        .collect();
    assert_eq!(
        assigned,
        [
            (leader.as_str(), assignment_of(&leader).as_slice()),
            (follower.as_str(), assignment_of(&follower).as_slice())
        ]
    );
}

#[test]
fn follower_sync_before_the_leader_waits_for_it() {
    let mut h = Harness::new();
    let (leader, follower) = completing(&mut h);
    let waiting = h.sync(&follower, 1);
    assert!(waiting.parked());
    assert!(waiting.response().is_none());
    let synced = h.leader_sync(&leader, 1);
    let answered = sync_response(&synced.decisions, waiting.request).expect("answered");
    assert_eq!(answered.assignment, assignment_of(&follower));
}

#[test]
fn members_the_leader_left_out_get_an_empty_assignment() {
    let mut h = Harness::new();
    let (leader, follower) = completing(&mut h);
    let waiting = h.sync(&follower, 1);
    let request = h.sync_request(&leader, 1);
    let synced = h.sync_with(request);
    assert_eq!(synced.sync().assignment, Vec::<u8>::new());
    assert_eq!(
        sync_response(&synced.decisions, waiting.request)
            .unwrap()
            .assignment,
        Vec::<u8>::new()
    );
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn sync_with_a_wrong_generation_is_illegal() {
    let mut h = Harness::new();
    let (leader, _) = completing(&mut h);
    assert_eq!(h.leader_sync(&leader, 0).code(), ILLEGAL_GENERATION);
    assert_eq!(h.leader_sync(&leader, 2).code(), ILLEGAL_GENERATION);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn sync_from_an_unknown_member_or_group_is_unknown_member() {
    let mut h = Harness::new();
    assert_eq!(h.sync("ghost", 1).code(), UNKNOWN_MEMBER_ID);
    completing(&mut h);
    assert_eq!(h.sync("ghost", 1).code(), UNKNOWN_MEMBER_ID);
}

#[test]
fn sync_during_preparing_rebalance_is_rebalance_in_progress() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    h.rejoin(&formed.leader);
    assert_eq!(
        h.sync(&formed.members[1], formed.generation).code(),
        REBALANCE_IN_PROGRESS
    );
}

#[test]
fn sync_naming_another_protocol_is_inconsistent() {
    let mut h = Harness::new();
    let (leader, _) = completing(&mut h);
    let mut request = h.sync_request(&leader, 1);
    request.protocol_name = Some("roundrobin".into());
    assert_eq!(h.sync_with(request).code(), INCONSISTENT_GROUP_PROTOCOL);
    let mut request = h.sync_request(&leader, 1);
    request.protocol_type = Some("consumer".into());
    request.protocol_name = Some("range".into());
    assert_eq!(h.sync_with(request).code(), NONE);
}

#[test]
fn members_that_never_sync_are_removed_at_the_sync_timeout() {
    let mut h = Harness::new();
    let (leader, follower) = completing(&mut h);
    let start = h.now;
    let waiting = h.sync(&follower, 1);
    // The leader heartbeats (so its session holds) but never syncs.
    for t in (5_000..30_000).step_by(5_000) {
        h.now = start + t;
        assert_eq!(h.heartbeat(&leader, 1).code(), NONE);
    }
    let expired = h.tick_at(start + REBALANCE_MS as u64);
    assert!(h.group().member(&leader).is_none());
    let answered = sync_response(&expired, waiting.request).expect("parked sync answered");
    assert_eq!(code(&answered.error), REBALANCE_IN_PROGRESS);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.group().leader(), Some(follower.as_str()));
}

#[test]
fn a_synced_group_keeps_no_sync_timer() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let sync_key = crate::TimerKey::Sync {
        group_id: GROUP.into(),
    };
    assert_eq!(h.coordinator.deadline(&sync_key), None);
    // Long after the sync timeout, nobody is removed for not syncing.
    for _ in 0..20 {
        h.now += 5_000;
        for member in &formed.members {
            h.heartbeat(member, formed.generation);
        }
    }
    assert_eq!(h.group().members().count(), 2);
    assert!(!h
        .tick_at(h.now)
        .iter()
        .any(|d| matches!(d, Decision::Persist(Record::GroupMetadata(_)))));
}
