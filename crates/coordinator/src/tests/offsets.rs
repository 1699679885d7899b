//! OffsetCommit validation, OffsetDelete rules and offset retention.

use super::harness::*;
use crate::error_code::*;
use crate::{Decision, GroupCoordinatorConfig, GroupState, OffsetDeleteRequest, Record, Response};

fn codes(applied: &Applied) -> Vec<i16> {
    match applied.response() {
        Some(Response::OffsetCommit(topics)) => topics
            .iter()
            .flat_map(|(_, partitions)| partitions.iter().map(|(_, e)| code(e)))
            .collect(),
        other => panic!("expected an OffsetCommit response, got {other:?}"),
    }
}

fn committed(h: &Harness, topic: &str, partition: i32) -> Option<i64> {
    h.coordinator
        .offsets()
        .get(GROUP, topic, partition)
        .map(|o| o.offset)
}

/// One minute of retention, checked every second.
fn short_retention() -> GroupCoordinatorConfig {
    GroupCoordinatorConfig {
        offsets_retention_minutes: 1,
        offsets_retention_check_interval_ms: 1_000,
        ..GroupCoordinatorConfig::default()
    }
}

#[test]
fn a_member_of_a_stable_group_commits_and_the_commit_is_persisted() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let applied = h.commit(&formed.leader, formed.generation, &[("t", 0, 42)]);
    assert_eq!(codes(&applied), [NONE]);
    assert_eq!(committed(&h, "t", 0), Some(42));
    let fetched = h.coordinator.fetch_offsets(GROUP, None);
    assert_eq!(
        fetched[0].1[0]
            .committed
            .as_ref()
            .map(|c| c.commit_timestamp),
        Some(h.now)
    );
    assert!(applied.decisions.iter().any(|d| matches!(
        d,
        Decision::Persist(Record::OffsetCommitted { topic, partition: 0, offset, .. })
            if topic == "t" && offset.offset == 42
    )));
}

#[test]
fn a_commit_from_a_stale_generation_is_refused() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    h.rejoin(&formed.leader);
    h.leader_sync(&formed.leader, formed.generation + 1);
    let stale = h.commit(&formed.leader, formed.generation, &[("t", 0, 42)]);
    assert_eq!(codes(&stale), [ILLEGAL_GENERATION]);
    assert_eq!(committed(&h, "t", 0), None);
}

#[test]
fn a_commit_during_completing_rebalance_is_rebalance_in_progress() {
    let mut h = Harness::new();
    h.join("c0");
    h.run_join_phase();
    assert_eq!(
        codes(&h.commit("c0-0", 1, &[("t", 0, 1)])),
        [REBALANCE_IN_PROGRESS]
    );
}

#[test]
fn a_commit_from_an_unknown_member_is_refused() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    assert_eq!(
        codes(&h.commit("ghost", formed.generation, &[("t", 0, 1)])),
        [UNKNOWN_MEMBER_ID]
    );
}

#[test]
fn a_standalone_commit_with_generation_minus_one_creates_an_empty_group() {
    let mut h = Harness::new();
    let applied = h.commit("", -1, &[("t", 0, 7)]);
    assert_eq!(codes(&applied), [NONE]);
    assert_eq!(committed(&h, "t", 0), Some(7));
    assert_eq!(h.state(), GroupState::Empty);
    assert_eq!(h.group().protocol_type(), None);
    assert_eq!(h.commit("", -1, &[("t", 0, 8)]).code(), NONE);
    assert_eq!(committed(&h, "t", 0), Some(8));
}

#[test]
fn a_standalone_commit_to_a_group_with_members_is_refused() {
    let mut h = Harness::new();
    h.form_group(&["c0"]);
    assert_eq!(
        codes(&h.commit("", -1, &[("t", 0, 7)])),
        [UNKNOWN_MEMBER_ID]
    );
}

#[test]
fn a_commit_with_a_generation_to_an_unknown_group_depends_on_the_version() {
    let mut h = Harness::new();
    assert_eq!(
        codes(&h.commit("m", 3, &[("t", 0, 1)])),
        [GROUP_ID_NOT_FOUND]
    );
    let mut old = h.commit_request("m", 3, &[("t", 0, 1)]);
    old.group_id_not_found_supported = false;
    assert_eq!(codes(&h.commit_with(old)), [ILLEGAL_GENERATION]);
    assert!(h.coordinator.group(GROUP).is_none());
}

#[test]
fn metadata_too_large_fails_only_its_partition() {
    let mut h = Harness::new();
    let mut request = h.commit_request("", -1, &[("t", 0, 1), ("t", 1, 2)]);
    request.topics[0].1[0].metadata = Some("x".repeat(4_097));
    request.topics[0].1[1].metadata = Some("x".repeat(4_096));
    let applied = h.commit_with(request);
    assert_eq!(codes(&applied), [OFFSET_METADATA_TOO_LARGE, NONE]);
    assert_eq!(
        (committed(&h, "t", 0), committed(&h, "t", 1)),
        (None, Some(2))
    );
}

