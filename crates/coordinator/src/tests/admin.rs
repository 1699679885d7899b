//! DeleteGroups, DescribeGroups and ListGroups.

use super::harness::*;
use crate::error_code::*;
use crate::{DeleteGroupsRequest, Event, GroupState, Response};

fn delete(h: &mut Harness, groups: &[&str]) -> Vec<i16> {
    let request = DeleteGroupsRequest {
        request: h.request_id(),
        group_ids: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    let id = request.request;
    let decisions = h.apply(Event::DeleteGroups(request));
    match response_to(&decisions, id) {
        Some(Response::DeleteGroups(results)) => results.iter().map(|(_, e)| code(e)).collect(),
        other => panic!("expected a DeleteGroups response, got {other:?}"),
    }
}

#[test]
fn deleting_a_group_with_members_is_refused() {
    let mut h = Harness::new();
    h.form_group(&["c0"]);
    assert_eq!(delete(&mut h, &[GROUP]), [NON_EMPTY_GROUP]);
    assert_eq!(h.state(), GroupState::Stable);
}

#[test]
fn deleting_an_empty_group_removes_it_and_its_offsets() {
    let mut h = Harness::new();
    h.commit("", -1, &[("t", 0, 3)]);
    assert_eq!(
        delete(&mut h, &[GROUP, "missing"]),
        [NONE, GROUP_ID_NOT_FOUND]
    );
    assert!(h.coordinator.group(GROUP).is_none());
    assert!(!h.coordinator.offsets().has_offsets(GROUP));
    assert_eq!(h.coordinator.describe_group(GROUP).state, GroupState::Dead);
}

#[test]
fn deleting_an_empty_group_disarms_its_pending_members_timers() {
    let mut h = Harness::new();
    let mut request = h.join_request("", "c");
    request.require_known_member_id = true;
    h.join_with(request);
    assert!(h.heartbeat_deadline("c-0").is_some());
    assert_eq!(delete(&mut h, &[GROUP]), [NONE]);
    assert_eq!(h.heartbeat_deadline("c-0"), None);
}

#[test]
fn describe_shows_a_stable_group_with_protocol_metadata_and_assignments() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0", "c1"]);
    let described = h.coordinator.describe_group(GROUP);
    assert_eq!(described.state, GroupState::Stable);
    assert_eq!(
        (
            described.protocol_type.as_str(),
            described.protocol_data.as_str()
        ),
        ("consumer", "range")
    );
    let member = &described.members[1];
    assert_eq!(member.member_id, formed.members[1]);
    assert_eq!(member.client_id, "c1");
    assert_eq!(member.metadata, protocol("range", &["t"]).metadata);
    assert_eq!(member.assignment, assignment_of(&formed.members[1]));

    h.rejoin(&formed.leader);
    let rebalancing = h.coordinator.describe_group(GROUP);
    assert_eq!(rebalancing.protocol_data, "");
    assert!(rebalancing.members.iter().all(|m| m.metadata.is_empty()));
}

#[test]
fn list_groups_filters_by_state_name_ignoring_case() {
    let mut h = Harness::new();
    h.form_group(&["c0"]);
    let all = h.coordinator.list_groups(&[]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].protocol_type, "consumer");
    assert_eq!(h.coordinator.list_groups(&["stable"]).len(), 1);
    assert_eq!(h.coordinator.list_groups(&[" STABLE "]).len(), 1);
    assert!(h.coordinator.list_groups(&["Empty"]).is_empty());
    assert!(h.coordinator.list_groups(&["nonsense"]).is_empty());
}

#[test]
fn state_names_are_the_ones_kafka_reports() {
    let names: Vec<&str> = GroupState::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "Empty",
            "PreparingRebalance",
            "CompletingRebalance",
            "Stable",
            "Dead",
            "Assigning",
            "Reconciling"
        ]
    );
    assert_eq!(
        GroupState::parse("completingrebalance"),
        Some(GroupState::CompletingRebalance)
    );
    assert_eq!(GroupState::parse("rebalancing"), None);
}
