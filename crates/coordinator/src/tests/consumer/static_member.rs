//! Static members (`group.instance.id`): leaving for a while with epoch -2,
//! coming back under a new member id without a rebalance, and the errors
//! that protect an instance id.

use super::harness::*;
use crate::error_code::*;
use crate::TimerKey;

/// A settled group of static member `s` (instance `i`) and dynamic `d`.
fn static_group(h: &mut Harness) -> Vec<Client> {
    let mut clients = vec![
        Client::new("s", &[TOPIC]).with_instance("i"),
        Client::new("d", &[TOPIC]),
    ];
    h.settle(&mut clients);
    clients
}

fn static_leave(h: &mut Harness, client: &Client) -> i16 {
    let mut request = h.request(client);
    request.member_epoch = -2;
    let response = h.send(request);
    assert_eq!(response.member_epoch, -2);
    code(&response)
}

#[test]
fn a_static_member_leaving_with_epoch_2_keeps_its_partitions() {
    let mut h = Harness::new();
    let mut clients = static_group(&mut h);
    let kept = clients[0].owned.clone();
    let epoch = h.group().group_epoch();
    assert_eq!(static_leave(&mut h, &clients[0]), NONE);
    assert_eq!(h.group().group_epoch(), epoch, "no rebalance");
    assert_eq!(h.group().member("s").unwrap().member_epoch, -2);
    // The other member does not get them.
    for _ in 0..3 {
        h.poll(&mut clients[1]);
    }
    assert_eq!(clients[1].owned.len(), 3);
    assert!(!clients[1].owned.overlaps(&kept));
}

#[test]
fn the_instance_comes_back_under_a_new_member_id_with_the_same_partitions() {
    let mut h = Harness::new();
    let clients = static_group(&mut h);
    let kept = clients[0].owned.clone();
    let epoch = h.group().group_epoch();
    static_leave(&mut h, &clients[0]);
    let mut back = Client::new("s2", &[TOPIC]).with_instance("i");
    let response = h.poll(&mut back);
    assert_eq!(response.error, None);
    assert_eq!(response.assignment, Some(kept));
    assert_eq!(h.group().group_epoch(), epoch, "no rebalance");
    assert_eq!(h.group().static_member_id("i"), Some("s2"));
    assert!(h.group().member("s").is_none());
    // The old member id is fenced.
    assert_eq!(code(&h.poll_raw(&clients[0])), FENCED_INSTANCE_ID);
    assert_eq!(
        h.coordinator.deadline(&TimerKey::ConsumerSession {
            group_id: GROUP.into(),
            member_id: "s".into()
        }),
        None
    );
}

#[test]
fn an_instance_id_still_held_cannot_be_taken() {
    let mut h = Harness::new();
    let _clients = static_group(&mut h);
    let response = h.poll_raw(&Client::new("s2", &[TOPIC]).with_instance("i"));
    assert_eq!(code(&response), UNRELEASED_INSTANCE_ID);
    assert_eq!(h.group().static_member_id("i"), Some("s"));
}

#[test]
fn a_static_member_whose_session_ends_while_away_is_removed() {
    let mut h = Harness::new();
    let mut clients = static_group(&mut h);
    static_leave(&mut h, &clients[0]);
    let deadline = h
        .coordinator
        .deadline(&TimerKey::ConsumerSession {
            group_id: GROUP.into(),
            member_id: "s".into(),
        })
        .expect("the session runs on while away");
    while h.now + 5_000 < deadline {
        h.now += 5_000;
        h.poll(&mut clients[1]);
    }
    h.tick_at(deadline);
    assert!(h.group().member("s").is_none());
    assert_eq!(h.group().static_member_id("i"), None);
    let mut rest = vec![clients.remove(1)];
    h.settle(&mut rest);
    assert_eq!(rest[0].owned.len(), 6);
}

#[test]
fn a_static_member_leaving_with_epoch_1_is_gone_for_good() {
    let mut h = Harness::new();
    let clients = static_group(&mut h);
    let epoch = h.group().group_epoch();
    assert_eq!(code(&h.leave(&clients[0])), NONE);
    assert!(h.group().member("s").is_none());
    assert_eq!(h.group().static_member_id("i"), None);
    assert_eq!(h.group().group_epoch(), epoch + 1);
}

#[test]
fn only_the_holder_of_an_instance_id_may_heartbeat_or_leave_with_it() {
    let mut h = Harness::new();
    let clients = static_group(&mut h);
    let mut impostor = clients[0].clone();
    impostor.member_id = "x".into();
    assert_eq!(code(&h.poll_raw(&impostor)), FENCED_INSTANCE_ID);
    assert_eq!(code(&h.leave(&impostor)), FENCED_INSTANCE_ID);
    let mut unknown = clients[0].clone();
    unknown.instance_id = Some("nobody".into());
    assert_eq!(code(&h.poll_raw(&unknown)), UNKNOWN_MEMBER_ID);
}
