//! The `uniform` and `range` assignors on their own, and a group choosing
//! between them.

use std::collections::{BTreeMap, BTreeSet};

use super::harness::*;
use crate::consumer::assignor::{range, uniform, AssignmentSpec, MemberSpec};
use crate::consumer::{Assignment, TopicInfo};

fn members(subscriptions: &[(&str, &[&str])]) -> BTreeMap<String, MemberSpec> {
    subscriptions
        .iter()
        .map(|(id, topics)| {
            let spec = MemberSpec {
                topics: topics.iter().map(|t| (*t).to_owned()).collect(),
                instance_id: None,
            };
            ((*id).to_owned(), spec)
        })
        .collect()
}

fn topics(list: &[(&str, u128, u32)]) -> BTreeMap<String, TopicInfo> {
    list.iter()
        .map(|(name, id, partitions)| {
            let info = TopicInfo {
                id: *id,
                partitions: *partitions,
            };
            ((*name).to_owned(), info)
        })
        .collect()
}

fn loads(result: &BTreeMap<String, Assignment>) -> Vec<usize> {
    result.values().map(Assignment::len).collect()
}

/// Every partition of `topics` is assigned exactly once.
fn assert_complete(result: &BTreeMap<String, Assignment>, topics: &BTreeMap<String, TopicInfo>) {
    let mut all = Assignment::new();
    for assignment in result.values() {
        assert!(!all.overlaps(assignment), "{result:#?}");
        all = all.union(assignment);
    }
    let expected: usize = topics.values().map(|t| t.partitions as usize).sum();
    assert_eq!(all.len(), expected, "{result:#?}");
}

#[test]
fn uniform_balances_identical_subscriptions_within_one_partition() {
    for (partitions, member_count) in [(6, 2), (6, 4), (7, 3), (1, 3), (30, 7), (3, 5)] {
        let ids: Vec<String> = (0..member_count).map(|i| format!("m{i}")).collect();
        let subscriptions: Vec<(&str, &[&str])> =
            ids.iter().map(|id| (id.as_str(), &["t"][..])).collect();
        let members = members(&subscriptions);
        let topics = topics(&[("t", 1, partitions)]);
        let previous = BTreeMap::new();
        let result = uniform(AssignmentSpec {
            members: &members,
            topics: &topics,
            previous: &previous,
        });
        assert_complete(&result, &topics);
        let l = loads(&result);
        assert!(
            l.iter().max().unwrap() - l.iter().min().unwrap() <= 1,
            "{partitions} over {member_count}: {l:?}"
        );
    }
}

#[test]
fn uniform_is_sticky_when_a_member_joins() {
    let topics = topics(&[("t", 1, 12)]);
    let three = members(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
    let first = uniform(AssignmentSpec {
        members: &three,
        topics: &topics,
        previous: &BTreeMap::new(),
    });
    let four = members(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"]), ("d", &["t"])]);
    let second = uniform(AssignmentSpec {
        members: &four,
        topics: &topics,
        previous: &first,
    });
    assert_complete(&second, &topics);
    assert_eq!(loads(&second), [3, 3, 3, 3]);
    for member in ["a", "b", "c"] {
        assert!(
            second[member].is_subset(&first[member]),
            "{member} only gives partitions up"
        );
    }
}

#[test]
fn uniform_gives_members_only_topics_they_read() {
    let topics = topics(&[("t", 1, 4), ("u", 2, 4)]);
    let members = members(&[("a", &["t"]), ("b", &["t", "u"]), ("c", &["u"])]);
    let result = uniform(AssignmentSpec {
        members: &members,
        topics: &topics,
        previous: &BTreeMap::new(),
    });
    assert_complete(&result, &topics);
    assert!(result["a"].topics().keys().all(|t| *t == 1));
    assert!(result["c"].topics().keys().all(|t| *t == 2));
    let l = loads(&result);
    assert!(
        l.iter().max().unwrap() - l.iter().min().unwrap() <= 1,
        "{l:?}"
    );
}

#[test]
fn uniform_drops_previous_partitions_a_member_may_no_longer_read() {
    let topics = topics(&[("t", 1, 2)]);
    let members = members(&[("a", &["u"]), ("b", &["t"])]);
    let previous = BTreeMap::from([("a".to_owned(), Assignment::from_pairs([(1, vec![0, 1])]))]);
    let result = uniform(AssignmentSpec {
        members: &members,
        topics: &topics,
        previous: &previous,
    });
    assert!(result["a"].is_empty());
    assert_eq!(result["b"], Assignment::from_pairs([(1, vec![0, 1])]));
}

#[test]
fn range_gives_each_topic_in_consecutive_co_partitioned_ranges() {
    let topics = topics(&[("t", 1, 7), ("u", 2, 7)]);
    let members = members(&[("b", &["t", "u"]), ("a", &["t", "u"]), ("c", &["t", "u"])]);
    let result = range(AssignmentSpec {
        members: &members,
        topics: &topics,
        previous: &BTreeMap::new(),
    });
    assert_complete(&result, &topics);
    assert_eq!(
        result["a"],
        Assignment::from_pairs([(1, vec![0, 1, 2]), (2, vec![0, 1, 2])])
    );
    assert_eq!(
        result["b"],
        Assignment::from_pairs([(1, vec![3, 4]), (2, vec![3, 4])])
    );
    assert_eq!(
        result["c"],
        Assignment::from_pairs([(1, vec![5, 6]), (2, vec![5, 6])])
    );
}

#[test]
fn range_orders_static_members_by_instance_id() {
    let topics = topics(&[("t", 1, 2)]);
    let mut members = members(&[("a", &["t"]), ("b", &["t"])]);
    members.get_mut("a").unwrap().instance_id = Some("z".into());
    members.get_mut("b").unwrap().instance_id = Some("y".into());
    let result = range(AssignmentSpec {
        members: &members,
        topics: &topics,
        previous: &BTreeMap::new(),
    });
    assert_eq!(result["b"], Assignment::from_pairs([(1, vec![0])]));
    assert_eq!(result["a"], Assignment::from_pairs([(1, vec![1])]));
}

#[test]
fn the_same_input_always_gives_the_same_assignment() {
    let topics = topics(&[("t", 1, 9), ("u", 2, 5)]);
    let members = members(&[("a", &["t", "u"]), ("b", &["t"]), ("c", &["u", "t"])]);
    let spec = AssignmentSpec {
        members: &members,
        topics: &topics,
        previous: &BTreeMap::new(),
    };
    assert_eq!(uniform(spec), uniform(spec));
    assert_eq!(range(spec), range(spec));
}

#[test]
fn a_group_uses_the_assignor_most_members_ask_for() {
    let mut h = Harness::new();
    let mut clients = vec![
        Client::new("a", &[TOPIC]).with_assignor("range"),
        Client::new("b", &[TOPIC]).with_assignor("range"),
        Client::new("c", &[TOPIC]),
    ];
    h.settle(&mut clients);
    assert_eq!(h.group().preferred_assignor("uniform"), "range");
    let description = h.coordinator.describe_consumer_group(GROUP).unwrap();
    assert_eq!(description.assignor_name, "range");
    // Range over a, b, c: consecutive pairs.
    assert_eq!(clients[0].owned, parts(&[0, 1]));
    assert_eq!(clients[1].owned, parts(&[2, 3]));
    assert_eq!(clients[2].owned, parts(&[4, 5]));
    let subscribed: BTreeSet<String> = h.group().subscribed_topic_names();
    assert_eq!(subscribed.into_iter().collect::<Vec<_>>(), [TOPIC]);
}
