//! The request bounds check (`cairn_kafka::guard`) accepts every request the
//! broker serves, at every supported version, as a real client encodes it:
//! a check with a wrong schema would turn valid clients away.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};

fn name(s: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(s))
}

fn accepted<R: Encodable + Clone>(
    key: ApiKey,
    versions: std::ops::RangeInclusive<i16>,
    request: &R,
) {
    accepted_with(key, versions, |_| request.clone());
}

/// Requests are built per version where some fields exist only in later versions.
fn accepted_with<R: Encodable>(
    key: ApiKey,
    versions: std::ops::RangeInclusive<i16>,
    build: impl Fn(i16) -> R,
) {
    for v in versions {
        let request = build(v);
        let mut buf = BytesMut::new();
        request
            .encode(&mut buf, v)
            .unwrap_or_else(|e| panic!("{key:?} v{v}: {e}"));
        assert_eq!(
            cairn_kafka::guard::check(key, v, &buf),
            Ok(()),
            "{key:?} v{v} rejected"
        );
        // And every strict prefix that cuts into a length is rejected or harmless, never a panic.
        for cut in 0..buf.len() {
            let _ = cairn_kafka::guard::check(key, v, &buf[..cut]);
        }
    }
}

#[test]
fn every_supported_request_passes_the_bounds_check() {
    let batch = Bytes::from(cairn_common::batch::build(&[b"a", b"b"], 1));
    accepted(
        ApiKey::ApiVersions,
        0..=4,
        &ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("cairn-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0")),
    );
    accepted(
        ApiKey::Metadata,
        0..=13,
        &MetadataRequest::default()
            .with_allow_auto_topic_creation(true)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("a"))),
                MetadataRequestTopic::default().with_name(Some(name("bb"))),
            ])),
    );
    accepted_with(ApiKey::Metadata, 8..=13, |v| {
        let request = MetadataRequest::default()
            .with_topics(None)
            .with_include_topic_authorized_operations(true);
        if v <= 10 {
            request.with_include_cluster_authorized_operations(true)
        } else {
            request
        }
    });
    accepted(
        ApiKey::Metadata,
        0..=0,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    let partitions = |n| {
        (0..n)
            .map(|i| {
                PartitionProduceData::default()
                    .with_index(i)
                    .with_records(Some(batch.clone()))
            })
            .collect()
    };
    accepted(
        ApiKey::Produce,
        3..=12,
        &ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(name("a"))
                    .with_partition_data(partitions(2)),
                TopicProduceData::default()
                    .with_name(name("b"))
                    .with_partition_data(partitions(1)),
            ]),
    );
    let fetch_partitions = || {
        (0..2)
            .map(|i| {
                FetchPartition::default()
                    .with_partition(i)
                    .with_fetch_offset(5)
                    .with_partition_max_bytes(1 << 20)
            })
            .collect()
    };
    accepted_with(ApiKey::Fetch, 4..=17, |v| {
        // Topics by name up to v12, by id from v13.
        let topic = |n: &'static str, id: u128| {
            let t = FetchTopic::default().with_partitions(fetch_partitions());
            if v >= 13 {
                t.with_topic_id(uuid::Uuid::from_u128(id))
            } else {
                t.with_topic(name(n))
            }
        };
        let request = FetchRequest::default()
            .with_replica_id(if v >= 15 { -1 } else { 0x0500_0000 }.into())
            .with_max_wait_ms(500)
            .with_max_bytes(1 << 20)
            .with_topics(vec![topic("a", 1), topic("b", u128::MAX)]);
        let request = if v >= 7 {
            let forgotten = ForgottenTopic::default().with_partitions(vec![1, 2]);
            request.with_forgotten_topics_data(vec![if v >= 13 {
                forgotten.with_topic_id(uuid::Uuid::from_u128(3))
            } else {
                forgotten.with_topic(name("c"))
            }])
        } else {
            request
        };
        if v >= 11 {
            request.with_rack_id(StrBytes::from_static_str("rack-1"))
        } else {
            request
        }
    });
    accepted(
        ApiKey::ListOffsets,
        1..=10,
        &ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("a"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-2)])]),
    );
    accepted(
        ApiKey::CreateTopics,
        2..=7,
        &CreateTopicsRequest::default()
            // A timeout whose first byte would read as a tagged field count.
            .with_timeout_ms(0x0500_0000)
            .with_validate_only(true)
            .with_topics(vec![CreatableTopic::default()
                .with_name(name("a"))
                .with_num_partitions(3)
                .with_replication_factor(3)
                .with_assignments(vec![CreatableReplicaAssignment::default()
                    .with_partition_index(0)
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2)])])
                .with_configs(vec![
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_value(Some(StrBytes::from_static_str("1000"))),
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_static_str("x"))
                        .with_value(None),
                ])]),
    );
    accepted(
        ApiKey::DeleteTopics,
        1..=5,
        &DeleteTopicsRequest::default()
            .with_topic_names(vec![name("a"), name("b")])
            // A timeout whose first byte would read as a tagged field count.
            .with_timeout_ms(0x0500_0000),
    );
    accepted(
        ApiKey::DeleteTopics,
        6..=6,
        &DeleteTopicsRequest::default()
            .with_topics(vec![
                DeleteTopicState::default().with_name(Some(name("a"))),
                DeleteTopicState::default().with_topic_id(uuid::Uuid::from_u128(7)),
            ])
            .with_timeout_ms(0x0500_0000),
    );
    accepted(
        ApiKey::DescribeConfigs,
        1..=4,
        &DescribeConfigsRequest::default()
            .with_include_synonyms(true)
            .with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("a"))
                    .with_configuration_keys(Some(vec![StrBytes::from_static_str("retention.ms")])),
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(StrBytes::from_static_str("1"))
                    .with_configuration_keys(None),
            ]),
    );
    accepted(
        ApiKey::CreatePartitions,
        0..=3,
        &CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name("a"))
            .with_count(4)
            .with_assignments(Some(vec![
                CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)])
            ]))]),
    );
    for topics in [
        None,
        Some(vec![
            kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                .with_name(name("a"))
                .with_partition_indexes(vec![0, 1]),
        ]),
    ] {
        accepted(
            ApiKey::ListPartitionReassignments,
            0..=0,
            &ListPartitionReassignmentsRequest::default()
                .with_timeout_ms(0x0500_0000)
                .with_topics(topics),
        );
    }
    accepted(
        ApiKey::AlterPartitionReassignments,
        0..=1,
        &kafka_protocol::messages::AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(0x0500_0000)
            .with_allow_replication_factor_change(true)
            .with_topics(vec![
                kafka_protocol::messages::alter_partition_reassignments_request::ReassignableTopic::default()
                    .with_name(name("a"))
                    .with_partitions(vec![
                        kafka_protocol::messages::alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_partition_index(0x0500_0000)
                            .with_replicas(Some(vec![BrokerId(2), BrokerId(0x0500_0000)])),
                        kafka_protocol::messages::alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_replicas(None),
                    ]),
            ]),
    );
    for topic_partitions in [
        None,
        Some(vec![
            kafka_protocol::messages::elect_leaders_request::TopicPartitions::default()
                .with_topic(name("a"))
                .with_partitions(vec![0, 0x0500_0000]),
        ]),
    ] {
        accepted(
            ApiKey::ElectLeaders,
            0..=2,
            &kafka_protocol::messages::ElectLeadersRequest::default()
                .with_topic_partitions(topic_partitions)
                .with_timeout_ms(0x0500_0000),
        );
    }
    accepted(
        ApiKey::OffsetForLeaderEpoch,
        2..=4,
        &OffsetForLeaderEpochRequest::default().with_topics(vec![
            kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                .with_topic(name("a"))
                .with_partitions(vec![
                    kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(1)
                        .with_current_leader_epoch(0x0500_0000)
                        .with_leader_epoch(3),
                ]),
        ]),
    );
    accepted(
        ApiKey::AlterReplicaLogDirs,
        1..=2,
        &AlterReplicaLogDirsRequest::default().with_dirs(vec![
            kafka_protocol::messages::alter_replica_log_dirs_request::AlterReplicaLogDir::default()
                .with_path(StrBytes::from_static_str("/data"))
                .with_topics(vec![
                    kafka_protocol::messages::alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                        .with_name(name("a"))
                        .with_partitions(vec![0, 1]),
                ]),
        ]),
    );
    accepted(
        ApiKey::DescribeQuorum,
        0..=2,
        &DescribeQuorumRequest::default().with_topics(vec![
            kafka_protocol::messages::describe_quorum_request::TopicData::default()
                .with_topic_name(name("__cluster_metadata"))
                .with_partitions(vec![
                    kafka_protocol::messages::describe_quorum_request::PartitionData::default(),
                ]),
        ]),
    );
    for cursor in [
        None,
        Some(
            kafka_protocol::messages::describe_topic_partitions_request::Cursor::default()
                .with_topic_name(name("a"))
                .with_partition_index(7),
        ),
    ] {
        accepted(
            ApiKey::DescribeTopicPartitions,
            0..=0,
            &DescribeTopicPartitionsRequest::default()
                .with_topics(vec![
                    kafka_protocol::messages::describe_topic_partitions_request::TopicRequest::default()
                        .with_name(name("a")),
                ])
                .with_response_partition_limit(0x0500_0000)
                .with_cursor(cursor),
        );
    }
    accepted(
        ApiKey::DescribeCluster,
        0..=0,
        &DescribeClusterRequest::default(),
    );
    accepted(
        ApiKey::DescribeCluster,
        2..=2,
        &DescribeClusterRequest::default()
            .with_endpoint_type(1)
            .with_include_fenced_brokers(true),
    );
}

