//! ListGroups (key 16), v0-v5: the groups this broker coordinates; v4
//! filters by state names, v5 by group types and reports each group's type.
//! Both filters are case-insensitive, and a name that is no state or type
//! matches nothing, as Kafka does. Every group Cairn hosts is a classic
//! group (the KIP-848 `consumer` type is not served yet).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    ApiKey, GroupId, ListGroupsRequest, ListGroupsResponse, RequestHeader,
};

use super::groups::wire;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;

/// The type of a group of the classic protocol (Kafka's `Group.GroupType`).
pub const CLASSIC_GROUP_TYPE: &str = "classic";
/// The first version that filters by type and reports it.
const GROUP_TYPE_FROM: i16 = 5;

/// Handles ListGroups.
pub fn handle_list_groups(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    answer_now(
        ApiKey::ListGroups,
        header,
        body,
        |request: ListGroupsRequest| {
            let classic_wanted = request.types_filter.is_empty()
                || request
                    .types_filter
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(CLASSIC_GROUP_TYPE));
            if !classic_wanted {
                return ListGroupsResponse::default();
            }
            let group_type = if version >= GROUP_TYPE_FROM {
                wire(CLASSIC_GROUP_TYPE)
            } else {
                wire("")
            };
            let states: Vec<&str> = request.states_filter.iter().map(|s| &**s).collect();
            let groups = cluster
                .list_groups(&states)
                .into_iter()
                .map(|g| {
                    ListedGroup::default()
                        .with_group_id(GroupId(wire(g.group_id)))
                        .with_protocol_type(wire(g.protocol_type))
                        .with_group_state(wire(g.state.name()))
                        .with_group_type(group_type.clone())
                })
                .collect();
            ListGroupsResponse::default().with_groups(groups)
        },
    )
}
