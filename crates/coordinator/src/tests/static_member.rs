//! Static membership (KIP-345): rejoining under a new member id without a
//! rebalance, fencing the old id, and static members outliving a join phase.

use super::harness::*;
use crate::error_code::*;
use crate::{Decision, GroupState, JoinGroupRequest, Record, TimerKey};

fn static_request(h: &mut Harness, member_id: &str, instance: &str) -> JoinGroupRequest {
    let mut request = h.join_request(member_id, "client");
    request.group_instance_id = Some(instance.to_owned());
    request
}

/// A Stable group of static member `s0` (instance `i0`, leader) and dynamic
/// member `c1`; returns their member ids and the generation.
fn stable_static_group(h: &mut Harness) -> (String, String, i32) {
    let first = static_request(h, "", "i0");
    let s0 = h.join_with(first);
    let c1 = h.join("c1");
    let decisions = h.run_join_phase();
    let formed = h.finish_rebalance(&[s0.request, c1.request], &decisions);
    assert_eq!(formed.members, ["i0-0", "c1-1"]);
    ("i0-0".into(), "c1-1".into(), formed.generation)
}

#[test]
fn a_static_member_rejoining_a_stable_group_gets_a_new_id_without_rebalance() {
    let mut h = Harness::new();
    let (old_id, follower, generation) = stable_static_group(&mut h);
    let request = static_request(&mut h, "", "i0");
    let rejoined = h.join_with(request);
    let response = rejoined.join();
    assert_eq!(response.error, None);
    assert_eq!(response.member_id, "i0-2");
    assert_eq!(response.generation_id, generation);
    assert!(!rejoined.parked());
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.group().static_member_id("i0"), Some("i0-2"));
    assert!(h.group().member(&old_id).is_none());
    assert!(persisted_groups(&rejoined.decisions)
        .iter()
        .any(|r| r.members.iter().any(|m| m.member_id == "i0-2")));
    // It keeps the assignment it had under the old id.
    assert_eq!(
        h.sync("i0-2", generation).sync().assignment,
        assignment_of(&old_id)
    );
    assert!(h.group().member(&follower).is_some());
}

#[test]
fn the_replaced_member_id_is_fenced() {
    let mut h = Harness::new();
    let (old_id, _, generation) = stable_static_group(&mut h);
    let request = static_request(&mut h, "", "i0");
    h.join_with(request);

    let beat = h.heartbeat(&old_id, generation);
    assert_eq!(
        beat.code(),
        UNKNOWN_MEMBER_ID,
        "without its instance id it is just unknown"
    );
    let mut sync = h.sync_request(&old_id, generation);
    sync.group_instance_id = Some("i0".into());
    assert_eq!(h.sync_with(sync).code(), FENCED_INSTANCE_ID);
    let mut commit = h.commit_request(&old_id, generation, &[("t", 0, 1)]);
    commit.group_instance_id = Some("i0".into());
    let committed = h.commit_with(commit);
    match committed.response() {
        Some(crate::Response::OffsetCommit(topics)) => {
            assert_eq!(code(&topics[0].1[0].1), FENCED_INSTANCE_ID)
        }
        other => panic!("{other:?}"),
    }
    let rejoin = static_request(&mut h, &old_id, "i0");
    assert_eq!(h.join_with(rejoin).code(), FENCED_INSTANCE_ID);
}

#[test]
fn a_known_member_id_with_an_unknown_instance_id_is_unknown() {
    let mut h = Harness::new();
    let (_, follower, _) = stable_static_group(&mut h);
    let request = static_request(&mut h, &follower, "never-seen");
    assert_eq!(h.join_with(request).code(), UNKNOWN_MEMBER_ID);
}

