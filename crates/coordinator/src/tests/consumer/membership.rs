//! Joining, heartbeating and leaving a consumer group, and the errors each
//! step answers.

use super::harness::*;
use crate::error_code::*;
use crate::{ConsumerGroupConfig, Event, GroupState, MemberState};

#[test]
fn the_first_member_gets_every_partition_at_group_epoch_1() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    let response = h.poll(&mut a);
    assert_eq!(response.member_id.as_deref(), Some("a"));
    assert_eq!(response.member_epoch, 1);
    assert_eq!(response.heartbeat_interval_ms, 5_000);
    assert_eq!(response.assignment, Some(parts(&[0, 1, 2, 3, 4, 5])));
    assert_eq!(h.group().group_epoch(), 1);
    assert_eq!(h.group().assignment_epoch(), 1);
    assert_eq!(h.group().state(), GroupState::Stable);
}

#[test]
fn a_v0_member_without_an_id_gets_one_made_from_the_state() {
    let mut h = Harness::new();
    let mut request = h.request(&Client::new("", &[TOPIC]));
    request.member_id_required = false;
    let first = h.send(request.clone());
    assert_eq!(first.member_id.as_deref(), Some("client-0"));
    request.request = h.request_id();
    let second = h.send(request);
    assert_eq!(second.member_id.as_deref(), Some("client-1"));
    assert_eq!(h.group().members().count(), 2);
}

#[test]
fn a_v1_member_must_bring_its_own_id() {
    let mut h = Harness::new();
    let request = h.request(&Client::new("", &[TOPIC]));
    assert_eq!(code(&h.send(request)), INVALID_REQUEST);
    assert!(h.coordinator.consumer_group(GROUP).is_none());
}

#[test]
fn a_second_member_gets_partitions_only_after_the_first_gives_them_up() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    let mut b = Client::new("b", &[TOPIC]);
    let joined = h.poll(&mut b);
    assert_eq!(joined.member_epoch, 2, "b reaches the new target epoch");
    assert_eq!(
        joined.assignment,
        Some(parts(&[])),
        "its target is still a's"
    );
    assert_eq!(
        h.group().member("b").unwrap().state,
        MemberState::UnreleasedPartitions
    );
    assert_eq!(h.group().state(), GroupState::Reconciling);

    // a is asked to give up half, keeping epoch 1 until it does.
    let asked = h.poll(&mut a);
    assert_eq!(asked.member_epoch, 1);
    let kept = asked.assignment.clone().unwrap();
    assert_eq!(kept.len(), 3);
    assert_eq!(
        h.group().member("a").unwrap().state,
        MemberState::UnrevokedPartitions
    );
    // b still gets nothing: a has not acknowledged.
    assert_eq!(h.poll(&mut b).assignment, Some(parts(&[])));
    // a acknowledges by reporting what it owns now.
    let acked = h.poll(&mut a);
    assert_eq!(acked.member_epoch, 2);
    let given = h.poll(&mut b).assignment.unwrap();
    assert_eq!(given.len(), 3);
    assert!(!given.overlaps(&kept));
    assert_eq!(h.group().state(), GroupState::Stable);
    assert_clients_disjoint(&[a, b]);
}

#[test]
fn a_light_heartbeat_gets_no_assignment_unless_it_changed() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    let mut light = h.request(&a);
    light.subscribed_topic_names = None;
    light.rebalance_timeout_ms = -1;
    light.owned_partitions = None;
    let response = h.send(light);
    assert_eq!(response.error, None);
    assert_eq!(response.member_epoch, 1);
    assert_eq!(response.assignment, None);
}

#[test]
fn a_member_that_leaves_frees_its_partitions_for_the_others() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let epoch = h.group().group_epoch();
    let left = h.leave(&clients[1]);
    assert_eq!(left.error, None);
    assert_eq!(left.member_epoch, -1);
    assert!(h.group().member("b").is_none());
    assert_eq!(h.group().group_epoch(), epoch + 1);
    assert_eq!(h.group().state(), GroupState::Assigning);
    let mut rest = vec![clients.remove(0)];
    h.settle(&mut rest);
    assert_eq!(rest[0].owned, parts(&[0, 1, 2, 3, 4, 5]));
}

#[test]
fn the_last_member_leaving_empties_the_group() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    h.leave(&a);
    assert_eq!(h.group().state(), GroupState::Empty);
    assert_eq!(h.group().group_epoch(), h.group().assignment_epoch());
}

#[test]
fn a_member_rejoining_with_epoch_0_starts_over_with_its_target() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let target = h.group().target_of("a");
    let mut a = clients[0].clone();
    a.epoch = 0;
    a.owned = parts(&[]);
    let rejoined = h.poll(&mut a);
    assert_eq!(rejoined.assignment, Some(target));
    assert_eq!(rejoined.member_epoch, h.group().assignment_epoch());
}

