//! What consumer groups share with classic groups: group ids (a group speaks
//! one protocol; empty groups convert), committed offsets (checked against
//! member epochs), DescribeGroups, ListGroups, DeleteGroups, OffsetDelete
//! and offset retention.

use super::harness::*;
use crate::error_code::*;
use crate::subscription::{encode_subscription, subscribed_topics};
use crate::{
    DeleteGroupsRequest, Event, GroupState, GroupType, JoinGroupRequest, OffsetCommitRequest,
    OffsetDeleteRequest, PartitionCommit, Protocol, Response,
};

fn commit(h: &mut Harness, member_id: &str, epoch: i32, offset: i64) -> i16 {
    let request = OffsetCommitRequest {
        request: h.request_id(),
        group_id: GROUP.into(),
        generation_id: epoch,
        member_id: member_id.into(),
        group_instance_id: None,
        topics: vec![(
            TOPIC.into(),
            vec![PartitionCommit {
                partition: 0,
                offset,
                leader_epoch: None,
                metadata: None,
            }],
        )],
        group_id_not_found_supported: true,
    };
    let id = request.request;
    let decisions = h.apply(Event::OffsetCommit(request));
    match super::super::harness::response_to(&decisions, id) {
        Some(Response::OffsetCommit(topics)) => crate::error::code_of(topics[0].1[0].1.as_ref()),
        other => panic!("{other:?}"),
    }
}

fn classic_join(h: &mut Harness, member_id: &str) -> i16 {
    let request = JoinGroupRequest {
        request: h.request_id(),
        group_id: GROUP.into(),
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "classic".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: vec![Protocol {
            name: "range".into(),
            metadata: encode_subscription(&[TOPIC]),
        }],
        require_known_member_id: false,
        supports_skip_assignment: false,
    };
    let id = request.request;
    let decisions = h.apply(Event::JoinGroup(request));
    match super::super::harness::response_to(&decisions, id) {
        Some(response) => response.error_code(),
        None => NONE, // parked: it joined
    }
}

#[test]
fn members_commit_at_their_current_epoch_only() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let epoch = clients[0].epoch;
    assert_eq!(commit(&mut h, "a", epoch, 10), NONE);
    assert_eq!(
        h.coordinator.offsets().get(GROUP, TOPIC, 0).unwrap().offset,
        10
    );
    assert_eq!(commit(&mut h, "a", epoch - 1, 11), STALE_MEMBER_EPOCH);
    assert_eq!(commit(&mut h, "a", epoch + 1, 11), STALE_MEMBER_EPOCH);
    assert_eq!(commit(&mut h, "ghost", epoch, 11), UNKNOWN_MEMBER_ID);
    assert_eq!(
        commit(&mut h, "", -1, 11),
        UNKNOWN_MEMBER_ID,
        "not while it has members"
    );
    assert_eq!(
        h.coordinator.offsets().get(GROUP, TOPIC, 0).unwrap().offset,
        10
    );

    for client in &clients {
        h.leave(client);
    }
    assert_eq!(commit(&mut h, "", -1, 12), NONE, "an empty group takes it");
}

#[test]
fn offset_fetches_of_members_are_checked_like_commits() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    let c = &h.coordinator;
    assert!(c
        .check_offset_fetch_member(GROUP, Some("a"), a.epoch)
        .is_ok());
    assert!(c.check_offset_fetch_member(GROUP, None, -1).is_ok());
    let stale = c.check_offset_fetch_member(GROUP, Some("a"), a.epoch + 1);
    assert_eq!(stale.unwrap_err().code(), STALE_MEMBER_EPOCH);
    let unknown = c.check_offset_fetch_member(GROUP, Some("x"), 1);
    assert_eq!(unknown.unwrap_err().code(), UNKNOWN_MEMBER_ID);
}

#[test]
fn a_consumer_member_converts_an_empty_classic_group_and_keeps_its_offsets() {
    let mut h = Harness::new();
    // A standalone commit makes an empty classic group.
    assert_eq!(commit(&mut h, "", -1, 42), NONE);
    assert!(h.coordinator.group(GROUP).is_some());
    let mut a = Client::new("a", &[TOPIC]);
    assert_eq!(h.poll(&mut a).error, None);
    assert!(h.coordinator.group(GROUP).is_none());
    assert_eq!(
        h.coordinator.offsets().get(GROUP, TOPIC, 0).unwrap().offset,
        42
    );
}

#[test]
fn a_consumer_member_cannot_join_a_classic_group_with_members() {
    let mut h = Harness::new();
    assert_eq!(classic_join(&mut h, ""), NONE);
    let response = h.poll_raw(&Client::new("a", &[TOPIC]));
    assert_eq!(code(&response), GROUP_ID_NOT_FOUND);
    assert!(response.error.unwrap().to_string().contains("classic"));
    let mut beat = Client::new("a", &[TOPIC]);
    beat.epoch = 2;
    assert_eq!(code(&h.poll_raw(&beat)), GROUP_ID_NOT_FOUND);
}

#[test]
fn a_classic_member_cannot_join_a_consumer_group_with_members() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    assert_eq!(classic_join(&mut h, ""), INCONSISTENT_GROUP_PROTOCOL);
    let beat = crate::HeartbeatRequest {
        request: h.request_id(),
        group_id: GROUP.into(),
        generation_id: 1,
        member_id: "a".into(),
        group_instance_id: None,
    };
    let id = beat.request;
    let decisions = h.apply(Event::Heartbeat(beat));
    assert_eq!(
        super::super::harness::response_to(&decisions, id)
            .unwrap()
            .error_code(),
        UNKNOWN_MEMBER_ID
    );
    // Once empty, the group converts back to classic.
    h.leave(&a);
    assert_eq!(classic_join(&mut h, ""), NONE);
    assert!(h.coordinator.consumer_group(GROUP).is_none());
    assert_eq!(
        h.coordinator.group(GROUP).unwrap().state(),
        GroupState::PreparingRebalance
    );
}