fn s(v: &'static str) -> StrBytes {
    StrBytes::from_static_str(v)
}

fn group(v: &'static str) -> GroupId {
    GroupId(s(v))
}

#[test]
fn every_group_request_passes_the_bounds_check() {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::leave_group_request::MemberIdentity;
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::offset_delete_request::{
        OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
    };
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;

    accepted_with(ApiKey::FindCoordinator, 0..=6, |v| {
        let request = FindCoordinatorRequest::default();
        match v {
            0 => request.with_key(s("g")),
            1..=3 => request.with_key(s("g")).with_key_type(0),
            _ => request.with_coordinator_keys(vec![s("g1"), s("g2")]),
        }
    });
    accepted_with(ApiKey::JoinGroup, 0..=9, |v| {
        let request = JoinGroupRequest::default()
            .with_group_id(group("g"))
            .with_session_timeout_ms(10_000)
            .with_member_id(s("m-1"))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"sub")),
                JoinGroupRequestProtocol::default()
                    .with_name(s("roundrobin"))
                    .with_metadata(Bytes::from_static(b"sub2")),
            ]);
        let request = if v >= 1 {
            request.with_rebalance_timeout_ms(30_000)
        } else {
            request
        };
        let request = if v >= 5 {
            request.with_group_instance_id(Some(s("i-1")))
        } else {
            request
        };
        if v >= 8 {
            request.with_reason(Some(s("rebalance failed due to MemberIdRequiredException")))
        } else {
            request
        }
    });
    accepted_with(ApiKey::SyncGroup, 0..=5, |v| {
        let request = SyncGroupRequest::default()
            .with_group_id(group("g"))
            .with_generation_id(3)
            .with_member_id(s("m-1"))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(s("m-1"))
                .with_assignment(Bytes::from_static(b"assignment"))]);
        let request = if v >= 3 {
            request.with_group_instance_id(Some(s("i-1")))
        } else {
            request
        };
        if v >= 5 {
            request
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(Some(s("range")))
        } else {
            request
        }
    });
    accepted_with(ApiKey::Heartbeat, 0..=4, |v| {
        let request = HeartbeatRequest::default()
            .with_group_id(group("g"))
            .with_generation_id(3)
            .with_member_id(s("m-1"));
        if v >= 3 {
            request.with_group_instance_id(Some(s("i-1")))
        } else {
            request
        }
    });
    accepted_with(ApiKey::LeaveGroup, 0..=5, |v| {
        let request = LeaveGroupRequest::default().with_group_id(group("g"));
        let reason = |r| if v >= 5 { Some(s(r)) } else { None };
        if v <= 2 {
            request.with_member_id(s("m-1"))
        } else {
            request.with_members(vec![
                MemberIdentity::default()
                    .with_member_id(s("m-1"))
                    .with_reason(reason("the consumer is being closed")),
                MemberIdentity::default()
                    .with_member_id(s(""))
                    .with_group_instance_id(Some(s("i-2"))),
            ])
        }
    });
    accepted_with(ApiKey::OffsetCommit, 2..=9, |v| {
        let partition = |i| {
            let p = OffsetCommitRequestPartition::default()
                .with_partition_index(i)
                .with_committed_offset(42)
                .with_committed_metadata(Some(s("meta")));
            if v >= 6 {
                p.with_committed_leader_epoch(5)
            } else {
                p
            }
        };
        let request = OffsetCommitRequest::default()
            .with_group_id(group("g"))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(s(""))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(name("a"))
                .with_partitions(vec![partition(0), partition(1)])]);
        let request = if v <= 4 {
            request.with_retention_time_ms(60_000)
        } else {
            request
        };
        if v >= 7 {
            request.with_group_instance_id(Some(s("i-1")))
        } else {
            request
        }
    });
    accepted_with(ApiKey::OffsetFetch, 1..=7, |v| {
        let request = OffsetFetchRequest::default()
            .with_group_id(group("g"))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(name("a"))
                .with_partition_indexes(vec![0, 1, 2])]));
        if v >= 7 {
            request.with_require_stable(true)
        } else {
            request
        }
    });
    // Topics null: every committed offset.
    accepted(
        ApiKey::OffsetFetch,
        2..=7,
        &OffsetFetchRequest::default()
            .with_group_id(group("g"))
            .with_topics(None),
    );
    // v8+: groups, each with its topics or null; v9 adds the member.
    accepted_with(ApiKey::OffsetFetch, 8..=9, |v| {
        let member = |g: OffsetFetchRequestGroup| {
            if v >= 9 {
                g.with_member_id(Some(s("m-1"))).with_member_epoch(4)
            } else {
                g
            }
        };
        OffsetFetchRequest::default()
            .with_groups(vec![
                member(
                    OffsetFetchRequestGroup::default()
                        .with_group_id(group("g1"))
                        .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                            .with_name(name("a"))
                            .with_partition_indexes(vec![0, 1])])),
                ),
                OffsetFetchRequestGroup::default()
                    .with_group_id(group("g2"))
                    .with_topics(None),
            ])
            .with_require_stable(true)
    });
    accepted_with(ApiKey::ListGroups, 0..=5, |v| {
        let request = if v >= 4 {
            ListGroupsRequest::default().with_states_filter(vec![s("Stable"), s("Empty")])
        } else {
            ListGroupsRequest::default()
        };
        if v >= 5 {
            request.with_types_filter(vec![s("classic"), s("consumer")])
        } else {
            request
        }
    });
    accepted_with(ApiKey::DescribeGroups, 0..=6, |v| {
        let request = DescribeGroupsRequest::default().with_groups(vec![group("g1"), group("g2")]);
        if v >= 3 {
            request.with_include_authorized_operations(true)
        } else {
            request
        }
    });
    accepted(
        ApiKey::DeleteGroups,
        0..=2,
        &DeleteGroupsRequest::default().with_groups_names(vec![group("g1"), group("g2")]),
    );
    accepted(
        ApiKey::OffsetDelete,
        0..=0,
        &OffsetDeleteRequest::default()
            .with_group_id(group("g"))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(name("a"))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0),
                    OffsetDeleteRequestPartition::default().with_partition_index(1),
                ])]),
    );
}

