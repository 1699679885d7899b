//! The admin API's consumer groups: `GET /v1/groups` lists every group of
//! the cluster (this broker's, and each live peer's, asked over the
//! node-to-node transport: a group lives with the leader of its
//! `__consumer_offsets` partition), and `GET /v1/groups/{id}` describes one
//! group from its coordinator, wherever that is. The transport service
//! [`crate::services::GROUPS`] answers both for the peers: an empty body
//! lists, a group id describes.

use std::time::Duration;

use cairn_storage::METADATA_GROUP;

use crate::fan_out::ask_live_peers;
use crate::group_coordinators::{find_coordinator, list_groups, local_coordinator};
use crate::services;
use crate::shared::Core;
use crate::view::{GroupDetail, GroupMemberView, GroupOffsetView, GroupSummary, GroupsView};

/// How long a peer may take to answer.
const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a group cannot be described.
#[derive(Debug, PartialEq, Eq)]
pub enum GroupLookupError {
    /// No such group (nothing committed, no members).
    NotFound(String),
    /// Its coordinator is not known or did not answer.
    Unavailable(String),
}

/// The groups this broker coordinates.
pub fn local_summaries(core: &Core) -> Vec<GroupSummary> {
    list_groups(core, &[])
        .into_iter()
        .map(|g| GroupSummary {
            group_id: g.group_id,
            state: g.state.name().to_string(),
            protocol_type: g.protocol_type,
            group_type: g.group_type.name().to_string(),
            coordinator: core.id(),
        })
        .collect()
}

/// `group_id` as this broker's coordinator knows it; `None` if it does not
/// exist. An error if this broker does not coordinate it (now).
pub fn local_detail(core: &Core, group_id: &str) -> Result<Option<GroupDetail>, String> {
    let handle = local_coordinator(core, group_id).map_err(|e| e.to_string())?;
    handle.host.ready().map_err(|e| e.to_string())?;
    Ok(handle.reader.read(|m| {
        let coordinator = &m.0;
        let described = coordinator.describe_group(group_id);
        let offsets: Vec<GroupOffsetView> = coordinator
            .offsets()
            .group(group_id)
            .into_iter()
            .flat_map(|topics| {
                topics.iter().flat_map(|(topic, partitions)| {
                    partitions
                        .iter()
                        .map(move |(partition, c)| GroupOffsetView {
                            topic: topic.clone(),
                            partition: *partition,
                            committed: c.offset,
                            metadata: c.metadata.clone(),
                            commit_timestamp_ms: i64::try_from(c.commit_timestamp)
                                .unwrap_or(i64::MAX),
                        })
                })
            })
            .collect();
        let dead = described.state.name() == "Dead";
        (!dead || !offsets.is_empty()).then(|| GroupDetail {
            group_id: group_id.to_string(),
            state: if dead {
                "Empty".to_string()
            } else {
                described.state.name().to_string()
            },
            protocol_type: described.protocol_type,
            protocol: described.protocol_data,
            coordinator: core.id(),
            members: described
                .members
                .into_iter()
                .map(|m| GroupMemberView {
                    member_id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                })
                .collect(),
            offsets,
        })
    }))
}

/// Every group of the cluster, by id, with the live brokers that did not
/// answer (the peers are asked at once).
pub async fn all_summaries(core: &Core) -> GroupsView {
    let answers =
        ask_live_peers::<Vec<GroupSummary>>(core, services::GROUPS, Vec::new(), PEER_TIMEOUT).await;
    let mut groups = local_summaries(core);
    groups.extend(answers.answered.into_iter().flat_map(|(_, theirs)| theirs));
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups.dedup_by(|a, b| a.group_id == b.group_id);
    GroupsView {
        groups,
        unreachable: answers.unreachable,
    }
}

/// `group_id` described by its coordinator.
pub async fn detail(core: &Core, group_id: &str) -> Result<GroupDetail, GroupLookupError> {
    let unavailable = |e: String| GroupLookupError::Unavailable(e);
    let coordinator = find_coordinator(core, group_id)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let found = if coordinator.id as u64 == core.id() {
        local_detail(core, group_id).map_err(unavailable)?
    } else {
        let bytes = core
            .transport()
            .call(
                coordinator.id as u64,
                services::GROUPS,
                METADATA_GROUP,
                group_id.as_bytes().to_vec(),
                PEER_TIMEOUT,
            )
            .await
            .map_err(|e| {
                unavailable(format!(
                    "coordinator {} did not answer: {e}",
                    coordinator.id
                ))
            })?;
        bincode::deserialize::<Result<Option<GroupDetail>, String>>(&bytes)
            .map_err(|e| {
                unavailable(format!(
                    "malformed answer from broker {}: {e}",
                    coordinator.id
                ))
            })?
            .map_err(unavailable)?
    };
    found.ok_or_else(|| GroupLookupError::NotFound(format!("group '{group_id}' does not exist")))
}

/// Answers [`services::GROUPS`] for a peer: an empty body lists this
/// broker's groups, a group id describes that group.
pub fn serve(core: &Core, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.is_empty() {
        return bincode::serialize(&local_summaries(core)).map_err(|e| e.to_string());
    }
    let group_id = std::str::from_utf8(body).map_err(|e| format!("malformed group id: {e}"))?;
    bincode::serialize(&local_detail(core, group_id)).map_err(|e| e.to_string())
}
