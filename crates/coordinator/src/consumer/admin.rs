//! How consumer (KIP-848) groups show up in the reads and administrative
//! requests they share with classic groups: ConsumerGroupDescribe,
//! DescribeGroups and ListGroups (reads), DeleteGroups, and the offset rules
//! (who may commit, which offsets expire or may be deleted).

use std::collections::BTreeMap;

use super::assignment::{Assignment, TopicId};
use super::group::ConsumerGroup;
use crate::admin::{GroupDescription, MemberDescription};
use crate::coordinator::GroupCoordinator;
use crate::decision::{Decision, Record};
use crate::error::CoordinatorError;
use crate::event::{Millis, OffsetCommitRequest};
use crate::group::GroupState;
use crate::subscription::{encode_assignment, encode_subscription, CONSUMER_PROTOCOL_TYPE};

/// A consumer group as ConsumerGroupDescribe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: GroupState,
    /// The group epoch.
    pub group_epoch: i32,
    /// The epoch of the target assignment.
    pub assignment_epoch: i32,
    /// The assignor the group uses.
    pub assignor_name: String,
    /// Its members, by member id.
    pub members: Vec<ConsumerMemberDescription>,
    /// Topic id → name, for the topics the group subscribes to.
    pub topic_names: BTreeMap<TopicId, String>,
}

/// A member as ConsumerGroupDescribe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMemberDescription {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub instance_id: Option<String>,
    /// Its rack.
    pub rack_id: Option<String>,
    /// Its epoch.
    pub member_epoch: i32,
    /// Its client id.
    pub client_id: String,
    /// Its client host.
    pub client_host: String,
    /// The topic names it subscribes to.
    pub subscribed_topic_names: Vec<String>,
    /// The regular expression it subscribes with.
    pub subscribed_topic_regex: Option<String>,
    /// The partitions it may use now.
    pub assignment: Assignment,
    /// The partitions the assignor wants it to have.
    pub target_assignment: Assignment,
}

impl GroupCoordinator {
    /// One consumer group.
    pub fn consumer_group(&self, group_id: &str) -> Option<&ConsumerGroup> {
        self.consumer_groups.get(group_id)
    }

    /// Every consumer group, by id.
    pub fn consumer_groups(&self) -> impl Iterator<Item = &ConsumerGroup> {
        self.consumer_groups.values()
    }

