//! DeleteGroups (key 42), v0-v2: each group is deleted by its own
//! coordinator, one event per group (groups hash to different
//! `__consumer_offsets` partitions). Only Empty groups can go
//! (NON_EMPTY_GROUP otherwise); an unknown group is GROUP_ID_NOT_FOUND.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{DeleteGroupsRequest as DeleteEvent, Event, Response};
use futures::future::join_all;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{ApiKey, DeleteGroupsRequest, DeleteGroupsResponse, RequestHeader};

use super::groups::{code, send_group_event, unexpected};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles DeleteGroups.
pub fn handle_delete_groups(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::DeleteGroups,
        header,
        body,
        move |request: DeleteGroupsRequest| {
            let deletions: Vec<_> = request
                .groups_names
                .into_iter()
                .map(|group_id| {
                    let name = group_id.0.to_string();
                    let event_name = name.clone();
                    let answer = send_group_event(&*cluster, &name, move |id| {
                        Event::DeleteGroups(DeleteEvent {
                            request: id,
                            group_ids: vec![event_name],
                        })
                    });
                    async move {
                        let error_code = match answer.await {
                            Ok(Response::DeleteGroups(results)) => results
                                .iter()
                                .find(|(g, _)| *g == name)
                                .map_or(error_code::UNKNOWN_SERVER_ERROR, |(_, e)| {
                                    code(e.as_ref())
                                }),
                            Ok(other) => unexpected("DeleteGroups", &other).code,
                            Err(e) => e.code,
                        };
                        DeletableGroupResult::default()
                            .with_group_id(group_id)
                            .with_error_code(error_code)
                    }
                })
                .collect();
            async move { DeleteGroupsResponse::default().with_results(join_all(deletions).await) }
        },
    )
}
