//! ListGroups (key 16), v0-v4: the groups this broker coordinates; v4
//! filters by state names (case-insensitive, as Kafka does).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    ApiKey, GroupId, ListGroupsRequest, ListGroupsResponse, RequestHeader,
};

use super::groups::wire;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;

/// Handles ListGroups.
pub fn handle_list_groups(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::ListGroups,
        header,
        body,
        |request: ListGroupsRequest| {
            let states: Vec<&str> = request.states_filter.iter().map(|s| &**s).collect();
            let groups = cluster
                .list_groups(&states)
                .into_iter()
                .map(|g| {
                    ListedGroup::default()
                        .with_group_id(GroupId(wire(g.group_id)))
                        .with_protocol_type(wire(g.protocol_type))
                        .with_group_state(wire(g.state.name()))
                })
                .collect();
            ListGroupsResponse::default().with_groups(groups)
        },
    )
}
