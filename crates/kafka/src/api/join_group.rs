//! JoinGroup (key 11), v0-v9: a member joins or rejoins a classic group. The
//! coordinator may park the request until the join phase ends (the other
//! members rejoin or the rebalance timeout passes); the response goes out
//! when it answers. v4+ sets `require_known_member_id`, so a member without
//! an id first gets MEMBER_ID_REQUIRED with one. v8 adds the reason the
//! member joins (KIP-800): logged, not stored. v9 is v8 on the wire, and its
//! response carries `skip_assignment`: a static leader that rejoins a Stable
//! group without a change is told not to compute an assignment again.
//!
//! The member is recorded with the host of the connection it joined from,
//! which DescribeGroups reports.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Event, JoinGroupRequest as JoinEvent, Protocol, RequestId, Response};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse, RequestHeader};

use super::groups::{client_id, code, owned_opt, send_group_event, unexpected, wire, wire_opt};
use super::respond::{answer_later, Pending};
use crate::client::Client;
use crate::cluster::KafkaCluster;

/// The first version whose members must rejoin with the id they are given.
const KNOWN_MEMBER_ID_FROM: i16 = 4;
/// The first version whose `protocol_name` may be null.
const NULLABLE_PROTOCOL_NAME_FROM: i16 = 7;
/// The first version whose response carries `skip_assignment`.
const SKIP_ASSIGNMENT_FROM: i16 = 9;

/// Handles JoinGroup.
pub fn handle_join_group(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
    client: &Client,
) -> Pending {
    let version = header.request_api_version;
    let client_host = client.host().to_owned();
    let client_id = client_id(header);
    let cluster = cluster.clone();
    answer_later(
        ApiKey::JoinGroup,
        header,
        body,
        move |request: JoinGroupRequest| {
            let group_id = request.group_id.0.to_string();
            // The Java client sends an empty reason on a first join.
            if let Some(reason) = request.reason.as_deref().filter(|r| !r.is_empty()) {
                tracing::info!(
                    group = %group_id,
                    member = %request.member_id,
                    client = %client_id,
                    %reason,
                    "member joins group"
                );
            }
            let event = JoinEvent {
                // Replaced by the id the coordinator answers under.
                request: RequestId::new(0, 0),
                group_id: group_id.clone(),
                member_id: request.member_id.to_string(),
                group_instance_id: owned_opt(request.group_instance_id.as_ref()),
                client_id,
                client_host,
                session_timeout_ms: request.session_timeout_ms,
                rebalance_timeout_ms: request.rebalance_timeout_ms,
                protocol_type: request.protocol_type.to_string(),
                protocols: request
                    .protocols
                    .iter()
                    .map(|p| Protocol {
                        name: p.name.to_string(),
                        metadata: p.metadata.to_vec(),
                    })
                    .collect(),
                require_known_member_id: version >= KNOWN_MEMBER_ID_FROM,
                supports_skip_assignment: version >= SKIP_ASSIGNMENT_FROM,
            };
            let member_id = event.member_id.clone();
            let answer = send_group_event(&*cluster, &group_id, move |id| {
                Event::JoinGroup(JoinEvent {
                    request: id,
                    ..event
                })
            });
            async move {
                let response = match answer.await {
                    Ok(Response::JoinGroup(joined)) => joined,
                    Ok(other) => {
                        return error_response(
                            version,
                            member_id,
                            unexpected("JoinGroup", &other).code,
                        )
                    }
                    Err(e) => return error_response(version, member_id, e.code),
                };
                let protocol_name = if version >= NULLABLE_PROTOCOL_NAME_FROM {
                    wire_opt(response.protocol_name)
                } else {
                    Some(wire(response.protocol_name.unwrap_or_default()))
                };
                JoinGroupResponse::default()
                    .with_error_code(code(response.error.as_ref()))
                    .with_generation_id(response.generation_id)
                    .with_protocol_type(wire_opt(response.protocol_type))
                    .with_protocol_name(protocol_name)
                    .with_leader(wire(response.leader))
                    .with_skip_assignment(
                        version >= SKIP_ASSIGNMENT_FROM && response.skip_assignment,
                    )
                    .with_member_id(wire(response.member_id))
                    .with_members(
                        response
                            .members
                            .into_iter()
                            .map(|m| {
                                JoinGroupResponseMember::default()
                                    .with_member_id(wire(m.member_id))
                                    .with_group_instance_id(wire_opt(m.group_instance_id))
                                    .with_metadata(Bytes::from(m.metadata))
                            })
                            .collect(),
                    )
            }
        },
    )
}

/// A response for a request the coordinator did not answer.
fn error_response(version: i16, member_id: String, error_code: i16) -> JoinGroupResponse {
    let protocol_name = if version >= NULLABLE_PROTOCOL_NAME_FROM {
        None
    } else {
        Some(wire(""))
    };
    JoinGroupResponse::default()
        .with_error_code(error_code)
        .with_generation_id(-1)
        .with_protocol_name(protocol_name)
        .with_member_id(wire(member_id))
}
