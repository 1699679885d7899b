//! ConsumerGroupDescribe (key 69), v0-v1: each consumer (KIP-848) group's
//! state, epochs, assignor and members with their current and target
//! assignments, read from its coordinator. A group that is not a consumer
//! group (unknown, or classic) gets GROUP_ID_NOT_FOUND, as Kafka answers; a
//! group this broker does not coordinate gets NOT_COORDINATOR. Authorized
//! operations are not reported (no ACLs). v1 adds each member's type:
//! every member of a Cairn consumer group speaks the consumer protocol.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Assignment as Partitions, ConsumerGroupDescription};
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, GroupId, RequestHeader,
    TopicName,
};

use super::groups::{wire, wire_opt};
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Kafka's "authorized operations not requested or unknown".
const NO_AUTHORIZED_OPERATIONS: i32 = i32::MIN;

/// Handles ConsumerGroupDescribe.
pub fn handle_consumer_group_describe(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    answer_now(
        ApiKey::ConsumerGroupDescribe,
        header,
        body,
        |request: ConsumerGroupDescribeRequest| {
            let names: BTreeMap<u128, String> = cluster
                .metadata()
                .topics
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect();
            let groups = request
                .group_ids
                .into_iter()
                .map(|group_id| describe(&**cluster, version, group_id, &names))
                .collect();
            ConsumerGroupDescribeResponse::default().with_groups(groups)
        },
    )
}

fn describe(
    cluster: &dyn KafkaCluster,
    version: i16,
    group_id: GroupId,
    names: &BTreeMap<u128, String>,
) -> DescribedGroup {
    let mut description = None;
    let read = cluster.read_group(&group_id, &mut |coordinator| {
        description = Some(coordinator.describe_consumer_group(&group_id));
    });
    let failed = |code: i16, message: Option<String>| {
        DescribedGroup::default()
            .with_group_id(group_id.clone())
            .with_error_code(code)
            .with_error_message(message.map(wire))
            .with_authorized_operations(NO_AUTHORIZED_OPERATIONS)
    };
    match (read, description) {
        (Err(e), _) => failed(e.code, e.message),
        (Ok(()), Some(Ok(description))) => described(description, version, names),
        (Ok(()), Some(Err(e))) => failed(e.code(), Some(e.to_string())),
        (Ok(()), None) => failed(error_code::UNKNOWN_SERVER_ERROR, None),
    }
}

/// ConsumerGroupDescribe v1's `member_type` of a consumer-protocol member.
const MEMBER_TYPE_CONSUMER: i8 = 1;
/// `member_type` before v1: not reported.
const MEMBER_TYPE_UNKNOWN: i8 = -1;

fn described(
    group: ConsumerGroupDescription,
    version: i16,
    names: &BTreeMap<u128, String>,
) -> DescribedGroup {
    let member_type = if version >= 1 {
        MEMBER_TYPE_CONSUMER
    } else {
        MEMBER_TYPE_UNKNOWN
    };
    let assignment = |partitions: &Partitions| {
        Assignment::default().with_topic_partitions(
            partitions
                .topics()
                .iter()
                .map(|(id, ps)| {
                    let name = group
                        .topic_names
                        .get(id)
                        .or_else(|| names.get(id))
                        .cloned()
                        .unwrap_or_default();
                    TopicPartitions::default()
                        .with_topic_id(uuid::Uuid::from_u128(*id))
                        .with_topic_name(TopicName(wire(name)))
                        .with_partitions(ps.iter().copied().collect())
                })
                .collect(),
        )
    };
    let members = group
        .members
        .iter()
        .map(|m| {
            Member::default()
                .with_member_id(wire(m.member_id.clone()))
                .with_instance_id(wire_opt(m.instance_id.clone()))
                .with_rack_id(wire_opt(m.rack_id.clone()))
                .with_member_epoch(m.member_epoch)
                .with_client_id(wire(m.client_id.clone()))
                .with_client_host(wire(m.client_host.clone()))
                .with_subscribed_topic_names(
                    m.subscribed_topic_names
                        .iter()
                        .map(|t| TopicName(wire(t.clone())))
                        .collect(),
                )
                .with_subscribed_topic_regex(wire_opt(m.subscribed_topic_regex.clone()))
                .with_assignment(assignment(&m.assignment))
                .with_target_assignment(assignment(&m.target_assignment))
                .with_member_type(member_type)
        })
        .collect();
    DescribedGroup::default()
        .with_group_id(GroupId(wire(group.group_id.clone())))
        .with_group_state(wire(group.state.name()))
        .with_group_epoch(group.group_epoch)
        .with_assignment_epoch(group.assignment_epoch)
        .with_assignor_name(wire(group.assignor_name.clone()))
        .with_members(members)
        .with_authorized_operations(NO_AUTHORIZED_OPERATIONS)
}