    /// ConsumerGroupDescribe for one group: GROUP_ID_NOT_FOUND if no
    /// consumer group has this id (a classic one included).
    pub fn describe_consumer_group(
        &self,
        group_id: &str,
    ) -> Result<ConsumerGroupDescription, CoordinatorError> {
        let group = self
            .consumer_groups
            .get(group_id)
            .ok_or_else(|| self.not_a_consumer_group(group_id))?;
        Ok(ConsumerGroupDescription {
            group_id: group_id.to_owned(),
            state: group.state(),
            group_epoch: group.group_epoch,
            assignment_epoch: group.assignment_epoch,
            assignor_name: group
                .preferred_assignor(self.consumer_config.default_assignor())
                .to_owned(),
            members: group
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
                    subscribed_topic_regex: m.subscribed_topic_regex.clone(),
                    assignment: m.assigned.clone(),
                    target_assignment: group.target_of(&m.member_id),
                })
                .collect(),
            topic_names: topic_names(group),
        })
    }

    /// A consumer group as DescribeGroups shows it: protocol type
    /// `consumer`, the assignor as the protocol, and each member's
    /// subscription and partitions in the classic consumer protocol's
    /// encoding, so tools written for classic groups read them.
    pub(crate) fn describe_consumer_group_as_classic(
        &self,
        group: &ConsumerGroup,
    ) -> GroupDescription {
        let names = topic_names(group);
        GroupDescription {
            group_id: group.group_id.clone(),
            state: group.state(),
            protocol_type: CONSUMER_PROTOCOL_TYPE.to_owned(),
            protocol_data: group
                .preferred_assignor(self.consumer_config.default_assignor())
                .to_owned(),
            members: group
                .members
                .values()
                .map(|m| {
                    let topics = group.member_topic_names(m);
                    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                    let partitions: Vec<(String, Vec<i32>)> = m
                        .assigned
                        .topics()
                        .iter()
                        .filter_map(|(id, ps)| {
                            Some((names.get(id)?.clone(), ps.iter().copied().collect()))
                        })
                        .collect();
                    MemberDescription {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        metadata: encode_subscription(&topics),
                        assignment: encode_assignment(&partitions),
                    }
                })
                .collect(),
        }
    }

    /// OffsetCommit to a consumer group: a commit with a negative epoch is
    /// taken only while the group is empty; otherwise the member must exist
    /// (UNKNOWN_MEMBER_ID) and send its current epoch (STALE_MEMBER_EPOCH).
    pub(crate) fn validate_consumer_commit(
        group: &ConsumerGroup,
        req: &OffsetCommitRequest,
    ) -> Result<(), CoordinatorError> {
        if req.generation_id < 0 && group.members.is_empty() {
            return Ok(());
        }
        let member =
            group
                .members
                .get(&req.member_id)
                .ok_or_else(|| CoordinatorError::UnknownMemberId {
                    group_id: group.group_id.clone(),
                    member_id: req.member_id.clone(),
                })?;
        if req.generation_id != member.member_epoch {
            return Err(CoordinatorError::StaleMemberEpoch {
                group_id: group.group_id.clone(),
                member_id: req.member_id.clone(),
                received: req.generation_id,
                current: member.member_epoch,
            });
        }
        Ok(())
    }

    /// OffsetFetch v9+ of a member of a consumer group: the member must exist
    /// and send its current epoch. A fetch without a member id and with a
    /// negative epoch (admin tools, older versions) is always taken.
    pub fn check_offset_fetch_member(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), CoordinatorError> {
        let Some(member_id) = member_id.filter(|_| member_epoch >= 0) else {
            return Ok(());
        };
        let Some(group) = self.consumer_groups.get(group_id) else {
            return Ok(());
        };
        let member =
            group
                .members
                .get(member_id)
                .ok_or_else(|| CoordinatorError::UnknownMemberId {
                    group_id: group_id.to_owned(),
                    member_id: member_id.to_owned(),
                })?;
        if member.member_epoch != member_epoch {
            return Err(CoordinatorError::StaleMemberEpoch {
                group_id: group_id.to_owned(),
                member_id: member_id.to_owned(),
                received: member_epoch,
                current: member.member_epoch,
            });
        }
        Ok(())
    }

    /// DeleteGroups of a consumer group: only an empty one goes, with its offsets.
    pub(crate) fn delete_consumer_group(
        &mut self,
        group_id: &str,
        out: &mut Vec<Decision>,
    ) -> Result<(), CoordinatorError> {
        let Some(group) = self.consumer_groups.get(group_id) else {
            return Err(CoordinatorError::GroupIdNotFound {
                group_id: group_id.to_owned(),
            });
        };
        let state = group.state();
        if state != GroupState::Empty {
            return Err(CoordinatorError::NonEmptyGroup {
                group_id: group_id.to_owned(),
                state,
            });
        }
        self.consumer_groups.remove(group_id);
        self.offsets.remove_group(group_id);
        self.timers.cancel_group(group_id);
        out.push(Decision::Persist(Record::GroupDeleted {
            group_id: group_id.to_owned(),
        }));
        Ok(())
    }

    /// Offset retention for consumer groups (Kafka's rule): an offset expires
    /// `offsets.retention.minutes` after its commit unless the group reads
    /// its topic; an empty group left with no offsets is deleted.
    pub(crate) fn expire_consumer_group_offsets(&mut self, at: Millis, out: &mut Vec<Decision>) {
        let retention_ms = self.config.offsets_retention_ms();
        let group_ids: Vec<String> = self.consumer_groups.keys().cloned().collect();
        for group_id in &group_ids {
            let Some(group) = self.consumer_groups.get(group_id) else {
                continue;
            };
            let expired = self.offsets.expire(
                group_id,
                at,
                retention_ms,
                |offset| offset.commit_timestamp,
                |topic| !group.is_subscribed_to_topic(topic),
            );
            for (topic, partition) in expired {
                out.push(Decision::Persist(Record::OffsetRemoved {
                    group_id: group_id.clone(),
                    topic,
                    partition,
                }));
            }
            if group.members.is_empty() && !self.offsets.has_offsets(group_id) {
                self.consumer_groups.remove(group_id);
                self.timers.cancel_group(group_id);
                out.push(Decision::Persist(Record::GroupDeleted {
                    group_id: group_id.clone(),
                }));
            }
        }
    }
}

/// Topic id → name for the topics the group subscribes to.
fn topic_names(group: &ConsumerGroup) -> BTreeMap<TopicId, String> {
    group
        .subscribed_topics
        .iter()
        .map(|(name, info)| (info.id, name.clone()))
        .collect()
}
