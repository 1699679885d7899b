//! ConsumerGroupHeartbeat: joining, heartbeating, reconciling and leaving a
//! consumer (KIP-848) group, and the two timers that remove members (session
//! and revocation). One heartbeat does, in order:
//!
//! 1. find or create the group and the member, checking its epoch;
//! 2. update the member from the request; bump the group epoch if the
//!    member is new, its subscription changed, or the metadata of the
//!    subscribed topics (carried in the event) changed;
//! 3. if the group epoch moved past the target assignment's, recompute the
//!    target with the group's assignor;
//! 4. move the member one step toward its target ([`super::reconcile`]);
//! 5. re-arm its session and answer with its epoch and, when it changed or
//!    the request was full, its assignment.
//!
//! A member that leaves or is removed frees its partitions and bumps the
//! group epoch; the others get their new targets on their next heartbeat.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::TopicInfo;
use super::assignor::{self, AssignmentSpec, MemberSpec};
use super::group::ConsumerGroup;
use super::member::{ConsumerMember, MemberState, JOIN_EPOCH, LEAVE_EPOCH, STATIC_LEAVE_EPOCH};
use super::reconcile::reconcile;
use super::request::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use crate::coordinator::GroupCoordinator;
use crate::decision::{Decision, Response};
use crate::error::CoordinatorError;
use crate::group::GroupState;
use crate::timer::TimerKey;

impl GroupCoordinator {
    pub(crate) fn consumer_group_heartbeat(
        &mut self,
        req: ConsumerGroupHeartbeatRequest,
        out: &mut Vec<Decision>,
    ) {
        let result = self.validate_consumer_heartbeat(&req).and_then(|()| {
            if matches!(req.member_epoch, LEAVE_EPOCH | STATIC_LEAVE_EPOCH) {
                self.consumer_leave(&req)
            } else {
                self.consumer_heartbeat(&req, out)
            }
        });
        let response = result.unwrap_or_else(ConsumerGroupHeartbeatResponse::error);
        out.push(Decision::Respond {
            request: req.request,
            response: Response::ConsumerGroupHeartbeat(response),
        });
    }

