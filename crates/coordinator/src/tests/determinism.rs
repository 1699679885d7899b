//! The properties a Raft state machine needs: the same entries give the same
//! decisions and state on every replica, across a snapshot, whatever the
//! clocks; every request is answered or parked; the error codes are Kafka's.

use super::harness::*;
use crate::error_code::*;
use crate::{
    CoordinatorError, Decision, Event, GroupCoordinator, GroupCoordinatorConfig, GroupState,
    Millis, RequestId,
};

/// A scripted history: joins, a rebalance, syncs, commits, a leave, expiry.
fn script() -> Vec<(Event, Millis)> {
    let mut h = Harness::new();
    let mut events = Vec::new();
    let mut push = |h: &mut Harness, event: Event, at: Millis| {
        h.now = at;
        h.apply(event.clone());
        events.push((event, at));
    };
    let j0 = h.join_request("", "c0");
    push(&mut h, Event::JoinGroup(j0), 0);
    let j1 = h.join_request("", "c1");
    push(&mut h, Event::JoinGroup(j1), 100);
    push(&mut h, Event::Tick, 3_000);
    push(&mut h, Event::Tick, 6_000);
    let mut s0 = h.sync_request("c0-0", 1);
    s0.assignments = vec![
        ("c0-0".into(), b"a".to_vec()),
        ("c1-1".into(), b"b".to_vec()),
    ];
    let s1 = h.sync_request("c1-1", 1);
    push(&mut h, Event::SyncGroup(s1), 6_100);
    push(&mut h, Event::SyncGroup(s0), 6_200);
    let commit = h.commit_request("c0-0", 1, &[("t", 0, 10)]);
    push(&mut h, Event::OffsetCommit(commit), 7_000);
    let rejoin = h.join_request("c1-1", "c1");
    push(&mut h, Event::JoinGroup(rejoin), 8_000);
    let leave = crate::LeaveGroupRequest {
        request: h.request_id(),
        group_id: GROUP.into(),
        members: vec![leaving("c0-0", None)],
    };
    push(&mut h, Event::LeaveGroup(leave), 9_000);
    push(&mut h, Event::Tick, 60_000);
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
}

#[test]
fn a_replica_restored_from_a_snapshot_continues_identically() {
    let events = script();
    let (first, rest) = events.split_at(5);
    let mut live = GroupCoordinator::new(GroupCoordinatorConfig::default()).unwrap();
    run(&mut live, first);
    let bytes = bincode::serialize(&live).expect("serializes");
    let mut restored: GroupCoordinator = bincode::deserialize(&bytes).expect("deserializes");
    assert_eq!(restored, live);
    assert_eq!(run(&mut live, rest), run(&mut restored, rest));
    assert_eq!(restored, live);
}

#[test]
fn time_never_runs_backwards_inside_the_state() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let deadline = h.heartbeat_deadline(&formed.leader).unwrap();
    h.tick_at(deadline);
    assert_eq!(h.state(), GroupState::Empty);
    // A new leader whose clock is behind proposes an older timestamp.
    h.now = deadline - 5_000;
    let beat = h.heartbeat(&formed.leader, formed.generation);
    assert_eq!(beat.code(), UNKNOWN_MEMBER_ID);
    assert_eq!(h.coordinator.now(), deadline);
}

