//! SyncGroup (key 14), v0-v5: the leader hands in the assignment; every
//! member gets its own. A follower's request is parked until the leader's
//! arrives. v5 carries the protocol type and name, checked against the group's.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Event, RequestId, Response, SyncGroupRequest as SyncEvent};
use kafka_protocol::messages::{ApiKey, RequestHeader, SyncGroupRequest, SyncGroupResponse};

use super::groups::{code, owned_opt, send_group_event, unexpected, wire_opt};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;

/// Handles SyncGroup.
pub fn handle_sync_group(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::SyncGroup,
        header,
        body,
        move |request: SyncGroupRequest| {
            let group_id = request.group_id.0.to_string();
            let event = SyncEvent {
                // Replaced by the id the coordinator answers under.
                request: RequestId::new(0, 0),
                group_id: group_id.clone(),
                generation_id: request.generation_id,
                member_id: request.member_id.to_string(),
                group_instance_id: owned_opt(request.group_instance_id.as_ref()),
                protocol_type: owned_opt(request.protocol_type.as_ref()),
                protocol_name: owned_opt(request.protocol_name.as_ref()),
                assignments: request
                    .assignments
                    .iter()
                    .map(|a| (a.member_id.to_string(), a.assignment.to_vec()))
                    .collect(),
            };
            let answer = send_group_event(&*cluster, &group_id, move |id| {
                Event::SyncGroup(SyncEvent {
                    request: id,
                    ..event
                })
            });
            async move {
                match answer.await {
                    Ok(Response::SyncGroup(synced)) => SyncGroupResponse::default()
                        .with_error_code(code(synced.error.as_ref()))
                        .with_protocol_type(wire_opt(synced.protocol_type))
                        .with_protocol_name(wire_opt(synced.protocol_name))
                        .with_assignment(Bytes::from(synced.assignment)),
                    Ok(other) => SyncGroupResponse::default()
                        .with_error_code(unexpected("SyncGroup", &other).code),
                    Err(e) => SyncGroupResponse::default().with_error_code(e.code),
                }
            }
        },
    )
}
