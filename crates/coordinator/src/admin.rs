//! DescribeGroups and ListGroups views (reads of the state) and DeleteGroups
//! (an event: only Empty groups can go), for classic and consumer groups.

use std::collections::BTreeSet;

use crate::coordinator::GroupCoordinator;
use crate::decision::{Decision, Record, Response};
use crate::error::CoordinatorError;
use crate::event::DeleteGroupsRequest;
use crate::group::GroupState;
use crate::subscription::CONSUMER_PROTOCOL_TYPE;

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state; `Dead` for a group that does not exist.
    pub state: GroupState,
    /// Its protocol type (empty if none).
    pub protocol_type: String,
    /// The chosen protocol, reported only while Stable (empty otherwise).
    pub protocol_data: String,
    /// Its members, by member id.
    pub members: Vec<MemberDescription>,
}

/// A member as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its client host.
    pub client_host: String,
    /// Its metadata for the chosen protocol; empty unless the group is Stable.
    pub metadata: Vec<u8>,
    /// Its assignment.
    pub assignment: Vec<u8>,
}

/// Which protocol a group speaks (ListGroups v5 `GroupType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupType {
    /// JoinGroup/SyncGroup/Heartbeat.
    Classic,
    /// ConsumerGroupHeartbeat (KIP-848).
    Consumer,
}

impl GroupType {
    /// The name Kafka uses (`classic`, `consumer`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Consumer => "consumer",
        }
    }
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The group id.
    pub group_id: String,
    /// Its protocol type (empty if none, e.g. a standalone consumer's offsets).
    pub protocol_type: String,
    /// Its state.
    pub state: GroupState,
    /// The protocol it speaks.
    pub group_type: GroupType,
}

impl GroupCoordinator {
    /// DescribeGroups for one group; an unknown group is reported Dead. A
    /// consumer group is shown as its classic-protocol equivalent.
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        if let Some(group) = self.consumer_groups.get(group_id) {
            return self.describe_consumer_group_as_classic(group);
        }
        let Some(group) = self.groups.get(group_id) else {
            return GroupDescription {
                group_id: group_id.to_owned(),
                state: GroupState::Dead,
                protocol_type: String::new(),
                protocol_data: String::new(),
                members: Vec::new(),
            };
        };
        let stable_protocol = match group.state {
            GroupState::Stable => group.protocol_name.clone(),
            _ => None,
        };
        GroupDescription {
            group_id: group_id.to_owned(),
            state: group.state,
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol_data: stable_protocol.clone().unwrap_or_default(),
            members: group
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: stable_protocol
                        .as_deref()
                        .map(|p| m.metadata(p).to_vec())
                        .unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// ListGroups: every group (classic and consumer, by id), or those whose
    /// state is named in `states_filter` (case-insensitive; a name that is no
    /// state matches nothing).
    pub fn list_groups(&self, states_filter: &[&str]) -> Vec<ListedGroup> {
        let wanted: BTreeSet<String> = states_filter
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        let classic = self.groups.values().map(|g| ListedGroup {
            group_id: g.group_id.clone(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            state: g.state,
            group_type: GroupType::Classic,
        });
        let consumer = self.consumer_groups.values().map(|g| ListedGroup {
            group_id: g.group_id().to_owned(),
            protocol_type: CONSUMER_PROTOCOL_TYPE.to_owned(),
            state: g.state(),
            group_type: GroupType::Consumer,
        });
        let mut listed: Vec<ListedGroup> = classic
            .chain(consumer)
            .filter(|g| wanted.is_empty() || wanted.contains(&g.state.name().to_ascii_lowercase()))
            .collect();
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        listed
    }

    pub(crate) fn delete_groups(&mut self, req: DeleteGroupsRequest, out: &mut Vec<Decision>) {
        let mut results = Vec::with_capacity(req.group_ids.len());
        for group_id in &req.group_ids {
            let result = match self.groups.get(group_id) {
                None if self.consumer_groups.contains_key(group_id) => {
                    self.delete_consumer_group(group_id, out)
                }
                None => Err(CoordinatorError::GroupIdNotFound {
                    group_id: group_id.clone(),
                }),
                Some(group) if group.state != GroupState::Empty => {
                    Err(CoordinatorError::NonEmptyGroup {
                        group_id: group_id.clone(),
                        state: group.state,
                    })
                }
                Some(_) => {
                    self.groups.remove(group_id);
                    self.offsets.remove_group(group_id);
                    self.timers.cancel_group(group_id);
                    out.push(Decision::Persist(Record::GroupDeleted {
                        group_id: group_id.clone(),
                    }));
                    Ok(())
                }
            };
            results.push((group_id.clone(), result.err()));
        }
        out.push(Decision::Respond {
            request: req.request,
            response: Response::DeleteGroups(results),
        });
    }
}