#[test]
fn describe_groups_shows_a_consumer_group_in_classic_terms() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let description = h.coordinator.describe_group(GROUP);
    assert_eq!(description.state, GroupState::Stable);
    assert_eq!(description.protocol_type, "consumer");
    assert_eq!(description.protocol_data, "uniform");
    assert_eq!(description.members.len(), 2);
    let a = &description.members[0];
    assert_eq!(a.member_id, "a");
    assert_eq!(
        subscribed_topics(&a.metadata)
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [TOPIC]
    );
    let partitions: Vec<String> = clients[0]
        .owned
        .iter()
        .map(|(_, p)| p.to_string())
        .collect();
    let expected = crate::subscription::encode_assignment(&[(
        TOPIC.to_owned(),
        clients[0].owned.iter().map(|(_, p)| p).collect(),
    )]);
    assert_eq!(a.assignment, expected, "{partitions:?}");
}

#[test]
fn consumer_group_describe_reports_epochs_and_both_assignments() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC])];
    h.settle(&mut clients);
    let mut b = Client::new("b", &[TOPIC]);
    h.poll(&mut b);
    let description = h.coordinator.describe_consumer_group(GROUP).unwrap();
    assert_eq!(description.state, GroupState::Reconciling);
    assert_eq!(description.group_epoch, 2);
    assert_eq!(description.assignment_epoch, 2);
    assert_eq!(description.topic_names[&TOPIC_ID], TOPIC);
    let b = description
        .members
        .iter()
        .find(|m| m.member_id == "b")
        .unwrap();
    assert!(b.assignment.is_empty());
    assert_eq!(b.target_assignment.len(), 3);
    assert_eq!(b.subscribed_topic_names, [TOPIC]);
    assert_eq!(b.client_id, "client");

    assert_eq!(
        h.coordinator
            .describe_consumer_group("nope")
            .unwrap_err()
            .code(),
        GROUP_ID_NOT_FOUND
    );
}

#[test]
fn list_groups_names_both_kinds() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    let mut other = h.request(&Client::new("x", &[TOPIC]));
    other.group_id = "another".into();
    h.send(other);
    let listed = h.coordinator.list_groups(&[]);
    let names: Vec<(&str, GroupType, &str)> = listed
        .iter()
        .map(|g| (g.group_id.as_str(), g.group_type, g.state.name()))
        .collect();
    assert_eq!(
        names,
        [
            ("another", GroupType::Consumer, "Stable"),
            (GROUP, GroupType::Consumer, "Stable")
        ]
    );
    assert!(listed.iter().all(|g| g.protocol_type == "consumer"));
    assert!(h.coordinator.list_groups(&["empty"]).is_empty());
    assert_eq!(GroupType::Consumer.name(), "consumer");
}

#[test]
fn only_an_empty_consumer_group_can_be_deleted_and_its_offsets_go_with_it() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    commit(&mut h, "a", a.epoch, 5);
    let delete = |h: &mut Harness| {
        let request = DeleteGroupsRequest {
            request: h.request_id(),
            group_ids: vec![GROUP.into()],
        };
        let id = request.request;
        let decisions = h.apply(Event::DeleteGroups(request));
        match super::super::harness::response_to(&decisions, id) {
            Some(Response::DeleteGroups(results)) => crate::error::code_of(results[0].1.as_ref()),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(delete(&mut h), NON_EMPTY_GROUP);
    h.leave(&a);
    assert_eq!(delete(&mut h), NONE);
    assert!(h.coordinator.consumer_group(GROUP).is_none());
    assert!(!h.coordinator.offsets().has_offsets(GROUP));
}

#[test]
fn offsets_of_topics_the_group_reads_cannot_be_deleted() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    commit(&mut h, "a", a.epoch, 5);
    let request = OffsetDeleteRequest {
        request: h.request_id(),
        group_id: GROUP.into(),
        topics: vec![(TOPIC.into(), vec![0])],
    };
    let id = request.request;
    let decisions = h.apply(Event::OffsetDelete(request));
    match super::super::harness::response_to(&decisions, id) {
        Some(Response::OffsetDelete(r)) => {
            assert_eq!(r.error, None);
            assert_eq!(
                crate::error::code_of(r.topics[0].1[0].1.as_ref()),
                GROUP_SUBSCRIBED_TO_TOPIC
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_consumer_groups_offsets_expire_and_the_group_with_them() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    commit(&mut h, "a", a.epoch, 5);
    h.leave(&a);
    let retention = h.coordinator.config().offsets_retention_ms();
    let check = h.coordinator.config().offsets_retention_check_interval_ms as u64;
    h.tick_at(h.now + retention + check);
    assert!(!h.coordinator.offsets().has_offsets(GROUP));
    assert!(h.coordinator.consumer_group(GROUP).is_none());
}

#[test]
fn a_member_keeps_the_offsets_of_topics_it_reads() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    commit(&mut h, "a", a.epoch, 5);
    let retention = h.coordinator.config().offsets_retention_ms();
    // The member stays (its heartbeats are not what this checks: the group
    // is non-empty as long as the session lasts, so stretch it).
    let config = crate::ConsumerGroupConfig {
        session_timeout_ms: u32::MAX,
        ..crate::ConsumerGroupConfig::default()
    };
    h.apply(Event::ConfigureConsumerGroups(config));
    h.poll(&mut a);
    h.tick_at(h.now + 2 * retention);
    assert_eq!(
        h.coordinator.offsets().get(GROUP, TOPIC, 0).unwrap().offset,
        5
    );
}