#[test]
fn epochs_ahead_or_too_far_behind_are_fenced() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    clients.push(Client::new("c", &[TOPIC]));
    h.settle(&mut clients);
    let a = &clients[0];
    let member = h.group().member("a").unwrap().clone();
    assert!(member.member_epoch >= 3);

    let mut ahead = a.clone();
    ahead.epoch += 1;
    assert_eq!(code(&h.poll_raw(&ahead)), FENCED_MEMBER_EPOCH);

    // The previous epoch with only assigned partitions: the response that
    // moved the member on was lost; it is accepted.
    let mut lost = a.clone();
    lost.epoch = member.previous_member_epoch;
    assert_eq!(code(&h.poll_raw(&lost)), NONE);

    // The previous epoch claiming partitions it may not own: fenced.
    let mut claims = lost.clone();
    claims.owned = parts(&[0, 1, 2, 3, 4, 5]);
    assert_eq!(code(&h.poll_raw(&claims)), FENCED_MEMBER_EPOCH);

    let older = (1..member.member_epoch)
        .find(|e| *e != member.previous_member_epoch)
        .expect("an epoch older than the previous one");
    let mut stale = a.clone();
    stale.epoch = older;
    assert_eq!(code(&h.poll_raw(&stale)), FENCED_MEMBER_EPOCH);
}

#[test]
fn unknown_members_and_groups_are_named_as_such() {
    let mut h = Harness::new();
    let mut ghost = Client::new("ghost", &[TOPIC]);
    ghost.epoch = 3;
    assert_eq!(code(&h.poll_raw(&ghost)), GROUP_ID_NOT_FOUND);
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    assert_eq!(code(&h.poll_raw(&ghost)), UNKNOWN_MEMBER_ID);
    assert_eq!(code(&h.leave(&ghost)), UNKNOWN_MEMBER_ID);
    let mut elsewhere = h.request(&ghost);
    elsewhere.group_id = "nowhere".into();
    elsewhere.member_epoch = -1;
    assert_eq!(code(&h.send(elsewhere)), GROUP_ID_NOT_FOUND);
}

#[test]
fn malformed_requests_are_invalid() {
    let mut h = Harness::new();
    let base = h.request(&Client::new("a", &[TOPIC]));
    let mut cases = Vec::new();
    let mut no_group = base.clone();
    no_group.group_id.clear();
    cases.push(("empty group id", no_group));
    let mut no_timeout = base.clone();
    no_timeout.rebalance_timeout_ms = -1;
    cases.push(("join without a rebalance timeout", no_timeout));
    let mut owns = base.clone();
    owns.owned_partitions = Some(vec![(TOPIC_ID, vec![0])]);
    cases.push(("join owning partitions", owns));
    let mut owned_null = base.clone();
    owned_null.owned_partitions = None;
    cases.push(("join without owned partitions", owned_null));
    let mut no_subscription = base.clone();
    no_subscription.subscribed_topic_names = None;
    cases.push(("join without a subscription", no_subscription));
    let mut empty_instance = base.clone();
    empty_instance.instance_id = Some(String::new());
    cases.push(("empty instance id", empty_instance));
    let mut empty_rack = base.clone();
    empty_rack.rack_id = Some(String::new());
    cases.push(("empty rack id", empty_rack));
    let mut static_leave = base.clone();
    static_leave.member_epoch = -2;
    cases.push(("-2 without an instance id", static_leave));
    let mut bad_epoch = base.clone();
    bad_epoch.member_epoch = -3;
    cases.push(("epoch -3", bad_epoch));
    let mut no_member = base.clone();
    no_member.member_id.clear();
    no_member.member_id_required = false;
    no_member.member_epoch = 4;
    cases.push(("heartbeat without a member id", no_member));
    for (what, mut request) in cases {
        request.request = h.request_id();
        assert_eq!(code(&h.send(request)), INVALID_REQUEST, "{what}");
    }
    assert!(h.coordinator.consumer_group(GROUP).is_none());
}

#[test]
fn an_unknown_assignor_is_refused() {
    let mut h = Harness::new();
    let client = Client::new("a", &[TOPIC]).with_assignor("cooperative-sticky");
    let response = h.poll_raw(&client);
    assert_eq!(code(&response), UNSUPPORTED_ASSIGNOR);
    let message = response.error.unwrap().to_string();
    assert!(message.contains("uniform, range"), "{message}");
}

#[test]
fn a_full_group_turns_new_members_away_but_not_its_own() {
    let mut h = Harness::new();
    let config = ConsumerGroupConfig {
        max_size: 1,
        ..ConsumerGroupConfig::default()
    };
    h.apply(Event::ConfigureConsumerGroups(config));
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    assert_eq!(
        code(&h.poll_raw(&Client::new("b", &[TOPIC]))),
        GROUP_MAX_SIZE_REACHED
    );
    assert_eq!(code(&h.poll(&mut a)), NONE);
}

#[test]
fn invalid_consumer_settings_are_ignored() {
    let mut h = Harness::new();
    let invalid = ConsumerGroupConfig {
        heartbeat_interval_ms: 0,
        ..ConsumerGroupConfig::default()
    };
    h.apply(Event::ConfigureConsumerGroups(invalid));
    assert_eq!(
        h.coordinator.consumer_config(),
        &ConsumerGroupConfig::default()
    );
    let faster = ConsumerGroupConfig {
        heartbeat_interval_ms: 1_000,
        ..ConsumerGroupConfig::default()
    };
    h.apply(Event::ConfigureConsumerGroups(faster));
    let mut a = Client::new("a", &[TOPIC]);
    assert_eq!(h.poll(&mut a).heartbeat_interval_ms, 1_000);
}