/// OffsetCommit v0/v1 and OffsetFetch v0, which kafka-protocol 0.18 cannot
/// encode: OffsetFetch v0 is v1 on the wire; OffsetCommit's are built here.
#[test]
fn legacy_offset_requests_pass_the_bounds_check() {
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;

    fn put_string(buf: &mut BytesMut, v: Option<&str>) {
        match v {
            Some(v) => {
                buf.put_i16(v.len() as i16);
                buf.put_slice(v.as_bytes());
            }
            None => buf.put_i16(-1),
        }
    }
    for v in 0..=1i16 {
        let mut buf = BytesMut::new();
        put_string(&mut buf, Some("g"));
        if v == 1 {
            buf.put_i32(3); // generation
            put_string(&mut buf, Some("m-1"));
        }
        buf.put_i32(1);
        put_string(&mut buf, Some("a"));
        buf.put_i32(2);
        for (partition, metadata) in [(0, Some("meta")), (1, None)] {
            buf.put_i32(partition);
            buf.put_i64(42);
            if v == 1 {
                buf.put_i64(1_700_000_000_000); // commit timestamp
            }
            put_string(&mut buf, metadata);
        }
        assert_eq!(
            cairn_kafka::guard::check(ApiKey::OffsetCommit, v, &buf),
            Ok(()),
            "OffsetCommit v{v}"
        );
        // A partition array claiming more elements than there are bytes.
        let mut hostile = BytesMut::new();
        put_string(&mut hostile, Some("g"));
        if v == 1 {
            hostile.put_i32(3);
            put_string(&mut hostile, Some("m-1"));
        }
        hostile.put_i32(1);
        put_string(&mut hostile, Some("a"));
        hostile.put_i32(i32::MAX);
        assert!(cairn_kafka::guard::check(ApiKey::OffsetCommit, v, &hostile).is_err());
    }
    let fetch = OffsetFetchRequest::default()
        .with_group_id(group("g"))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(name("a"))
            .with_partition_indexes(vec![0, 1])]));
    let mut buf = BytesMut::new();
    fetch.encode(&mut buf, 1).unwrap();
    assert_eq!(
        cairn_kafka::guard::check(ApiKey::OffsetFetch, 0, &buf),
        Ok(())
    );
}

