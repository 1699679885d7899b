//! DescribeGroups (key 15), v0-v6: each group's state, protocol and members,
//! read from its coordinator. An unknown group is reported Dead, with no
//! error before v6 and GROUP_ID_NOT_FOUND from v6 (KIP-1043), as Kafka
//! does; a group this broker does not coordinate gets NOT_COORDINATOR.
//! Authorized operations are not reported (no ACLs).

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{GroupDescription, GroupState};
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, DescribeGroupsResponse, GroupId, RequestHeader,
};

use super::groups::{wire, wire_opt};
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;

/// Handles DescribeGroups.
pub fn handle_describe_groups(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    answer_now(
        ApiKey::DescribeGroups,
        header,
        body,
        |request: DescribeGroupsRequest| {
            let groups = request
                .groups
                .into_iter()
                .map(|group_id| describe(&**cluster, version, group_id))
                .collect();
            DescribeGroupsResponse::default().with_groups(groups)
        },
    )
}

/// The first version that answers GROUP_ID_NOT_FOUND for an unknown group.
const NOT_FOUND_FROM: i16 = 6;

fn describe(cluster: &dyn KafkaCluster, version: i16, group_id: GroupId) -> DescribedGroup {
    let mut description = None;
    let read = cluster.read_group(&group_id, &mut |coordinator| {
        description = Some(coordinator.describe_group(&group_id));
    });
    match (read, description) {
        (Ok(()), Some(description))
            if version >= NOT_FOUND_FROM && description.state == GroupState::Dead =>
        {
            described(description)
                .with_error_code(crate::error_code::GROUP_ID_NOT_FOUND)
                .with_error_message(Some(wire(format!(
                    "group '{}' does not exist",
                    group_id.as_str()
                ))))
        }
        (Ok(()), Some(description)) => described(description),
        (Err(e), _) => DescribedGroup::default()
            .with_group_id(group_id)
            .with_error_code(e.code),
        (Ok(()), None) => DescribedGroup::default()
            .with_group_id(group_id)
            .with_error_code(crate::error_code::UNKNOWN_SERVER_ERROR),
    }
}

fn described(description: GroupDescription) -> DescribedGroup {
    DescribedGroup::default()
        .with_group_id(GroupId(wire(description.group_id)))
        .with_group_state(wire(description.state.name()))
        .with_protocol_type(wire(description.protocol_type))
        .with_protocol_data(wire(description.protocol_data))
        .with_members(
            description
                .members
                .into_iter()
                .map(|m| {
                    DescribedGroupMember::default()
                        .with_member_id(wire(m.member_id))
                        .with_group_instance_id(wire_opt(m.group_instance_id))
                        .with_client_id(wire(m.client_id))
                        .with_client_host(wire(m.client_host))
                        .with_member_metadata(Bytes::from(m.metadata))
                        .with_member_assignment(Bytes::from(m.assignment))
                })
                .collect(),
        )
}
