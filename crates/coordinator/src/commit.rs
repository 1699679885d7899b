//! OffsetCommit, OffsetDelete and offset retention: the rules that tie
//! committed offsets to the group that commits them.
//!
//! Retention is decided from the entry timestamps alone: a group's offsets
//! expire `offsets.retention.minutes` after the group became Empty (after
//! their own commit, for standalone consumers that never joined); a Stable
//! consumer group only loses offsets of topics it no longer subscribes to.
//! An Empty group left with no offsets and no pending member is deleted.

use crate::coordinator::{Ctx, GroupCoordinator};
use crate::decision::{Decision, OffsetDeleteResponse, Record, Response};
use crate::error::CoordinatorError;
use crate::event::{
    Millis, OffsetCommitRequest, OffsetDeleteRequest, TxnMarkerEvent, TxnOffsetCommitRequest,
};
use crate::group::{ClassicGroup, GroupState};
use crate::offsets::{CommittedOffset, OffsetStore};
use crate::rebalance::reschedule_session;
use crate::timer::TimerKey;

impl GroupCoordinator {
    pub(crate) fn offset_commit(&mut self, req: OffsetCommitRequest, out: &mut Vec<Decision>) {
        let now = self.now;
        let validated = self.validate_commit(&req, out);
        let mut topics = Vec::with_capacity(req.topics.len());
        for (topic, partitions) in &req.topics {
            let mut results = Vec::with_capacity(partitions.len());
            for commit in partitions {
                let result = validated.clone().and_then(|()| {
                    OffsetStore::check_metadata(
                        &req.group_id,
                        topic,
                        commit.partition,
                        commit.metadata.as_deref(),
                        self.config.offset_metadata_max_bytes,
                    )
                });
                if result.is_ok() {
                    let offset = CommittedOffset {
                        offset: commit.offset,
                        leader_epoch: commit.leader_epoch,
                        metadata: commit.metadata.clone().unwrap_or_default(),
                        commit_timestamp: now,
                    };
                    self.offsets
                        .commit(&req.group_id, topic, commit.partition, offset.clone());
                    out.push(Decision::Persist(Record::OffsetCommitted {
                        group_id: req.group_id.clone(),
                        topic: topic.clone(),
                        partition: commit.partition,
                        offset,
                    }));
                }
                results.push((commit.partition, result.err()));
            }
            topics.push((topic.clone(), results));
        }
        out.push(Decision::Respond {
            request: req.request,
            response: Response::OffsetCommit(topics),
        });
    }

    /// TxnOffsetCommit: checked as an OffsetCommit is (a request without
    /// member and generation, as clients before KIP-447 send, is checked
    /// only for its group id), then held for the producer's transaction
    /// until its marker arrives ([`GroupCoordinator::txn_marker`]).
    pub(crate) fn txn_offset_commit(
        &mut self,
        req: TxnOffsetCommitRequest,
        out: &mut Vec<Decision>,
    ) {
        let now = self.now;
        let commit = &req.commit;
        let unmanaged = commit.generation_id < 0
            && commit.member_id.is_empty()
            && commit.group_instance_id.is_none();
        let validated = if unmanaged && self.groups.contains_key(&commit.group_id) {
            Ok(())
        } else {
            self.validate_commit(commit, out)
        };
        let mut topics = Vec::with_capacity(commit.topics.len());
        for (topic, partitions) in &commit.topics {
            let mut results = Vec::with_capacity(partitions.len());
            for p in partitions {
                let result = validated.clone().and_then(|()| {
                    OffsetStore::check_metadata(
                        &commit.group_id,
                        topic,
                        p.partition,
                        p.metadata.as_deref(),
                        self.config.offset_metadata_max_bytes,
                    )
                });
                if result.is_ok() {
                    let offset = CommittedOffset {
                        offset: p.offset,
                        leader_epoch: p.leader_epoch,
                        metadata: p.metadata.clone().unwrap_or_default(),
                        commit_timestamp: now,
                    };
                    self.pending.stage(
                        req.producer_id,
                        &commit.group_id,
                        topic,
                        p.partition,
                        offset,
                    );
                }
                results.push((p.partition, result.err()));
            }
            topics.push((topic.clone(), results));
        }
        out.push(Decision::Respond {
            request: commit.request,
            response: Response::OffsetCommit(topics),
        });
    }