#[test]
fn every_request_is_answered_or_parked_exactly_once_when_applied() {
    let events = script();
    let mut coordinator = GroupCoordinator::new(GroupCoordinatorConfig::default()).unwrap();
    for (event, at) in &events {
        let request: Option<RequestId> = match event {
            Event::JoinGroup(r) => Some(r.request),
            Event::SyncGroup(r) => Some(r.request),
            Event::Heartbeat(r) => Some(r.request),
            Event::LeaveGroup(r) => Some(r.request),
            Event::OffsetCommit(r) => Some(r.request),
            Event::OffsetDelete(r) => Some(r.request),
            Event::DeleteGroups(r) => Some(r.request),
            Event::ConsumerGroupHeartbeat(r) => Some(r.request),
            Event::TxnOffsetCommit(r) => Some(r.commit.request),
            Event::Tick
            | Event::Configure(_)
            | Event::ConfigureConsumerGroups(_)
            | Event::TxnMarker(_)
            | Event::Txn(_) => None,
        };
        let decisions = coordinator.apply(event.clone(), *at);
        if let Some(request) = request {
            let mentions = decisions
                .iter()
                .filter(|d| match d {
                    Decision::Respond { request: r, .. } | Decision::Park { request: r } => {
                        *r == request
                    }
                    _ => false,
                })
                .count();
            assert_eq!(mentions, 1, "{event:?} -> {decisions:#?}");
        }
    }
}

#[test]
fn error_codes_are_kafkas() {
    let group_id = || "g".to_owned();
    let cases = [
        (
            CoordinatorError::UnknownMemberId {
                group_id: group_id(),
                member_id: "m".into(),
            },
            25,
        ),
        (
            CoordinatorError::IllegalGeneration {
                group_id: group_id(),
                member_id: "m".into(),
                requested: 1,
                current: 2,
            },
            22,
        ),
        (
            CoordinatorError::RebalanceInProgress {
                group_id: group_id(),
            },
            27,
        ),
        (
            CoordinatorError::MemberIdRequired {
                group_id: group_id(),
                member_id: "m".into(),
            },
            79,
        ),
        (
            CoordinatorError::FencedInstanceId {
                group_id: group_id(),
                group_instance_id: "i".into(),
                member_id: "m".into(),
                owner: "n".into(),
            },
            82,
        ),
        (
            CoordinatorError::InconsistentGroupProtocol {
                group_id: group_id(),
                reason: String::new(),
            },
            23,
        ),
        (
            CoordinatorError::InvalidGroupId {
                group_id: String::new(),
            },
            24,
        ),
        (
            CoordinatorError::InvalidSessionTimeout {
                session_timeout_ms: 1,
                min_ms: 6_000,
                max_ms: 1_800_000,
            },
            26,
        ),
        (
            CoordinatorError::GroupMaxSizeReached {
                group_id: group_id(),
                max_size: 1,
            },
            81,
        ),
        (
            CoordinatorError::GroupIdNotFound {
                group_id: group_id(),
            },
            69,
        ),
        (
            CoordinatorError::NonEmptyGroup {
                group_id: group_id(),
                state: GroupState::Stable,
            },
            68,
        ),
        (
            CoordinatorError::OffsetMetadataTooLarge {
                group_id: group_id(),
                topic: "t".into(),
                partition: 0,
                size: 2,
                max: 1,
            },
            12,
        ),
        (
            CoordinatorError::GroupSubscribedToTopic {
                group_id: group_id(),
                topic: "t".into(),
            },
            86,
        ),
        (
            CoordinatorError::CoordinatorNotAvailable {
                reason: String::new(),
            },
            15,
        ),
        (
            CoordinatorError::UnknownServerError {
                reason: String::new(),
            },
            -1,
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(error.code(), expected, "{error}");
    }
    assert_eq!(NONE, 0);
}

#[test]
fn config_validation_names_the_setting() {
    let bad = GroupCoordinatorConfig {
        group_min_session_timeout_ms: 10_000,
        group_max_session_timeout_ms: 9_000,
        ..GroupCoordinatorConfig::default()
    };
    let error = GroupCoordinator::new(bad).unwrap_err();
    assert!(
        error.to_string().contains("group.max.session.timeout.ms"),
        "{error}"
    );
    let defaults = GroupCoordinatorConfig::default();
    assert_eq!(
        (
            defaults.group_min_session_timeout_ms,
            defaults.group_max_session_timeout_ms,
            defaults.group_initial_rebalance_delay_ms,
            defaults.offset_metadata_max_bytes,
            defaults.offsets_retention_minutes
        ),
        (6_000, 1_800_000, 3_000, 4_096, 10_080)
    );
}
