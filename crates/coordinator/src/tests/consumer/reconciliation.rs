//! Incremental reassignment across the group: members come and go, topics
//! grow and subscriptions change, and at every step no partition is owned
//! by two members (the harness checks it after every event, and the tests
//! check what the clients themselves hold).

use super::harness::*;
use crate::consumer::TopicInfo;
use crate::{Event, GroupState, MemberState};

#[test]
fn a_third_member_takes_partitions_only_from_the_others_and_nothing_else_moves() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let before: Vec<_> = clients.iter().map(|c| c.owned.clone()).collect();
    assert_eq!(before.iter().map(|o| o.len()).collect::<Vec<_>>(), [3, 3]);

    clients.push(Client::new("c", &[TOPIC]));
    h.settle(&mut clients);
    for (client, old) in clients.iter().zip(&before) {
        assert_eq!(client.owned.len(), 2, "{}", client.member_id);
        assert!(
            client.owned.is_subset(old),
            "{} only gave up",
            client.member_id
        );
    }
    assert_eq!(clients[2].owned.len(), 2);
}

#[test]
fn a_member_that_is_slow_to_revoke_holds_back_only_its_partitions() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let mut c = Client::new("c", &[TOPIC]);
    h.poll(&mut c);
    // b revokes at once; a does not heartbeat.
    h.poll(&mut clients[1]);
    h.poll(&mut clients[1]);
    let got = h.poll(&mut c).assignment.unwrap();
    assert_eq!(got.len(), 1, "only b's partition is free");
    assert_eq!(
        h.group().member("c").unwrap().state,
        MemberState::UnreleasedPartitions
    );
    assert_clients_disjoint(&[clients[0].clone(), clients[1].clone(), c.clone()]);
    h.poll(&mut clients[0]);
    h.poll(&mut clients[0]);
    assert_eq!(h.poll(&mut c).assignment.unwrap().len(), 2);
    assert_eq!(h.group().state(), GroupState::Stable);
}

#[test]
fn members_joining_and_leaving_in_any_order_never_share_a_partition() {
    let mut h = Harness::new();
    h.cluster.insert(
        "u".into(),
        TopicInfo {
            id: 0xB2,
            partitions: 5,
        },
    );
    let mut clients: Vec<Client> = Vec::new();
    // A scripted churn: joins, interleaved polls, leaves, and rejoins.
    for round in 0..12 {
        if round < 5 {
            clients.push(Client::new(&format!("m{round}"), &[TOPIC, "u"]));
        }
        if round == 7 || round == 9 {
            let leaving = clients.remove(1);
            h.leave(&leaving);
        }
        if round == 10 {
            clients.push(Client::new("late", &[TOPIC, "u"]));
        }
        // Uneven polling: earlier members poll more often.
        for i in 0..clients.len() {
            for _ in 0..=(i % 2) {
                h.poll(&mut clients[i]);
                assert_clients_disjoint(&clients);
            }
        }
    }
    h.settle(&mut clients);
    let loads: Vec<usize> = clients.iter().map(|c| c.owned.len()).collect();
    assert_eq!(loads.iter().sum::<usize>(), 11, "every partition assigned");
    let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
    assert!(max - min <= 1, "balanced: {loads:?}");
}

#[test]
fn a_subscription_change_moves_the_group_to_a_new_epoch() {
    let mut h = Harness::new();
    h.cluster.insert(
        "u".into(),
        TopicInfo {
            id: 0xB2,
            partitions: 2,
        },
    );
    let mut clients = vec![Client::new("a", &[TOPIC]), Client::new("b", &[TOPIC])];
    h.settle(&mut clients);
    let epoch = h.group().group_epoch();
    clients[1].topics = vec!["u".into()];
    h.poll(&mut clients[1]);
    assert_eq!(h.group().group_epoch(), epoch + 1);
    h.settle(&mut clients);
    assert_eq!(clients[0].owned, parts(&[0, 1, 2, 3, 4, 5]));
    assert_eq!(
        clients[1].owned,
        crate::consumer::Assignment::from_pairs([(0xB2, vec![0, 1])])
    );
    assert!(h.group().is_subscribed_to_topic("u"));
}

#[test]
fn new_partitions_and_new_topics_reach_the_group_through_later_heartbeats() {
    let mut h = Harness::new();
    let mut clients = vec![Client::new("a", &[TOPIC, "later"])];
    h.settle(&mut clients);
    assert_eq!(clients[0].owned.len(), 6, "\"later\" does not exist yet");
    assert!(!h.group().subscribed_topics().contains_key("later"));

    // The topic grows: the next heartbeat carries the new count.
    h.cluster.get_mut(TOPIC).unwrap().partitions = 8;
    let epoch = h.group().group_epoch();
    h.settle(&mut clients);
    assert_eq!(h.group().group_epoch(), epoch + 1);
    assert_eq!(clients[0].owned.len(), 8);

    // The topic is created.
    h.cluster.insert(
        "later".into(),
        TopicInfo {
            id: 0xC3,
            partitions: 1,
        },
    );
    h.settle(&mut clients);
    assert!(clients[0].owned.contains(0xC3, 0));

    // A deleted topic's partitions are taken back.
    h.cluster.remove("later");
    h.settle(&mut clients);
    assert!(!clients[0].owned.contains(0xC3, 0));
    assert_eq!(clients[0].owned.len(), 8);
}

#[test]
fn an_event_without_a_topics_metadata_keeps_what_the_group_knew() {
    let mut h = Harness::new();
    let mut a = Client::new("a", &[TOPIC]);
    h.poll(&mut a);
    let epoch = h.group().group_epoch();
    // A proposer that resolved nothing (for instance a concurrent
    // subscription it did not see) changes nothing.
    let request = h.request(&a);
    let id = request.request;
    let decisions = h.apply(Event::ConsumerGroupHeartbeat(request));
    let response = heartbeat_response(&decisions, id);
    assert_eq!(response.error, None);
    assert_eq!(h.group().group_epoch(), epoch);
    assert_eq!(h.group().subscribed_topics()[TOPIC].partitions, 6);
}

#[test]
fn regular_expression_matches_come_with_the_event() {
    let mut h = Harness::new();
    let mut request = h.request(&Client::new("a", &[]));
    request.subscribed_topic_names = None;
    request.subscribed_topic_regex = Some("^t.*".into());
    request
        .resolved_regexes
        .insert("^t.*".into(), vec![TOPIC.into()]);
    request.topics.insert(
        TOPIC.into(),
        Some(TopicInfo {
            id: TOPIC_ID,
            partitions: 6,
        }),
    );
    let id = request.request;
    let decisions = h.apply(Event::ConsumerGroupHeartbeat(request));
    let response = heartbeat_response(&decisions, id);
    assert_eq!(response.assignment, Some(parts(&[0, 1, 2, 3, 4, 5])));
    assert!(h.group().is_subscribed_to_topic(TOPIC));
}