    /// A transaction marker: a commit makes the producer's held offsets
    /// the groups' committed offsets, an abort drops them; a late
    /// duplicate of an earlier transaction's marker changes nothing.
    pub(crate) fn txn_marker(&mut self, marker: TxnMarkerEvent, out: &mut Vec<Decision>) {
        let released =
            self.pending
                .complete_marker(marker.producer_id, marker.txn_seq, marker.commit);
        for ((group_id, topic, partition), offset) in released {
            if !self.groups.contains_key(&group_id) && !self.consumer_groups.contains_key(&group_id)
            {
                // Deleted meanwhile (DeleteGroups): the commit brings it
                // back as a group with offsets only, as an OffsetCommit would.
                let group = ClassicGroup::new(group_id.clone(), self.now);
                self.groups.insert(group_id.clone(), group);
                self.ensure_retention_timer(out);
            }
            self.offsets
                .commit(&group_id, &topic, partition, offset.clone());
            out.push(Decision::Persist(Record::OffsetCommitted {
                group_id,
                topic,
                partition,
                offset,
            }));
        }
    }

    /// Whether the committer may commit for the group. A commit with
    /// generation -1 and no member creates a standalone group if none exists.
    fn validate_commit(
        &mut self,
        req: &OffsetCommitRequest,
        out: &mut Vec<Decision>,
    ) -> Result<(), CoordinatorError> {
        if req.group_id.is_empty() {
            return Err(CoordinatorError::InvalidGroupId {
                group_id: req.group_id.clone(),
            });
        }
        if let Some(group) = self.consumer_groups.get(&req.group_id) {
            return Self::validate_consumer_commit(group, req);
        }
        let now = self.now;
        if !self.groups.contains_key(&req.group_id) {
            if req.generation_id >= 0 {
                return Err(if req.group_id_not_found_supported {
                    CoordinatorError::GroupIdNotFound {
                        group_id: req.group_id.clone(),
                    }
                } else {
                    CoordinatorError::IllegalGeneration {
                        group_id: req.group_id.clone(),
                        member_id: req.member_id.clone(),
                        requested: req.generation_id,
                        current: -1,
                    }
                });
            }
            let group = ClassicGroup::new(req.group_id.clone(), now);
            self.groups.insert(req.group_id.clone(), group);
            self.ensure_retention_timer(out);
            return Ok(());
        }
        let Self {
            config,
            groups,
            timers,
            ..
        } = self;
        let Some(group) = groups.get(&req.group_id) else {
            return Ok(());
        };
        validate_group_commit(group, req)?;
        // A commit proves the member alive, as a heartbeat would.
        if matches!(
            group.state,
            GroupState::Stable | GroupState::PreparingRebalance
        ) {
            let mut ctx = Ctx::new(config, timers, out, now);
            reschedule_session(group, &req.member_id, &mut ctx);
        }
        Ok(())
    }

    pub(crate) fn offset_delete(&mut self, req: OffsetDeleteRequest, out: &mut Vec<Decision>) {
        let response = match self.check_offset_delete(&req) {
            Err(error) => OffsetDeleteResponse {
                error: Some(error),
                topics: Vec::new(),
            },
            Ok(subscribed) => {
                let mut topics = Vec::with_capacity(req.topics.len());
                for ((topic, partitions), subscribed) in req.topics.iter().zip(subscribed) {
                    let mut results = Vec::with_capacity(partitions.len());
                    for &partition in partitions {
                        if subscribed {
                            let error = CoordinatorError::GroupSubscribedToTopic {
                                group_id: req.group_id.clone(),
                                topic: topic.clone(),
                            };
                            results.push((partition, Some(error)));
                            continue;
                        }
                        if self.offsets.remove(&req.group_id, topic, partition) {
                            out.push(Decision::Persist(Record::OffsetRemoved {
                                group_id: req.group_id.clone(),
                                topic: topic.clone(),
                                partition,
                            }));
                        }
                        results.push((partition, None));
                    }
                    topics.push((topic.clone(), results));
                }
                OffsetDeleteResponse {
                    error: None,
                    topics,
                }
            }
        };
        out.push(Decision::Respond {
            request: req.request,
            response: Response::OffsetDelete(response),
        });
    }