#[test]
fn a_commit_keeps_the_member_session_alive() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let deadline = h.heartbeat_deadline(&formed.leader).unwrap();
    h.now = deadline - 1;
    h.commit(&formed.leader, formed.generation, &[("t", 0, 1)]);
    h.tick_at(deadline);
    assert!(h.group().member(&formed.leader).is_some());
}

#[test]
fn offset_delete_follows_the_group_state_and_subscription() {
    let mut h = Harness::new();
    let delete = |h: &mut Harness, topic: &str| {
        let request = OffsetDeleteRequest {
            request: h.request_id(),
            group_id: GROUP.into(),
            topics: vec![(topic.to_owned(), vec![0])],
        };
        match h
            .apply(crate::Event::OffsetDelete(request.clone()))
            .into_iter()
            .find_map(|d| match d {
                Decision::Respond {
                    request: r,
                    response: Response::OffsetDelete(o),
                } if r == request.request => Some(o),
                _ => None,
            }) {
            Some(response) => match response.error {
                Some(error) => error.code(),
                None => code(&response.topics[0].1[0].1),
            },
            None => panic!("no OffsetDelete response"),
        }
    };
    assert_eq!(delete(&mut h, "t"), GROUP_ID_NOT_FOUND);
    let formed = h.form_group(&["c0"]);
    h.commit(
        &formed.leader,
        formed.generation,
        &[("t", 0, 1), ("u", 0, 1)],
    );
    assert_eq!(delete(&mut h, "t"), GROUP_SUBSCRIBED_TO_TOPIC);
    assert_eq!(delete(&mut h, "u"), NONE);
    assert_eq!(
        (committed(&h, "t", 0), committed(&h, "u", 0)),
        (Some(1), None)
    );
    h.leave(vec![leaving(&formed.leader, None)]);
    assert_eq!(
        delete(&mut h, "t"),
        NONE,
        "an Empty group subscribes to nothing"
    );
    assert_eq!(committed(&h, "t", 0), None);

    let mut other = Harness::new();
    let mut connect = other.join_request("", "w");
    connect.protocol_type = "connect".into();
    other.join_with(connect);
    other.run_join_phase();
    assert_eq!(delete(&mut other, "t"), NON_EMPTY_GROUP);
}

#[test]
fn offsets_of_an_empty_group_expire_a_retention_period_after_it_emptied() {
    let mut h = Harness::with_config(short_retention());
    let formed = h.form_group(&["c0"]);
    h.commit(&formed.leader, formed.generation, &[("t", 0, 5)]);
    h.now += 8_000;
    let left = h.leave(vec![leaving(&formed.leader, None)]);
    assert_eq!(left.code(), NONE);
    assert_eq!(h.state(), GroupState::Empty);
    let emptied = h.now;
    h.tick_at(emptied + 59_999);
    assert_eq!(committed(&h, "t", 0), Some(5));
    let expired = h.tick_at(emptied + 61_000);
    assert_eq!(committed(&h, "t", 0), None);
    assert!(expired
        .iter()
        .any(|d| matches!(d, Decision::Persist(Record::OffsetRemoved { .. }))));
    assert!(expired.contains(&Decision::Persist(Record::GroupDeleted {
        group_id: GROUP.into()
    })));
    assert!(
        h.coordinator.group(GROUP).is_none(),
        "nothing left: the group goes too"
    );
}

#[test]
fn offsets_of_a_group_with_members_do_not_expire() {
    let mut h = Harness::with_config(short_retention());
    let formed = h.form_group(&["c0"]);
    h.commit(&formed.leader, formed.generation, &[("t", 0, 5)]);
    for _ in 0..30 {
        h.now += 5_000;
        h.heartbeat(&formed.leader, formed.generation);
    }
    assert_eq!(committed(&h, "t", 0), Some(5));
}

#[test]
fn a_stable_consumer_group_loses_offsets_of_topics_it_does_not_read() {
    let mut h = Harness::with_config(short_retention());
    let formed = h.form_group(&["c0"]);
    h.commit(
        &formed.leader,
        formed.generation,
        &[("t", 0, 5), ("old", 0, 9)],
    );
    for _ in 0..30 {
        h.now += 5_000;
        h.heartbeat(&formed.leader, formed.generation);
    }
    assert_eq!(
        (committed(&h, "t", 0), committed(&h, "old", 0)),
        (Some(5), None)
    );
}

#[test]
fn standalone_offsets_expire_by_their_commit_time() {
    let mut h = Harness::with_config(short_retention());
    h.commit("", -1, &[("t", 0, 1)]);
    h.now = 30_000;
    h.commit("", -1, &[("t", 1, 1)]);
    h.tick_at(60_000);
    assert_eq!(
        (committed(&h, "t", 0), committed(&h, "t", 1)),
        (None, Some(1))
    );
    h.tick_at(90_000);
    assert_eq!(committed(&h, "t", 1), None);
    assert!(h.coordinator.group(GROUP).is_none());
}
