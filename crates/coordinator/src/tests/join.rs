//! JoinGroup: first joins, the MEMBER_ID_REQUIRED round trip, leader
//! election, rejoins, validation and protocol selection.

use super::harness::*;
use crate::error_code::*;
use crate::{GroupCoordinatorConfig, GroupState};

#[test]
fn first_join_v4_without_member_id_gets_member_id_required_then_enters_with_it() {
    let mut h = Harness::new();
    let mut request = h.join_request("", "c");
    request.require_known_member_id = true;
    let first = h.join_with(request);
    let response = first.join();
    assert_eq!(code(&response.error), MEMBER_ID_REQUIRED);
    assert_eq!(response.member_id, "c-0");
    assert!(h.group().is_pending("c-0"));
    assert_eq!(h.group().members().count(), 0);
    assert_eq!(h.state(), GroupState::Empty);

    let mut again = h.join_request("c-0", "c");
    again.require_known_member_id = true;
    let second = h.join_with(again);
    assert!(second.parked());
    assert!(!h.group().is_pending("c-0"));
    assert_eq!(h.state(), GroupState::PreparingRebalance);

    let ticked = h.advance(INITIAL_DELAY_MS);
    let joined = join_response(&ticked, second.request).expect("answered after the delay");
    assert_eq!(joined.error, None);
    assert_eq!(
        (joined.member_id.as_str(), joined.generation_id),
        ("c-0", 1)
    );
    assert_eq!(joined.leader, "c-0");
}

