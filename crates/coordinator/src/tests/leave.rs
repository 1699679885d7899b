//! LeaveGroup: single and batched, by member id or by instance id.

use super::harness::*;
use crate::error_code::*;
use crate::{GroupState, Response};

fn leave_results(applied: &Applied) -> Vec<i16> {
    match applied.response() {
        Some(Response::LeaveGroup(r)) => r.members.iter().map(|(_, e)| code(e)).collect(),
        other => panic!("expected a LeaveGroup response, got {other:?}"),
    }
}

#[test]
fn a_member_leaving_a_stable_group_starts_a_rebalance() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let left = h.leave(vec![leaving(&formed.members[1], None)]);
    assert_eq!(leave_results(&left), [NONE]);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let rejoined = h.rejoin(&formed.leader);
    let response = rejoined.join();
    assert_eq!(response.generation_id, formed.generation + 1);
    assert_eq!(response.members.len(), 1);
}

#[test]
fn the_leader_leaving_during_completing_rebalance_starts_a_new_rebalance() {
    let mut h = Harness::new();
    h.join("c0");
    h.join("c1");
    h.run_join_phase();
    let waiting = h.sync("c1-1", 1);
    let left = h.leave(vec![leaving("c0-0", None)]);
    let answered = sync_response(&left.decisions, waiting.request).expect("parked sync answered");
    assert_eq!(code(&answered.error), REBALANCE_IN_PROGRESS);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.group().leader(), Some("c1-1"));
    let rejoined = h.rejoin("c1-1");
    let response = rejoined.join();
    assert_eq!(
        (response.generation_id, response.leader.as_str()),
        (2, "c1-1")
    );
}

#[test]
fn a_batch_leave_answers_each_member() {
    let mut h = Harness::new();
    h.join("c0");
    h.join("c1");
    let mut static_join = h.join_request("", "s");
    static_join.group_instance_id = Some("i2".into());
    h.join_with(static_join);
    h.run_join_phase();
    h.leader_sync("c0-0", 1);
    assert_eq!(h.group().static_member_id("i2"), Some("i2-2"));

    let left = h.leave(vec![
        leaving("c0-0", None),
        leaving("ghost", None),
        leaving("c1-1", Some("i2")),
        leaving("", Some("i2")),
        leaving("", Some("nobody")),
    ]);
    assert_eq!(
        leave_results(&left),
        [
            NONE,
            UNKNOWN_MEMBER_ID,
            FENCED_INSTANCE_ID,
            NONE,
            UNKNOWN_MEMBER_ID
        ]
    );
    let remaining: Vec<&str> = h.group().members().map(|m| m.member_id.as_str()).collect();
    assert_eq!(remaining, ["c1-1"]);
    assert_eq!(h.group().static_member_id("i2"), None);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_pending_member_can_leave() {
    let mut h = Harness::new();
    let mut request = h.join_request("", "c");
    request.require_known_member_id = true;
    h.join_with(request);
    let left = h.leave(vec![leaving("c-0", None)]);
    assert_eq!(leave_results(&left), [NONE]);
    assert!(!h.group().is_pending("c-0"));
    assert_eq!(
        h.heartbeat_deadline("c-0"),
        None,
        "its session timer is disarmed"
    );
}

#[test]
fn leaving_an_unknown_group_is_unknown_member() {
    let mut h = Harness::new();
    let left = h.leave(vec![leaving("c0-0", None)]);
    assert_eq!(left.code(), UNKNOWN_MEMBER_ID);
}

#[test]
fn the_last_member_leaving_empties_the_group() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let left = h.leave(vec![leaving(&formed.leader, None)]);
    assert_eq!(h.state(), GroupState::Empty);
    assert_eq!(h.group().generation_id(), formed.generation + 1);
    assert_eq!(persisted_groups(&left.decisions).len(), 1);
}

#[test]
fn a_member_leaving_with_a_parked_join_gets_its_join_answered() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let rejoined = h.rejoin(&formed.leader);
    let left = h.leave(vec![leaving(&formed.leader, None)]);
    let answered = join_response(&left.decisions, rejoined.request).unwrap();
    assert_eq!(code(&answered.error), UNKNOWN_MEMBER_ID);
}
