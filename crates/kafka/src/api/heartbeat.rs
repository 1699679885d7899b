//! Heartbeat (key 12), v0-v4: a member keeps its session alive and learns
//! whether the group is rebalancing (REBALANCE_IN_PROGRESS).

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Event, HeartbeatRequest as HeartbeatEvent, Response};
use kafka_protocol::messages::{ApiKey, HeartbeatRequest, HeartbeatResponse, RequestHeader};

use super::groups::{code, owned_opt, send_group_event, unexpected};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;

/// Handles Heartbeat.
pub fn handle_heartbeat(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::Heartbeat,
        header,
        body,
        move |request: HeartbeatRequest| {
            let group_id = request.group_id.0.to_string();
            let event_group = group_id.clone();
            let answer = send_group_event(&*cluster, &group_id, move |id| {
                Event::Heartbeat(HeartbeatEvent {
                    request: id,
                    group_id: event_group,
                    generation_id: request.generation_id,
                    member_id: request.member_id.to_string(),
                    group_instance_id: owned_opt(request.group_instance_id.as_ref()),
                })
            });
            async move {
                let error_code = match answer.await {
                    Ok(Response::Heartbeat(error)) => code(error.as_ref()),
                    Ok(other) => unexpected("Heartbeat", &other).code,
                    Err(e) => e.code,
                };
                HeartbeatResponse::default().with_error_code(error_code)
            }
        },
    )
}