#[test]
fn first_join_before_v4_enters_the_group_directly() {
    let mut h = Harness::new();
    let joined = h.join("c");
    assert!(joined.parked());
    assert!(h.group().member("c-0").is_some());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

#[test]
fn pending_member_that_never_rejoins_expires_after_its_session_timeout() {
    let mut h = Harness::new();
    let mut request = h.join_request("", "c");
    request.require_known_member_id = true;
    h.join_with(request);
    h.advance(SESSION_MS as u64);
    assert!(!h.group().is_pending("c-0"));
    let late = h.rejoin("c-0");
    assert_eq!(late.code(), UNKNOWN_MEMBER_ID);
}

#[test]
fn leader_is_the_first_joiner_and_only_the_leader_gets_the_member_list() {
    let mut h = Harness::new();
    let c0 = h.join("c0");
    let c1 = h.join("c1");
    let decisions = h.run_join_phase();
    let leader = join_response(&decisions, c0.request).unwrap();
    let follower = join_response(&decisions, c1.request).unwrap();
    assert_eq!(leader.leader, "c0-0");
    assert_eq!(follower.leader, "c0-0");
    let listed: Vec<&str> = leader
        .members
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    assert_eq!(listed, ["c0-0", "c1-1"]);
    assert_eq!(
        leader.members[1].metadata,
        protocol("range", &["t"]).metadata
    );
    assert!(follower.members.is_empty());
    assert_eq!(leader.protocol_name.as_deref(), Some("range"));
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn all_members_rejoining_ends_the_join_phase_at_once() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let leader = h.rejoin(&formed.leader);
    assert!(leader.parked());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let follower = h.rejoin(&formed.members[1]);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    let answered = join_response(&follower.decisions, leader.request).unwrap();
    assert_eq!(answered.generation_id, formed.generation + 1);
    assert_eq!(follower.join().generation_id, formed.generation + 1);
}

#[test]
fn unknown_member_id_is_refused_and_creates_no_group() {
    let mut h = Harness::new();
    let lost = h.rejoin("ghost");
    assert_eq!(lost.code(), UNKNOWN_MEMBER_ID);
    assert!(h.coordinator.group(GROUP).is_none());

    h.form_group(&["c0"]);
    assert_eq!(h.rejoin("ghost").code(), UNKNOWN_MEMBER_ID);
}

#[test]
fn session_timeout_outside_the_bounds_is_refused() {
    let mut h = Harness::new();
    for (timeout, expected) in [
        (5_999, INVALID_SESSION_TIMEOUT),
        (1_800_001, INVALID_SESSION_TIMEOUT),
        (-1, INVALID_SESSION_TIMEOUT),
        (6_000, NONE),
        (1_800_000, NONE),
    ] {
        let mut request = h.join_request("", "c");
        request.session_timeout_ms = timeout;
        request.require_known_member_id = true;
        let joined = h.join_with(request);
        let got = joined.code();
        let expected = if expected == NONE {
            MEMBER_ID_REQUIRED
        } else {
            expected
        };
        assert_eq!(got, expected, "session timeout {timeout}");
    }
}

#[test]
fn empty_group_id_is_invalid() {
    let mut h = Harness::new();
    let mut request = h.join_request("", "c");
    request.group_id.clear();
    assert_eq!(h.join_with(request).code(), INVALID_GROUP_ID);
}

#[test]
fn inconsistent_protocols_are_refused() {
    let mut h = Harness::new();
    let mut empty = h.join_request("", "c");
    empty.protocols.clear();
    assert_eq!(h.join_with(empty).code(), INCONSISTENT_GROUP_PROTOCOL);
    assert!(
        h.coordinator.group(GROUP).is_none(),
        "a refused join creates no group"
    );

    h.form_group(&["c0"]);
    let mut other_type = h.join_request("", "c1");
    other_type.protocol_type = "connect".into();
    assert_eq!(h.join_with(other_type).code(), INCONSISTENT_GROUP_PROTOCOL);
    let mut no_common = h.join_request("", "c1");
    no_common.protocols = vec![protocol("roundrobin", &["t"])];
    assert_eq!(h.join_with(no_common).code(), INCONSISTENT_GROUP_PROTOCOL);
    assert_eq!(h.group().members().count(), 1);
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn protocol_is_chosen_by_votes_among_those_every_member_supports() {
    let mut h = Harness::new();
    let votes = [
        vec![
            protocol("sticky", &["t"]),
            protocol("roundrobin", &["t"]),
            protocol("range", &["t"]),
        ],
        vec![protocol("range", &["t"]), protocol("roundrobin", &["t"])],
        vec![protocol("range", &["t"]), protocol("roundrobin", &["t"])],
    ];
    for (i, protocols) in votes.into_iter().enumerate() {
        let mut request = h.join_request("", &format!("c{i}"));
        request.protocols = protocols;
        h.join_with(request);
    }
    h.run_join_phase();
    // sticky is not supported by all; c0 votes roundrobin, c1 and c2 vote range.
    assert_eq!(h.group().protocol_name(), Some("range"));
}

#[test]
fn a_tied_vote_picks_the_smallest_protocol_name() {
    let mut h = Harness::new();
    let mut a = h.join_request("", "a");
    a.protocols = vec![protocol("roundrobin", &["t"]), protocol("range", &["t"])];
    h.join_with(a);
    let mut b = h.join_request("", "b");
    b.protocols = vec![protocol("range", &["t"]), protocol("roundrobin", &["t"])];
    h.join_with(b);
    h.run_join_phase();
    assert_eq!(h.group().protocol_name(), Some("range"));
}

#[test]
fn group_max_size_turns_away_extra_members() {
    let config = GroupCoordinatorConfig {
        group_max_size: 2,
        ..GroupCoordinatorConfig::default()
    };
    let mut h = Harness::with_config(config);
    h.form_group(&["c0", "c1"]);
    let third = h.join("c2");
    assert_eq!(third.code(), GROUP_MAX_SIZE_REACHED);
    assert_eq!(h.group().members().count(), 2);
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn follower_rejoining_unchanged_in_stable_gets_the_current_generation_without_rebalance() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let again = h.rejoin(&formed.members[1]);
    let response = again.join();
    assert_eq!(response.error, None);
    assert_eq!(response.generation_id, formed.generation);
    assert!(response.members.is_empty());
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn member_with_changed_metadata_in_stable_starts_a_rebalance() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let mut changed = h.join_request(&formed.members[1], "c1");
    changed.protocols = vec![protocol("range", &["t", "u"])];
    assert!(h.join_with(changed).parked());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

#[test]
fn leader_rejoining_in_stable_starts_a_rebalance() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    assert!(h.rejoin(&formed.leader).parked());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

#[test]
fn rejoin_in_completing_rebalance_with_same_metadata_repeats_the_generation() {
    let mut h = Harness::new();
    h.join("c0");
    h.join("c1");
    h.run_join_phase();
    let again = h.rejoin("c0-0");
    let response = again.join();
    assert_eq!(response.generation_id, 1);
    assert_eq!(
        response.members.len(),
        2,
        "the leader gets the member list again"
    );
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn new_member_whose_join_stays_parked_too_long_is_dropped() {
    let config = GroupCoordinatorConfig {
        group_new_member_join_timeout_ms: 5_000,
        ..GroupCoordinatorConfig::default()
    };
    let mut h = Harness::with_config(config);
    let formed = h.form_group(&["c0"]);
    // c0 keeps heartbeating but never rejoins, so the join phase waits.
    let newcomer = h.join("c1");
    assert!(newcomer.parked());
    let start = h.now;
    h.now = start + 4_000;
    h.heartbeat(&formed.leader, formed.generation);
    let expired = h.tick_at(start + 5_000);
    let response = join_response(&expired, newcomer.request).expect("its join is answered");
    assert_eq!(code(&response.error), UNKNOWN_MEMBER_ID);
    assert!(h.group().member("c1-1").is_none());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_second_join_from_the_same_member_supersedes_the_parked_one() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let first = h.rejoin(&formed.leader);
    assert!(first.parked());
    let second = h.rejoin(&formed.leader);
    assert!(second.parked());
    let superseded = join_response(&second.decisions, first.request).unwrap();
    assert_eq!(code(&superseded.error), REBALANCE_IN_PROGRESS);
}

#[test]
fn member_ids_come_from_the_client_or_instance_id_and_a_counter() {
    let mut h = Harness::new();
    h.join("alpha");
    let mut static_join = h.join_request("", "beta");
    static_join.group_instance_id = Some("inst".into());
    h.join_with(static_join);
    h.join("alpha");
    let ids: Vec<&str> = h.group().members().map(|m| m.member_id.as_str()).collect();
    assert_eq!(ids, ["alpha-0", "alpha-2", "inst-1"]);
}
