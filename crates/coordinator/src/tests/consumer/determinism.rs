//! Consumer groups as a Raft state machine: replicas applying the same
//! entries decide the same, a snapshot taken mid-way continues identically,
//! and every heartbeat is answered exactly once.

use super::harness::*;
use crate::error_code::*;
use crate::{Decision, Event, GroupCoordinator, GroupCoordinatorConfig, Millis};

/// Joins, reconciliation, a leave, a static leave and expiry, as entries.
fn script() -> Vec<(Event, Millis)> {
    let mut h = Harness::new();
    let mut events = Vec::new();
    let mut clients = [
        Client::new("a", &[TOPIC]),
        Client::new("b", &[TOPIC]).with_instance("i"),
        Client::new("c", &[TOPIC]).with_assignor("range"),
    ];
    for round in 0..6 {
        h.now = 1_000 + round * 1_000;
        for client in clients.iter_mut() {
            let mut request = h.request(client);
            if round == 4 && client.member_id == "b" {
                request.member_epoch = -2;
            }
            if round == 5 && client.member_id == "c" {
                request.member_epoch = -1;
            }
            // Resolve as the harness does, and record the entry.
            for name in request.subscribed_topic_names.clone().unwrap_or_default() {
                request
                    .topics
                    .insert(name.clone(), h.cluster.get(&name).copied());
            }
            events.push((Event::ConsumerGroupHeartbeat(request.clone()), h.now));
            let response = h.send(request);
            if response.error.is_none() && response.member_epoch >= 0 {
                client.absorb(&response);
            }
        }
    }
    events.push((Event::Tick, 200_000));
    events
}

fn run(coordinator: &mut GroupCoordinator, events: &[(Event, Millis)]) -> Vec<Vec<Decision>> {
    events
        .iter()
        .map(|(event, at)| coordinator.apply(event.clone(), *at))
        .collect()
}

#[test]
fn two_replicas_applying_the_same_entries_decide_the_same() {
    let events = script();
    let mut a = GroupCoordinator::new(GroupCoordinatorConfig::default()).unwrap();
    let mut b = GroupCoordinator::new(GroupCoordinatorConfig::default()).unwrap();
    assert_eq!(run(&mut a, &events), run(&mut b, &events));
    assert_eq!(a, b);
    // The script did something: the group formed, and ended empty.
    assert!(a.consumer_group(GROUP).unwrap().group_epoch() > 3);
}

#[test]
fn a_replica_restored_from_a_snapshot_continues_identically() {
    let events = script();
    let (first, rest) = events.split_at(8);
    let mut live = GroupCoordinator::new(GroupCoordinatorConfig::default()).unwrap();
    run(&mut live, first);
    assert!(live.consumer_group(GROUP).is_some());
    let bytes = bincode::serialize(&live).expect("serializes");
    let mut restored: GroupCoordinator = bincode::deserialize(&bytes).expect("deserializes");
    assert_eq!(restored, live);
    assert_eq!(run(&mut live, rest), run(&mut restored, rest));
    assert_eq!(restored, live);
}

#[test]
fn every_heartbeat_is_answered_exactly_once() {
    let events = script();
    let mut coordinator = GroupCoordinator::new(GroupCoordinatorConfig::default()).unwrap();
    for (event, at) in &events {
        let decisions = coordinator.apply(event.clone(), *at);
        if let Event::ConsumerGroupHeartbeat(request) = event {
            let answers = decisions
                .iter()
                .filter(
                    |d| matches!(d, Decision::Respond { request: r, .. } if *r == request.request),
                )
                .count();
            assert_eq!(answers, 1, "{event:?} -> {decisions:#?}");
            assert!(!decisions.iter().any(|d| matches!(d, Decision::Park { .. })));
        }
    }
}

#[test]
fn the_new_error_codes_are_kafkas() {
    use crate::CoordinatorError as E;
    let cases = [
        (
            E::FencedMemberEpoch {
                group_id: "g".into(),
                member_id: "m".into(),
                received: 2,
                current: 1,
            },
            110,
        ),
        (
            E::UnreleasedInstanceId {
                group_id: "g".into(),
                group_instance_id: "i".into(),
                owner: "m".into(),
            },
            111,
        ),
        (
            E::UnsupportedAssignor {
                assignor: "x".into(),
                supported: vec![],
            },
            112,
        ),
        (
            E::StaleMemberEpoch {
                group_id: "g".into(),
                member_id: "m".into(),
                received: 2,
                current: 1,
            },
            113,
        ),
        (
            E::InvalidRequest {
                reason: String::new(),
            },
            42,
        ),
        (
            E::OtherProtocolGroup {
                group_id: "g".into(),
                protocol: "classic".into(),
            },
            GROUP_ID_NOT_FOUND,
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(error.code(), expected, "{error}");
    }
}
