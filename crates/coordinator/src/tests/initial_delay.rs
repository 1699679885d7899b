//! `group.initial.rebalance.delay.ms`: the first rebalance of an Empty group
//! waits for more members, each new joiner extends the wait, up to the
//! rebalance timeout.

use super::harness::*;
use crate::{Decision, GroupCoordinatorConfig, GroupState, TimerKey};

fn join_with_rebalance_timeout(h: &mut Harness, client: &str, timeout: i32) -> Applied {
    let mut request = h.join_request("", client);
    request.rebalance_timeout_ms = timeout;
    h.join_with(request)
}

#[test]
fn first_rebalance_waits_for_the_initial_delay() {
    let mut h = Harness::new();
    let joined = h.join("c0");
    let armed = Decision::ArmTimer {
        key: TimerKey::Join {
            group_id: GROUP.into(),
        },
        deadline: INITIAL_DELAY_MS,
    };
    assert!(joined.decisions.contains(&armed), "{:#?}", joined.decisions);
    // Alone and rejoined, yet the group waits: only the delay ends this phase.
    let early = h.tick_at(INITIAL_DELAY_MS - 1);
    assert!(join_response(&early, joined.request).is_none());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let due = h.tick_at(INITIAL_DELAY_MS);
    assert_eq!(
        join_response(&due, joined.request).unwrap().generation_id,
        1
    );
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn a_new_joiner_extends_the_initial_delay() {
    let mut h = Harness::new();
    let first = join_with_rebalance_timeout(&mut h, "c0", 9_000);
    h.now = 2_999;
    let second = join_with_rebalance_timeout(&mut h, "c1", 9_000);
    let at_delay = h.tick_at(3_000);
    assert!(join_response(&at_delay, first.request).is_none());
    assert!(join_response(&h.tick_at(5_999), first.request).is_none());
    let extended = h.tick_at(6_000);
    assert!(join_response(&extended, first.request).is_some());
    assert!(join_response(&extended, second.request).is_some());
    assert_eq!(h.group().members().count(), 2);
}

#[test]
fn the_initial_delay_is_capped_by_the_rebalance_timeout() {
    let mut h = Harness::new();
    let joins = [
        join_with_rebalance_timeout(&mut h, "c0", 6_000),
        join_with_rebalance_timeout(&mut h, "c1", 6_000),
    ];
    h.tick_at(3_000);
    h.now = 3_001;
    let late = join_with_rebalance_timeout(&mut h, "c2", 6_000);
    assert!(late.parked());
    assert!(join_response(&h.tick_at(5_999), late.request).is_none());
    // c2 joined during the extension, but no rebalance timeout is left.
    let capped = h.tick_at(6_000);
    for join in joins.iter().chain([&late]) {
        assert_eq!(join_response(&capped, join.request).unwrap().error, None);
    }
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

#[test]
fn a_zero_delay_completes_at_the_next_tick() {
    let config = GroupCoordinatorConfig {
        group_initial_rebalance_delay_ms: 0,
        ..GroupCoordinatorConfig::default()
    };
    let mut h = Harness::with_config(config);
    let joined = h.join("c0");
    assert!(joined.parked());
    let ticked = h.tick_at(0);
    assert_eq!(
        join_response(&ticked, joined.request)
            .unwrap()
            .generation_id,
        1
    );
}

#[test]
fn a_rebalance_of_a_non_empty_group_has_no_initial_delay() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let rejoined = h.rejoin(&formed.leader);
    assert_eq!(rejoined.join().generation_id, formed.generation + 1);
}