#[test]
fn group_requests_with_hostile_lengths_are_refused() {
    // The guard passes APIs it has no schema for, so a group API without one
    // would accept these bodies: one length far beyond the bytes that remain.
    for key in [ApiKey::DescribeGroups, ApiKey::DeleteGroups] {
        for v in 0..=2 {
            assert!(
                cairn_kafka::guard::check(key, v, &i32::MAX.to_be_bytes()).is_err(),
                "{key:?} v{v}"
            );
        }
    }
    let hostile_string = [0x7f, 0xff];
    for (key, v) in [
        (ApiKey::FindCoordinator, 0),
        (ApiKey::JoinGroup, 0),
        (ApiKey::SyncGroup, 0),
        (ApiKey::Heartbeat, 0),
        (ApiKey::LeaveGroup, 0),
        (ApiKey::OffsetCommit, 0),
        (ApiKey::OffsetCommit, 1),
        (ApiKey::OffsetCommit, 2),
        (ApiKey::OffsetFetch, 0),
        (ApiKey::OffsetFetch, 1),
        (ApiKey::OffsetFetch, 8),
        (ApiKey::OffsetDelete, 0),
    ] {
        assert!(
            cairn_kafka::guard::check(key, v, &hostile_string).is_err(),
            "{key:?} v{v}"
        );
    }
}

