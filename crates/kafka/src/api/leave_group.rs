//! LeaveGroup (key 13), v0-v5: members leave a group. v0-v2 name one member
//! by id and answer with a top-level error; v3+ list members (static ones
//! possibly by instance id only) and answer per member, with a top-level
//! error only for the group as a whole. v5 adds each member's reason for
//! leaving (KIP-800): logged, not stored.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Event, LeaveGroupRequest as LeaveEvent, LeavingMember, Response};
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, LeaveGroupResponse, RequestHeader};

use super::groups::{code, owned_opt, send_group_event, unexpected, wire, wire_opt};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;

/// The first version that lists members.
const BATCHED_FROM: i16 = 3;

/// Handles LeaveGroup.
pub fn handle_leave_group(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    let cluster = cluster.clone();
    answer_later(
        ApiKey::LeaveGroup,
        header,
        body,
        move |request: LeaveGroupRequest| {
            let group_id = request.group_id.0.to_string();
            let members = if version >= BATCHED_FROM {
                request
                    .members
                    .iter()
                    .map(|m| {
                        if let Some(reason) = m.reason.as_deref().filter(|r| !r.is_empty()) {
                            tracing::info!(
                                group = %group_id,
                                member = %m.member_id,
                                instance = ?m.group_instance_id.as_deref(),
                                %reason,
                                "member leaves group"
                            );
                        }
                        LeavingMember {
                            member_id: m.member_id.to_string(),
                            group_instance_id: owned_opt(m.group_instance_id.as_ref()),
                        }
                    })
                    .collect()
            } else {
                vec![LeavingMember {
                    member_id: request.member_id.to_string(),
                    group_instance_id: None,
                }]
            };
            let event_group = group_id.clone();
            let answer = send_group_event(&*cluster, &group_id, move |id| {
                Event::LeaveGroup(LeaveEvent {
                    request: id,
                    group_id: event_group,
                    members,
                })
            });
            async move {
                let left = match answer.await {
                    Ok(Response::LeaveGroup(left)) => left,
                    Ok(other) => {
                        return LeaveGroupResponse::default()
                            .with_error_code(unexpected("LeaveGroup", &other).code)
                    }
                    Err(e) => return LeaveGroupResponse::default().with_error_code(e.code),
                };
                if version < BATCHED_FROM {
                    // One member: its error is the request's.
                    let member_error = left.members.first().and_then(|(_, e)| e.as_ref());
                    let error = left.error.as_ref().or(member_error);
                    return LeaveGroupResponse::default().with_error_code(code(error));
                }
                LeaveGroupResponse::default()
                    .with_error_code(code(left.error.as_ref()))
                    .with_members(
                        left.members
                            .into_iter()
                            .map(|(member, error)| {
                                MemberResponse::default()
                                    .with_member_id(wire(member.member_id))
                                    .with_group_instance_id(wire_opt(member.group_instance_id))
                                    .with_error_code(code(error.as_ref()))
                            })
                            .collect(),
                    )
            }
        },
    )
}
