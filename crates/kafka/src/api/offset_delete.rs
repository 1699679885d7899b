//! OffsetDelete (key 47), v0: deletes committed offsets of a group, which
//! must be Empty or not subscribed to the topics (GROUP_SUBSCRIBED_TO_TOPIC
//! per partition otherwise). A group-level error (unknown group, not the
//! coordinator) is the top-level error code.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Event, OffsetDeleteRequest as DeleteEvent, Response};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, OffsetDeleteRequest, OffsetDeleteResponse, RequestHeader, TopicName,
};

use super::groups::{code, send_group_event, unexpected, wire};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;

/// Handles OffsetDelete.
pub fn handle_offset_delete(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::OffsetDelete,
        header,
        body,
        move |request: OffsetDeleteRequest| {
            let group_id = request.group_id.0.to_string();
            let topics: Vec<(String, Vec<i32>)> = request
                .topics
                .iter()
                .map(|t| {
                    let partitions = t.partitions.iter().map(|p| p.partition_index).collect();
                    (t.name.0.to_string(), partitions)
                })
                .collect();
            let event_group = group_id.clone();
            let answer = send_group_event(&*cluster, &group_id, move |id| {
                Event::OffsetDelete(DeleteEvent {
                    request: id,
                    group_id: event_group,
                    topics,
                })
            });
            async move {
                let deleted = match answer.await {
                    Ok(Response::OffsetDelete(deleted)) => deleted,
                    Ok(other) => {
                        return OffsetDeleteResponse::default()
                            .with_error_code(unexpected("OffsetDelete", &other).code)
                    }
                    Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code),
                };
                OffsetDeleteResponse::default()
                    .with_error_code(code(deleted.error.as_ref()))
                    .with_topics(
                        deleted
                            .topics
                            .into_iter()
                            .map(|(topic, partitions)| {
                                OffsetDeleteResponseTopic::default()
                                    .with_name(TopicName(wire(topic)))
                                    .with_partitions(
                                        partitions
                                            .into_iter()
                                            .map(|(index, error)| {
                                                OffsetDeleteResponsePartition::default()
                                                    .with_partition_index(index)
                                                    .with_error_code(code(error.as_ref()))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            }
        },
    )
}
