//! ConsumerGroupHeartbeat (key 68), v0-v1: a member of a consumer group
//! (KIP-848, `group.protocol=consumer`) joins, heartbeats, acknowledges
//! revocations and leaves with this one request. v0 members get a member
//! id from the coordinator; v1 members bring their own, and may subscribe
//! with a regular expression.
//!
//! The coordinator knows no topics, so this handler resolves them before it
//! proposes the event: the topic names the member and its group subscribe
//! to (by name, and by the group's regular expressions, matched against
//! every non-internal topic as Java's `Pattern.matches` would) go into the
//! event with their ids and partition counts. Every replica then decides
//! with the same metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{
    ConsumerGroupHeartbeatRequest as HeartbeatEvent,
    ConsumerGroupHeartbeatResponse as HeartbeatAnswer, Event, RequestId, Response, TopicInfo,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, RequestHeader,
};

use super::groups::{client_id, owned_opt, send_group_event, unexpected, wire, wire_opt};
use super::respond::{answer_later, Pending};
use crate::client::Client;
use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

/// The first version whose members make their own member id.
const CLIENT_MEMBER_ID_FROM: i16 = 1;

/// Handles ConsumerGroupHeartbeat.
pub fn handle_consumer_group_heartbeat(
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
        ApiKey::ConsumerGroupHeartbeat,
        header,
        body,
        move |request: ConsumerGroupHeartbeatRequest| {
            let answer =
                build_event(&*cluster, version, client_id, client_host, request).map(|event| {
                    let group_id = event.group_id.clone();
                    send_group_event(&*cluster, &group_id, move |id| {
                        Event::ConsumerGroupHeartbeat(HeartbeatEvent {
                            request: id,
                            ..event
                        })
                    })
                });
            async move {
                let answered = match answer {
                    Ok(answer) => answer.await,
                    Err(e) => Err(e),
                };
                match answered {
                    Ok(Response::ConsumerGroupHeartbeat(answer)) => response(answer),
                    Ok(other) => error_response(unexpected("ConsumerGroupHeartbeat", &other)),
                    Err(e) => error_response(e),
                }
            }
        },
    )
}

/// The coordinator's event for `request`, with the topic metadata resolved.
fn build_event(
    cluster: &dyn KafkaCluster,
    version: i16,
    client_id: String,
    client_host: String,
    request: ConsumerGroupHeartbeatRequest,
) -> Result<HeartbeatEvent, KafkaError> {
    let group_id = request.group_id.0.to_string();
    let names: Option<Vec<String>> = request
        .subscribed_topic_names
        .map(|names| names.iter().map(|n| n.0.to_string()).collect());
    let regex = owned_opt(request.subscribed_topic_regex.as_ref());
    let (topics, resolved_regexes) = resolve_topics(
        cluster,
        &group_id,
        names.as_deref().unwrap_or_default(),
        regex.as_deref(),
    )?;
    Ok(HeartbeatEvent {
        // Replaced by the id the coordinator answers under.
        request: RequestId::new(0, 0),
        group_id,
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: owned_opt(request.instance_id.as_ref()),
        rack_id: owned_opt(request.rack_id.as_ref()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: names,
        subscribed_topic_regex: regex,
        server_assignor: owned_opt(request.server_assignor.as_ref()),
        owned_partitions: request.topic_partitions.map(|owned| {
            owned
                .into_iter()
                .map(|tp| (tp.topic_id.as_u128(), tp.partitions))
                .collect()
        }),
        client_id,
        client_host,
        member_id_required: version >= CLIENT_MEMBER_ID_FROM,
        topics,
        resolved_regexes,
    })
}

/// Topic name → id and partition count (`None`: no such topic) for every
/// name the member or its group reads, and what each regular expression of
/// the member or its group matches. A regular expression of the request
/// that does not compile is INVALID_REGULAR_EXPRESSION.
#[allow(clippy::type_complexity)]
fn resolve_topics(
    cluster: &dyn KafkaCluster,
    group_id: &str,
    names: &[String],
    regex: Option<&str>,
) -> Result<
    (
        BTreeMap<String, Option<TopicInfo>>,
        BTreeMap<String, Vec<String>>,
    ),
    KafkaError,
> {
    let mut wanted: BTreeSet<String> = names.iter().cloned().collect();
    let mut regexes: BTreeSet<String> = BTreeSet::new();
    // A broker that does not coordinate the group learns nothing here; the
    // event then fails with NOT_COORDINATOR anyway.
    let _ = cluster.read_group(group_id, &mut |coordinator| {
        if let Some(group) = coordinator.consumer_group(group_id) {
            wanted.extend(group.subscribed_topic_names());
            regexes.extend(group.subscribed_regexes());
        }
    });
    let metadata = cluster.metadata();
    let known: BTreeMap<&str, TopicInfo> = metadata
        .topics
        .iter()
        .map(|t| {
            let info = TopicInfo {
                id: t.id,
                partitions: u32::try_from(t.partitions.len()).unwrap_or(u32::MAX),
            };
            (t.name.as_str(), info)
        })
        .collect();
    let mut resolved_regexes = BTreeMap::new();
    let own = regex.filter(|r| !r.is_empty());
    for pattern in regexes.iter().map(String::as_str).chain(own) {
        let compiled = match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(compiled) => compiled,
            Err(e) if Some(pattern) == own => {
                return Err(KafkaError::new(
                    error_code::INVALID_REGULAR_EXPRESSION,
                    format!(
                        "SubscribedTopicRegex `{pattern}` is not a valid regular expression: {e}"
                    ),
                ))
            }
            Err(_) => continue,
        };
        let matched: Vec<String> = known
            .keys()
            .filter(|name| !name.starts_with("__") && compiled.is_match(name))
            .map(|name| (*name).to_owned())
            .collect();
        wanted.extend(matched.iter().cloned());
        resolved_regexes.insert(pattern.to_owned(), matched);
    }
    let topics = wanted
        .into_iter()
        .map(|name| {
            let info = known.get(name.as_str()).copied();
            (name, info)
        })
        .collect();
    Ok((topics, resolved_regexes))
}

/// The wire response for the coordinator's answer.
fn response(answer: HeartbeatAnswer) -> ConsumerGroupHeartbeatResponse {
    let (error_code, error_message) = match &answer.error {
        None => (error_code::NONE, None),
        Some(e) => (e.code(), Some(wire(e.to_string()))),
    };
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(error_code)
        .with_error_message(error_message)
        .with_member_id(wire_opt(answer.member_id))
        .with_member_epoch(answer.member_epoch)
        .with_heartbeat_interval_ms(answer.heartbeat_interval_ms)
        .with_assignment(answer.assignment.map(|assignment| {
            Assignment::default().with_topic_partitions(
                assignment
                    .topics()
                    .iter()
                    .map(|(id, partitions)| {
                        TopicPartitions::default()
                            .with_topic_id(uuid::Uuid::from_u128(*id))
                            .with_partitions(partitions.iter().copied().collect())
                    })
                    .collect(),
            )
        }))
}

/// A response for a request the coordinator did not answer.
fn error_response(error: KafkaError) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(error.code)
        .with_error_message(error.message.map(wire))
}
