//! `Event::Configure`: the leader's settings become the shard's, through the
//! log, so every replica decides with the same ones.

use super::harness::*;
use crate::error_code::*;
use crate::{Event, GroupCoordinatorConfig};

fn stricter() -> GroupCoordinatorConfig {
    GroupCoordinatorConfig {
        group_min_session_timeout_ms: 20_000,
        group_initial_rebalance_delay_ms: 0,
        ..GroupCoordinatorConfig::default()
    }
}

#[test]
fn a_configure_entry_changes_the_decisions_after_it() {
    let mut h = Harness::new();
    let mut request = h.join_request("", "c");
    request.session_timeout_ms = 10_000;
    request.require_known_member_id = true;
    let before = h.join_with(request.clone());
    assert_eq!(
        before.code(),
        MEMBER_ID_REQUIRED,
        "10 s is within the defaults"
    );

    let decisions = h.apply(Event::Configure(stricter()));
    assert!(decisions.is_empty(), "{decisions:#?}");
    assert_eq!(h.coordinator.config(), &stricter());

    request.request = h.request_id();
    assert_eq!(h.join_with(request).code(), INVALID_SESSION_TIMEOUT);
}

#[test]
fn invalid_settings_are_ignored() {
    let mut h = Harness::new();
    let invalid = GroupCoordinatorConfig {
        group_min_session_timeout_ms: 60_000,
        group_max_session_timeout_ms: 1_000,
        ..GroupCoordinatorConfig::default()
    };
    h.apply(Event::Configure(invalid));
    assert_eq!(h.coordinator.config(), &GroupCoordinatorConfig::default());
}

#[test]
fn replicas_applying_the_same_entries_hold_the_same_settings_and_groups() {
    let smaller = GroupCoordinatorConfig {
        group_max_size: 2,
        offsets_retention_minutes: 60,
        ..GroupCoordinatorConfig::default()
    };
    let mut a = Harness::new();
    let mut b = Harness::new();
    for h in [&mut a, &mut b] {
        h.apply(Event::Configure(smaller.clone()));
        h.form_group(&["c0", "c1"]);
        let mut third = h.join_request("", "c2");
        third.require_known_member_id = false;
        assert_eq!(h.join_with(third).code(), GROUP_MAX_SIZE_REACHED);
    }
    assert_eq!(a.coordinator, b.coordinator);
    assert_eq!(a.coordinator.config(), &smaller);
}