#[test]
fn a_static_rejoin_that_changes_the_chosen_protocol_starts_a_rebalance() {
    let mut h = Harness::new();
    let first = static_request(&mut h, "", "i0");
    let joined = h.join_with(first);
    let decisions = h.run_join_phase();
    h.finish_rebalance(&[joined.request], &decisions);
    let mut request = static_request(&mut h, "", "i0");
    request.protocols = vec![protocol("roundrobin", &["t"]), protocol("range", &["t"])];
    let rejoined = h.join_with(request);
    // Alone in the group it rejoins at once, in a new generation with the new protocol.
    assert_eq!(rejoined.join().generation_id, 2);
    assert_eq!(h.group().protocol_name(), Some("roundrobin"));
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn a_static_leader_rejoining_with_v9_keeps_the_assignment_and_skips_computing_it() {
    let mut h = Harness::new();
    let (_, follower, _) = stable_static_group(&mut h);
    let mut request = static_request(&mut h, "", "i0");
    request.supports_skip_assignment = true;
    let response = h.join_with(request).join();
    assert_eq!(response.leader, "i0-2");
    assert!(response.skip_assignment);
    let listed: Vec<&str> = response
        .members
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    assert_eq!(listed, [follower.as_str(), "i0-2"]);
}

#[test]
fn a_static_leader_rejoining_with_an_old_client_is_told_the_old_leader() {
    let mut h = Harness::new();
    let (old_id, _, _) = stable_static_group(&mut h);
    let request = static_request(&mut h, "", "i0");
    let response = h.join_with(request).join();
    assert_eq!(
        response.leader, old_id,
        "so it does not compute an assignment"
    );
    assert!(!response.skip_assignment);
    assert!(response.members.is_empty());
    assert_eq!(h.group().leader(), Some("i0-2"));
}

#[test]
fn a_static_member_that_does_not_rejoin_stays_through_the_rebalance() {
    let mut h = Harness::new();
    let (static_id, follower, generation) = stable_static_group(&mut h);
    let start = h.now;
    let mut changed = h.join_request(&follower, "c1");
    changed.protocols = vec![protocol("range", &["t", "u"])];
    let rejoined = h.join_with(changed);
    for t in (5_000..30_000).step_by(5_000) {
        h.now = start + t;
        h.heartbeat(&static_id, generation);
    }
    let ended = h.tick_at(start + REBALANCE_MS as u64);
    let response = join_response(&ended, rejoined.request).unwrap();
    assert_eq!(response.leader, follower, "the leader did not rejoin");
    assert_eq!(
        response.members.len(),
        2,
        "the static member is still listed"
    );
    assert!(h.group().member(&static_id).is_some());
}

#[test]
fn the_join_phase_is_extended_while_only_silent_static_members_remain() {
    let mut h = Harness::new();
    let (static_id, follower, generation) = stable_static_group(&mut h);
    let start = h.now;
    h.leave(vec![leaving(&follower, None)]);
    for t in (5_000..30_000).step_by(5_000) {
        h.now = start + t;
        h.heartbeat(&static_id, generation);
    }
    let ended = h.tick_at(start + REBALANCE_MS as u64);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.group().generation_id(), generation);
    let join_key = TimerKey::Join {
        group_id: GROUP.into(),
    };
    let rearmed = Decision::ArmTimer {
        key: join_key,
        deadline: start + 2 * REBALANCE_MS as u64,
    };
    assert!(ended.contains(&rearmed), "{ended:#?}");
}

#[test]
fn a_static_rejoin_during_completing_rebalance_starts_a_new_rebalance() {
    let mut h = Harness::new();
    let first = static_request(&mut h, "", "i0");
    h.join_with(first);
    h.join("c1");
    h.run_join_phase();
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    let request = static_request(&mut h, "", "i0");
    let rejoined = h.join_with(request);
    assert!(rejoined.parked());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h.group().member("i0-2").is_some());
}

#[test]
fn a_replaced_static_member_has_its_parked_join_fenced() {
    let mut h = Harness::new();
    let (static_id, _, _) = stable_static_group(&mut h);
    let request = static_request(&mut h, &static_id, "i0");
    let old = h.join_with(request);
    assert!(old.parked(), "the leader rejoining starts a rebalance");
    let request = static_request(&mut h, "", "i0");
    let new = h.join_with(request);
    let fenced = join_response(&new.decisions, old.request).expect("old join answered");
    assert_eq!(code(&fenced.error), FENCED_INSTANCE_ID);
    assert!(new.parked());
    assert!(!new
        .decisions
        .iter()
        .any(|d| matches!(d, Decision::Persist(Record::GroupMetadata(_)))));
}