    /// Whether offsets of the group may be deleted at all, and for each topic
    /// of the request whether the group reads it (those are refused).
    fn check_offset_delete(
        &self,
        req: &OffsetDeleteRequest,
    ) -> Result<Vec<bool>, CoordinatorError> {
        if let Some(group) = self.consumer_groups.get(&req.group_id) {
            return Ok(req
                .topics
                .iter()
                .map(|(topic, _)| group.is_subscribed_to_topic(topic))
                .collect());
        }
        let group =
            self.groups
                .get(&req.group_id)
                .ok_or_else(|| CoordinatorError::GroupIdNotFound {
                    group_id: req.group_id.clone(),
                })?;
        // Only a consumer group's subscription says which topics are in use.
        if group.state != GroupState::Empty && !group.uses_consumer_protocol() {
            return Err(CoordinatorError::NonEmptyGroup {
                group_id: req.group_id.clone(),
                state: group.state,
            });
        }
        Ok(req
            .topics
            .iter()
            .map(|(topic, _)| group.is_subscribed_to_topic(topic))
            .collect())
    }

    /// The retention timer fired at `at`: expire offsets, delete groups left
    /// with nothing, and re-arm while any group exists.
    pub(crate) fn expire_offsets(&mut self, at: Millis, out: &mut Vec<Decision>) {
        let retention_ms = self.config.offsets_retention_ms();
        let group_ids: Vec<String> = self.groups.keys().cloned().collect();
        for group_id in &group_ids {
            let Some(group) = self.groups.get(group_id) else {
                continue;
            };
            let expired = match expiry_base(group) {
                Some(ExpiryBase::BecameEmpty(since)) => {
                    self.offsets
                        .expire(group_id, at, retention_ms, |_| since, |_| true)
                }
                Some(ExpiryBase::CommitTime) => self.offsets.expire(
                    group_id,
                    at,
                    retention_ms,
                    |offset| offset.commit_timestamp,
                    |topic| !group.is_subscribed_to_topic(topic),
                ),
                None => Vec::new(),
            };
            for (topic, partition) in expired {
                out.push(Decision::Persist(Record::OffsetRemoved {
                    group_id: group_id.clone(),
                    topic,
                    partition,
                }));
            }
            let abandoned = group.state == GroupState::Empty
                && group.pending_join_members.is_empty()
                && !self.offsets.has_offsets(group_id)
                && !self.pending.has_pending(group_id);
            if abandoned {
                self.groups.remove(group_id);
                self.timers.cancel_group(group_id);
                out.push(Decision::Persist(Record::GroupDeleted {
                    group_id: group_id.clone(),
                }));
            }
        }
        self.expire_consumer_group_offsets(at, out);
        if !self.groups.is_empty() || !self.consumer_groups.is_empty() {
            let deadline = at + u64::from(self.config.offsets_retention_check_interval_ms);
            self.timers.schedule(TimerKey::OffsetRetention, deadline);
            out.push(Decision::ArmTimer {
                key: TimerKey::OffsetRetention,
                deadline,
            });
        }
    }
}

/// Which clock a group's offsets expire by.
enum ExpiryBase {
    /// The time the group became Empty.
    BecameEmpty(Millis),
    /// Each offset's own commit time.
    CommitTime,
}

/// Kafka's expiration condition for classic groups: none while a group has
/// members, except that a Stable consumer group whose subscription is known
/// loses offsets of topics it does not subscribe to.
fn expiry_base(group: &ClassicGroup) -> Option<ExpiryBase> {
    match (&group.protocol_type, group.state) {
        (None, _) => Some(ExpiryBase::CommitTime),
        (Some(_), GroupState::Empty) => Some(ExpiryBase::BecameEmpty(group.state_timestamp)),
        (Some(_), GroupState::Stable)
            if group.uses_consumer_protocol() && group.subscribed_topics.is_some() =>
        {
            Some(ExpiryBase::CommitTime)
        }
        _ => None,
    }
}

/// Kafka's `validateOffsetCommit` for classic groups.
fn validate_group_commit(
    group: &ClassicGroup,
    req: &OffsetCommitRequest,
) -> Result<(), CoordinatorError> {
    if req.generation_id < 0 && group.state == GroupState::Empty {
        // A consumer outside group management (or an admin tool) committing
        // for a group nobody is in.
        return Ok(());
    }
    if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
        group.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
        if req.generation_id != group.generation_id {
            return Err(group.illegal_generation(&req.member_id, req.generation_id));
        }
    } else if group.state != GroupState::Empty {
        // No member id and no generation: only an Empty group takes it.
        return Err(group.unknown_member(&req.member_id));
    }
    if group.state == GroupState::CompletingRebalance {
        // The member has its new generation but not yet its assignment.
        return Err(group.rebalance_in_progress());
    }
    Ok(())
}