    /// Kafka's request checks: INVALID_REQUEST, UNSUPPORTED_ASSIGNOR.
    fn validate_consumer_heartbeat(
        &self,
        req: &ConsumerGroupHeartbeatRequest,
    ) -> Result<(), CoordinatorError> {
        let invalid = |reason: &str| {
            Err(CoordinatorError::InvalidRequest {
                reason: reason.to_owned(),
            })
        };
        if req.group_id.is_empty() {
            return invalid("GroupId can't be empty.");
        }
        let needs_member_id = req.member_id_required
            || req.member_epoch > JOIN_EPOCH
            || req.member_epoch == LEAVE_EPOCH;
        if needs_member_id && req.member_id.is_empty() {
            return invalid("MemberId can't be empty.");
        }
        if req.instance_id.as_deref() == Some("") {
            return invalid("InstanceId can't be empty.");
        }
        if req.rack_id.as_deref() == Some("") {
            return invalid("RackId can't be empty.");
        }
        match req.member_epoch {
            JOIN_EPOCH => {
                if req.rebalance_timeout_ms == -1 {
                    return invalid("RebalanceTimeoutMs must be provided in first request.");
                }
                if !req.owned_partitions.as_ref().is_some_and(Vec::is_empty) {
                    return invalid("TopicPartitions must be empty when (re-)joining.");
                }
                if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
                    return invalid(
                        "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
                    );
                }
            }
            STATIC_LEAVE_EPOCH if req.instance_id.is_none() => {
                return invalid("InstanceId can't be null.");
            }
            epoch if epoch < STATIC_LEAVE_EPOCH => return invalid("MemberEpoch is invalid."),
            _ => {}
        }
        if let Some(assignor) = &req.server_assignor {
            let config = &self.consumer_config;
            if !config.assignors.iter().any(|a| a == assignor) {
                return Err(CoordinatorError::UnsupportedAssignor {
                    assignor: assignor.clone(),
                    supported: config.assignors.clone(),
                });
            }
        }
        Ok(())
    }

    /// A regular heartbeat (epoch 0 to join, else the member's epoch).
    fn consumer_heartbeat(
        &mut self,
        req: &ConsumerGroupHeartbeatRequest,
        out: &mut Vec<Decision>,
    ) -> Result<ConsumerGroupHeartbeatResponse, CoordinatorError> {
        let joining = req.member_epoch == JOIN_EPOCH;
        let created = self.prepare_consumer_group(&req.group_id, joining, out)?;
        let Some(mut group) = self.consumer_groups.remove(&req.group_id) else {
            return Err(CoordinatorError::GroupIdNotFound {
                group_id: req.group_id.clone(),
            });
        };
        let result = self.heartbeat_in(&mut group, req, out);
        if !(created && group.members.is_empty()) {
            self.consumer_groups.insert(req.group_id.clone(), group);
        }
        result
    }

    /// Makes sure a consumer group `group_id` exists for a heartbeat: a join
    /// creates it (replacing an empty classic group of that id, whose
    /// committed offsets stay); anything else needs it. True if created.
    fn prepare_consumer_group(
        &mut self,
        group_id: &str,
        joining: bool,
        out: &mut Vec<Decision>,
    ) -> Result<bool, CoordinatorError> {
        if self.consumer_groups.contains_key(group_id) {
            return Ok(false);
        }
        if let Some(classic) = self.groups.get(group_id) {
            let empty =
                classic.state() == GroupState::Empty && classic.pending_join_members.is_empty();
            if !(joining && empty) {
                return Err(CoordinatorError::OtherProtocolGroup {
                    group_id: group_id.to_owned(),
                    protocol: "classic".into(),
                });
            }
            self.groups.remove(group_id);
            self.timers.cancel_group(group_id);
        } else if !joining {
            return Err(CoordinatorError::GroupIdNotFound {
                group_id: group_id.to_owned(),
            });
        }
        let group = ConsumerGroup::new(group_id, self.now);
        self.consumer_groups.insert(group_id.to_owned(), group);
        self.ensure_retention_timer(out);
        Ok(true)
    }

    fn heartbeat_in(
        &mut self,
        group: &mut ConsumerGroup,
        req: &ConsumerGroupHeartbeatRequest,
        out: &mut Vec<Decision>,
    ) -> Result<ConsumerGroupHeartbeatResponse, CoordinatorError> {
        let is_member = group.members.contains_key(&req.member_id);
        let replaces_static = req
            .instance_id
            .as_ref()
            .is_some_and(|i| group.static_members.contains_key(i));
        let max_size = self.consumer_config.max_size;
        if !is_member
            && !replaces_static
            && u32::try_from(group.members.len()).unwrap_or(u32::MAX) >= max_size
        {
            return Err(CoordinatorError::GroupMaxSizeReached {
                group_id: group.group_id.clone(),
                max_size,
            });
        }
        let member_id = if req.member_id.is_empty() {
            let prefix = match req.client_id.as_str() {
                "" => "consumer",
                client => client,
            };
            Self::generate_member_id(&mut self.next_member_seq, prefix)
        } else {
            req.member_id.clone()
        };
        let before = match &req.instance_id {
            None => dynamic_member(group, &member_id, req)?,
            Some(instance) => self.static_member(group, &member_id, instance, req)?,
        };

        // 1. The member as the request updates it.
        let mut updated = before.clone();
        apply_request(&mut updated, req);
        let is_new = !group.members.contains_key(&member_id);
        let subscription_changed = updated.subscribed_topic_names != before.subscribed_topic_names
            || updated.subscribed_topic_regex != before.subscribed_topic_regex;
        let mut bump = group.group_epoch == 0 || is_new || subscription_changed;
        group.put_member(updated);
        bump |= refresh_metadata(group, req);
        if bump {
            group.group_epoch += 1;
        }

        // 2. The target assignment.
        if group.group_epoch > group.assignment_epoch {
            let assignor = group
                .preferred_assignor(self.consumer_config.default_assignor())
                .to_owned();
            group.target = compute_target(group, &assignor);
            group.assignment_epoch = group.group_epoch;
        }

        // 3. One reconciliation step.
        let current = group.members[&member_id].clone();
        let next = if current.is_reconciled_to(group.assignment_epoch) {
            current.clone()
        } else {
            let target = group.target_of(&member_id);
            let owned = req.owned();
            reconcile(
                &current,
                group.assignment_epoch,
                &target,
                owned.as_ref(),
                |topic, partition| group.owned_by_other(topic, partition, &member_id),
            )
        };
        if next != current {
            let revocation = TimerKey::ConsumerRevocation {
                group_id: group.group_id.clone(),
                member_id: member_id.clone(),
            };
            if next.state == MemberState::UnrevokedPartitions {
                self.arm(revocation, u64::from(next.rebalance_timeout_ms), out);
            } else {
                self.timers.cancel(&revocation);
            }
            group.put_member(next.clone());
        }

        // 4. The session, and the answer.
        let session = TimerKey::ConsumerSession {
            group_id: group.group_id.clone(),
            member_id: member_id.clone(),
        };
        self.arm(
            session,
            u64::from(self.consumer_config.session_timeout_ms),
            out,
        );
        let assignment =
            (req.is_full() || next.assigned != before.assigned).then(|| next.assigned.clone());
        Ok(ConsumerGroupHeartbeatResponse {
            error: None,
            member_id: Some(member_id),
            member_epoch: next.member_epoch,
            heartbeat_interval_ms: i32::try_from(self.consumer_config.heartbeat_interval_ms)
                .unwrap_or(i32::MAX),
            assignment,
        })
    }

    /// The static member `instance` as this request finds it: a join
    /// creates it, takes it over from a member id that left with epoch -2,
    /// or (same member id) restarts it; a heartbeat must come from the
    /// member id that holds the instance id, at its epoch.
    fn static_member(
        &mut self,
        group: &mut ConsumerGroup,
        member_id: &str,
        instance: &str,
        req: &ConsumerGroupHeartbeatRequest,
    ) -> Result<ConsumerMember, CoordinatorError> {
        let holder = group
            .static_members
            .get(instance)
            .and_then(|id| group.members.get(id))
            .cloned();
        let Some(holder) = holder else {
            if req.member_epoch == JOIN_EPOCH {
                return dynamic_member(group, member_id, req);
            }
            return Err(CoordinatorError::UnknownMemberId {
                group_id: group.group_id.clone(),
                member_id: member_id.to_owned(),
            });
        };
        if holder.member_id != member_id {
            if req.member_epoch != JOIN_EPOCH {
                return Err(CoordinatorError::FencedInstanceId {
                    group_id: group.group_id.clone(),
                    group_instance_id: instance.to_owned(),
                    member_id: member_id.to_owned(),
                    owner: holder.member_id,
                });
            }
            if holder.member_epoch != STATIC_LEAVE_EPOCH {
                return Err(CoordinatorError::UnreleasedInstanceId {
                    group_id: group.group_id.clone(),
                    group_instance_id: instance.to_owned(),
                    owner: holder.member_id,
                });
            }
            // The instance comes back under a new member id: it takes over
            // the old member's partitions and target, without a rebalance.
            let target = group.target.get(&holder.member_id).cloned();
            self.cancel_member_timers(&group.group_id, &holder.member_id);
            group.remove_member(&holder.member_id);
            let mut successor = holder;
            successor.member_id = member_id.to_owned();
            successor.member_epoch = JOIN_EPOCH;
            successor.previous_member_epoch = JOIN_EPOCH;
            group.put_member(successor.clone());
            if let Some(target) = target {
                group.target.insert(member_id.to_owned(), target);
            }
            return Ok(successor);
        }
        if req.member_epoch == JOIN_EPOCH {
            return Ok(rejoined(&holder));
        }
        validate_epoch(group, &holder, req)?;
        Ok(holder)
    }

    /// Leaving: epoch -1 removes the member; -2 (static members) keeps its
    /// partitions until its session expires or its instance comes back.
    fn consumer_leave(
        &mut self,
        req: &ConsumerGroupHeartbeatRequest,
    ) -> Result<ConsumerGroupHeartbeatResponse, CoordinatorError> {
        let Some(mut group) = self.consumer_groups.remove(&req.group_id) else {
            return Err(self.not_a_consumer_group(&req.group_id));
        };
        let result = self.leave_in(&mut group, req);
        self.consumer_groups.insert(req.group_id.clone(), group);
        result
    }

    fn leave_in(
        &mut self,
        group: &mut ConsumerGroup,
        req: &ConsumerGroupHeartbeatRequest,
    ) -> Result<ConsumerGroupHeartbeatResponse, CoordinatorError> {
        let unknown = || CoordinatorError::UnknownMemberId {
            group_id: group.group_id.clone(),
            member_id: req.member_id.clone(),
        };
        let member = match &req.instance_id {
            None => group
                .members
                .get(&req.member_id)
                .cloned()
                .ok_or_else(unknown)?,
            Some(instance) => {
                let holder = group
                    .static_members
                    .get(instance)
                    .and_then(|id| group.members.get(id))
                    .cloned()
                    .ok_or_else(unknown)?;
                if holder.member_id != req.member_id {
                    return Err(CoordinatorError::FencedInstanceId {
                        group_id: group.group_id.clone(),
                        group_instance_id: instance.clone(),
                        member_id: req.member_id.clone(),
                        owner: holder.member_id,
                    });
                }
                holder
            }
        };
        if req.member_epoch == STATIC_LEAVE_EPOCH {
            let mut away = member;
            away.set_epoch(STATIC_LEAVE_EPOCH);
            away.state = MemberState::Stable;
            away.pending_revocation = Default::default();
            self.timers.cancel(&TimerKey::ConsumerRevocation {
                group_id: group.group_id.clone(),
                member_id: away.member_id.clone(),
            });
            group.put_member(away);
        } else {
            self.remove_consumer_member(group, &member.member_id);
        }
        Ok(ConsumerGroupHeartbeatResponse {
            error: None,
            member_id: Some(req.member_id.clone()),
            member_epoch: req.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// Removes a member (it left, or a timer fenced it): its partitions are
    /// free, and the group epoch moves so the others are reassigned.
    pub(crate) fn remove_consumer_member(&mut self, group: &mut ConsumerGroup, member_id: &str) {
        if group.remove_member(member_id).is_none() {
            return;
        }
        self.cancel_member_timers(&group.group_id, member_id);
        let names = group.subscribed_topic_names();
        group
            .subscribed_topics
            .retain(|name, _| names.contains(name));
        let regexes = group.subscribed_regexes();
        group.resolved_regexes.retain(|r, _| regexes.contains(r));
        group.group_epoch += 1;
        if group.members.is_empty() {
            // Nothing to assign: the (empty) target is current.
            group.assignment_epoch = group.group_epoch;
            group.target.clear();
            group.state_timestamp = self.now;
        }
    }

    /// A consumer group timer fired.
    pub(crate) fn fire_consumer_timer(&mut self, key: &TimerKey) {
        let (TimerKey::ConsumerSession {
            group_id,
            member_id,
        }
        | TimerKey::ConsumerRevocation {
            group_id,
            member_id,
        }) = key
        else {
            return;
        };
        let Some(mut group) = self.consumer_groups.remove(group_id) else {
            return;
        };
        let expired = match (key, group.members.get(member_id)) {
            (_, None) => false,
            (TimerKey::ConsumerRevocation { .. }, Some(m)) => {
                m.state == MemberState::UnrevokedPartitions
            }
            _ => true,
        };
        if expired {
            self.remove_consumer_member(&mut group, member_id);
        }
        self.consumer_groups.insert(group_id.clone(), group);
    }

    fn cancel_member_timers(&mut self, group_id: &str, member_id: &str) {
        for key in [
            TimerKey::ConsumerSession {
                group_id: group_id.to_owned(),
                member_id: member_id.to_owned(),
            },
            TimerKey::ConsumerRevocation {
                group_id: group_id.to_owned(),
                member_id: member_id.to_owned(),
            },
        ] {
            self.timers.cancel(&key);
        }
    }

    /// Arms `key` `delay_ms` from now.
    fn arm(&mut self, key: TimerKey, delay_ms: u64, out: &mut Vec<Decision>) {
        let deadline = self.now + delay_ms;
        self.timers.schedule(key.clone(), deadline);
        out.push(Decision::ArmTimer { key, deadline });
    }

    /// The error for a request that needs a consumer group `group_id`.
    pub(crate) fn not_a_consumer_group(&self, group_id: &str) -> CoordinatorError {
        if self.groups.contains_key(group_id) {
            CoordinatorError::OtherProtocolGroup {
                group_id: group_id.to_owned(),
                protocol: "classic".into(),
            }
        } else {
            CoordinatorError::GroupIdNotFound {
                group_id: group_id.to_owned(),
            }
        }
    }
}

/// A dynamic member as this request finds it: a join creates it (or
/// restarts it, when the member id is known); a heartbeat needs it at its epoch.
fn dynamic_member(
    group: &ConsumerGroup,
    member_id: &str,
    req: &ConsumerGroupHeartbeatRequest,
) -> Result<ConsumerMember, CoordinatorError> {
    match group.members.get(member_id) {
        None if req.member_epoch == JOIN_EPOCH => Ok(ConsumerMember::new(member_id)),
        None => Err(CoordinatorError::UnknownMemberId {
            group_id: group.group_id.clone(),
            member_id: member_id.to_owned(),
        }),
        Some(member) if req.member_epoch == JOIN_EPOCH => Ok(rejoined(member)),
        Some(member) => {
            validate_epoch(group, member, req)?;
            Ok(member.clone())
        }
    }
}

/// A known member rejoining with epoch 0: the protocol has it give up every
/// partition first (its join lists none), so it starts over from nothing.
fn rejoined(member: &ConsumerMember) -> ConsumerMember {
    let mut fresh = member.clone();
    fresh.state = MemberState::Stable;
    fresh.member_epoch = JOIN_EPOCH;
    fresh.previous_member_epoch = JOIN_EPOCH;
    fresh.assigned = Default::default();
    fresh.pending_revocation = Default::default();
    fresh
}

/// Kafka's epoch check: a member ahead of the coordinator is fenced; one
/// behind is accepted only at its previous epoch (the response that moved
/// it on was lost) and if it owns nothing it may not.
fn validate_epoch(
    group: &ConsumerGroup,
    member: &ConsumerMember,
    req: &ConsumerGroupHeartbeatRequest,
) -> Result<(), CoordinatorError> {
    let fenced = || CoordinatorError::FencedMemberEpoch {
        group_id: group.group_id.clone(),
        member_id: member.member_id.clone(),
        received: req.member_epoch,
        current: member.member_epoch,
    };
    if req.member_epoch > member.member_epoch {
        return Err(fenced());
    }
    if req.member_epoch < member.member_epoch {
        let owns_only_assigned = req
            .owned()
            .is_some_and(|owned| owned.is_subset(&member.assigned));
        if req.member_epoch != member.previous_member_epoch || !owns_only_assigned {
            return Err(fenced());
        }
    }
    Ok(())
}

/// Copies what the request sets (null fields mean "unchanged").
fn apply_request(member: &mut ConsumerMember, req: &ConsumerGroupHeartbeatRequest) {
    if let Some(instance) = &req.instance_id {
        member.instance_id = Some(instance.clone());
    }
    if let Some(rack) = &req.rack_id {
        member.rack_id = Some(rack.clone());
    }
    if let Ok(timeout) = u32::try_from(req.rebalance_timeout_ms) {
        member.rebalance_timeout_ms = timeout;
    }
    if let Some(assignor) = &req.server_assignor {
        member.server_assignor = Some(assignor.clone());
    }
    if let Some(names) = &req.subscribed_topic_names {
        member.subscribed_topic_names = names.iter().cloned().collect();
    }
    if let Some(regex) = &req.subscribed_topic_regex {
        member.subscribed_topic_regex = (!regex.is_empty()).then(|| regex.clone());
    }
    member.client_id = req.client_id.clone();
    member.client_host = req.client_host.clone();
}

/// Takes the regex resolutions and topic metadata the event carries for the
/// group's subscription; true if what the group knows changed.
fn refresh_metadata(group: &mut ConsumerGroup, req: &ConsumerGroupHeartbeatRequest) -> bool {
    let regexes = group.subscribed_regexes();
    let mut resolved: BTreeMap<String, BTreeSet<String>> = group
        .resolved_regexes
        .iter()
        .filter(|(r, _)| regexes.contains(*r))
        .map(|(r, t)| (r.clone(), t.clone()))
        .collect();
    for (regex, topics) in &req.resolved_regexes {
        if regexes.contains(regex) {
            resolved.insert(regex.clone(), topics.iter().cloned().collect());
        }
    }
    group.resolved_regexes = resolved;

    let mut known: BTreeMap<String, TopicInfo> = BTreeMap::new();
    for name in group.subscribed_topic_names() {
        let info = match req.topics.get(&name) {
            Some(resolved) => *resolved,
            None => group.subscribed_topics.get(&name).copied(),
        };
        if let Some(info) = info {
            known.insert(name, info);
        }
    }
    let changed = known != group.subscribed_topics;
    group.subscribed_topics = known;
    changed
}

/// The group's next target assignment with `assignor`.
fn compute_target(
    group: &ConsumerGroup,
    assignor_name: &str,
) -> BTreeMap<String, super::assignment::Assignment> {
    let members: BTreeMap<String, MemberSpec> = group
        .members
        .values()
        .map(|m| {
            let spec = MemberSpec {
                topics: group.member_topic_names(m),
                instance_id: m.instance_id.clone(),
            };
            (m.member_id.clone(), spec)
        })
        .collect();
    let spec = AssignmentSpec {
        members: &members,
        topics: &group.subscribed_topics,
        previous: &group.target,
    };
    assignor::assign(assignor_name, spec)
}
