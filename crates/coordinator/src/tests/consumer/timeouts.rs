//! The session timeout (`group.consumer.session.timeout.ms`) and the
//! revocation (rebalance) timeout remove members; heartbeats keep them.

use super::harness::*;
use crate::error_code::*;
use crate::{GroupState, TimerKey};

const SESSION_MS: u64 = 45_000;

fn session_key(member_id: &str) -> TimerKey {
    TimerKey::ConsumerSession {
        group_id: GROUP.into(),
        member_id: member_id.into(),
    }
}

#[test]
fn heartbeats_push_the_session_deadline_back() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    for _ in 0..20 {
        h.poll(&mut a);
        assert_eq!(
            h.coordinator.deadline(&session_key("a")),
            Some(h.now + SESSION_MS)
        );
        h.now += 5_000;
    }
    h.tick_at(h.now + SESSION_MS - 5_001);
    assert!(h.group().member("a").is_some());
}

#[test]
fn a_silent_member_is_removed_and_its_partitions_go_to_the_others() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let deadline = h.coordinator.deadline(&session_key("b")).unwrap();
    // a keeps heartbeating; b falls silent.
    while h.now + 5_000 < deadline {
        h.now += 5_000;
        h.poll(&mut clients[0]);
    }
    h.tick_at(deadline - 1);
    assert!(h.group().member("b").is_some());
    h.tick_at(deadline);
    assert!(h.group().member("b").is_none());
    assert_eq!(h.group().state(), GroupState::Assigning);
    let mut a = vec![clients[0].clone()];
    h.settle(&mut a);
    assert_eq!(a[0].owned.len(), 6);
    // b comes back too late: it must rejoin.
    assert_eq!(code(&h.poll_raw(&clients[1])), UNKNOWN_MEMBER_ID);
    let mut b = clients[1].clone();
    b.epoch = 0;
    b.owned = parts(&[]);
    h.poll(&mut b);
    a.push(b);
    h.settle(&mut a);
    assert_eq!(a[1].owned.len(), 3);
}

#[test]
fn timers_fire_at_their_own_deadline_however_late_the_tick() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    // One tick long after both sessions ended removes both, in order.
    h.tick_at(h.now + 10 * SESSION_MS);
    assert_eq!(h.group().state(), GroupState::Empty);
    assert_eq!(h.group().members().count(), 0);
}

#[test]
fn a_member_that_does_not_revoke_in_time_is_removed() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC])];
    h.settle(&mut clients);
    let mut b = Client::new("b", &[TOPIC]);
    h.poll(&mut b);
    // a is asked to revoke, and then never acknowledges (it still heartbeats
    // claiming the partitions it was asked to give up).
    let stubborn = clients[0].clone();
    h.poll(&mut clients[0]);
    let revocation = TimerKey::ConsumerRevocation {
        group_id: GROUP.into(),
        member_id: "a".into(),
    };
    let deadline = h
        .coordinator
        .deadline(&revocation)
        .expect("revocation armed");
    assert_eq!(deadline, h.now + REBALANCE_MS as u64);
    while h.now + 5_000 < deadline {
        h.now += 5_000;
        assert_eq!(code(&h.poll_raw(&stubborn)), NONE);
        h.poll(&mut b);
    }
    assert!(b.owned.is_empty(), "a never released anything");
    h.tick_at(deadline);
    assert!(h.group().member("a").is_none());
    let mut rest = vec![b];
    h.settle(&mut rest);
    assert_eq!(rest[0].owned.len(), 6);
}

#[test]
fn acknowledging_the_revocation_disarms_its_timer() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC])];
    h.settle(&mut clients);
    clients.push(Client::new("b", &[TOPIC]));
    h.settle(&mut clients);
    let revocation = TimerKey::ConsumerRevocation {
        group_id: GROUP.into(),
        member_id: "a".into(),
    };
    assert_eq!(h.coordinator.deadline(&revocation), None);
}