#[test]
fn consumer_group_requests_pass_the_bounds_check_and_hostile_ones_do_not() {
    use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
    accepted_with(ApiKey::ConsumerGroupHeartbeat, 0..=1, |v| {
        let request = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(group("g"))
            .with_member_id(s("m"))
            .with_member_epoch(3)
            .with_instance_id(Some(s("i")))
            .with_rack_id(Some(s("r")))
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(vec![name("t"), name("u")]))
            .with_server_assignor(Some(s("uniform")))
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic_id(uuid::Uuid::from_u128(7))
                .with_partitions(vec![0, 1, 2])]));
        if v >= 1 {
            request.with_subscribed_topic_regex(Some(s("t.*")))
        } else {
            request
        }
    });
    accepted(
        ApiKey::ConsumerGroupHeartbeat,
        0..=1,
        &ConsumerGroupHeartbeatRequest::default().with_group_id(group("g")),
    );
    accepted(
        ApiKey::ConsumerGroupDescribe,
        0..=1,
        &ConsumerGroupDescribeRequest::default().with_group_ids(vec![group("a"), group("b")]),
    );
    // Compact lengths far beyond the body: a group id, then a group id list.
    let hostile = [0xff, 0xff, 0xff, 0x7f];
    for (key, v) in [
        (ApiKey::ConsumerGroupHeartbeat, 0),
        (ApiKey::ConsumerGroupHeartbeat, 1),
        (ApiKey::ConsumerGroupDescribe, 0),
    ] {
        assert!(
            cairn_kafka::guard::check(key, v, &hostile).is_err(),
            "{key:?} v{v}"
        );
    }
}

#[test]
fn acl_and_log_dir_requests_pass_the_bounds_check_and_hostile_ones_do_not() {
    use kafka_protocol::messages::create_acls_request::AclCreation;
    use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
    use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
    accepted(
        ApiKey::DescribeAcls,
        1..=3,
        &DescribeAclsRequest::default()
            .with_resource_type_filter(2)
            .with_resource_name_filter(Some(s("orders")))
            .with_pattern_type_filter(3)
            .with_principal_filter(Some(s("User:alice")))
            .with_host_filter(None)
            .with_operation(2)
            .with_permission_type(3),
    );
    accepted(
        ApiKey::CreateAcls,
        1..=3,
        &CreateAclsRequest::default().with_creations(vec![
            AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(s("orders"))
                .with_resource_pattern_type(3)
                .with_principal(s("User:alice"))
                .with_host(s("*"))
                .with_operation(3)
                .with_permission_type(3),
            AclCreation::default(),
        ]),
    );
    accepted(
        ApiKey::DeleteAcls,
        1..=3,
        &DeleteAclsRequest::default().with_filters(vec![
            DeleteAclsFilter::default()
                .with_resource_name_filter(Some(s("orders")))
                .with_principal_filter(Some(s("User:bob"))),
            DeleteAclsFilter::default(),
        ]),
    );
    accepted(
        ApiKey::DescribeLogDirs,
        1..=4,
        &DescribeLogDirsRequest::default().with_topics(Some(vec![
            DescribableLogDirTopic::default()
                .with_topic(name("a"))
                .with_partitions(vec![0, 1]),
        ])),
    );
    accepted(
        ApiKey::DescribeLogDirs,
        1..=4,
        &DescribeLogDirsRequest::default().with_topics(None),
    );
    // A creation, filter or topic list claiming more elements than the body holds.
    for (key, v) in [
        (ApiKey::CreateAcls, 1),
        (ApiKey::DeleteAcls, 1),
        (ApiKey::DescribeLogDirs, 1),
    ] {
        assert!(
            cairn_kafka::guard::check(key, v, &i32::MAX.to_be_bytes()).is_err(),
            "{key:?} v{v}"
        );
    }
}
