//! JoinGroup: new members (dynamic, with or without the MEMBER_ID_REQUIRED
//! round trip, and static), rejoining members, and static members coming
//! back under a new member id.
//!
//! Member ids are generated deterministically: the member's instance id (or
//! client id), a dash, and a counter held in the state that never goes back.

use crate::coordinator::{Ctx, GroupCoordinator};
use crate::decision::{Decision, JoinGroupResponse, Record, Response};
use crate::error::CoordinatorError;
use crate::event::JoinGroupRequest;
use crate::group::{ClassicGroup, GroupState};
use crate::member::Member;
use crate::rebalance::{
    self, heartbeat_key, maybe_complete_join_phase, maybe_prepare_rebalance_or_complete_join,
    prepare_rebalance, reschedule_heartbeat,
};

impl GroupCoordinator {
    pub(crate) fn join_group(&mut self, req: JoinGroupRequest, out: &mut Vec<Decision>) {
        if let Err(error) = self.validate_join(&req) {
            let response = JoinGroupResponse::error(req.member_id.clone(), error);
            out.push(Decision::Respond {
                request: req.request,
                response: Response::JoinGroup(response),
            });
            return;
        }
        if let Some(consumer) = self.consumer_groups.get(&req.group_id) {
            if consumer.state() != GroupState::Empty {
                let error = CoordinatorError::InconsistentGroupProtocol {
                    group_id: req.group_id.clone(),
                    reason: "the group uses the consumer (KIP-848) protocol".into(),
                };
                let response = JoinGroupResponse::error(req.member_id.clone(), error);
                out.push(Decision::Respond {
                    request: req.request,
                    response: Response::JoinGroup(response),
                });
                return;
            }
            // An empty consumer group becomes a classic one; its offsets stay.
            self.consumer_groups.remove(&req.group_id);
            self.timers.cancel_group(&req.group_id);
        }
        let now = self.now;
        let is_new_member = req.member_id.is_empty();
        let created = !self.groups.contains_key(&req.group_id);
        if created && !is_new_member {
            let error = CoordinatorError::UnknownMemberId {
                group_id: req.group_id.clone(),
                member_id: req.member_id.clone(),
            };
            out.push(Decision::Respond {
                request: req.request,
                response: Response::JoinGroup(JoinGroupResponse::error(req.member_id, error)),
            });
            return;
        }
        if created {
            self.ensure_retention_timer(out);
        }
        let Self {
            config,
            groups,
            timers,
            next_member_seq,
            ..
        } = self;
        let group = groups
            .entry(req.group_id.clone())
            .or_insert_with(|| ClassicGroup::new(req.group_id.clone(), now));
        let mut ctx = Ctx::new(config, timers, out, now);
        if created {
            ctx.persist(Record::GroupMetadata(group.metadata_record()));
        }
        if !accepts_joining_member(group, &req.member_id, ctx.config.group_max_size) {
            if group.members.contains_key(&req.member_id) {
                rebalance::remove_member(group, &req.member_id, &mut ctx);
                maybe_complete_join_phase(group, &mut ctx);
            }
            let error = CoordinatorError::GroupMaxSizeReached {
                group_id: group.group_id.clone(),
                max_size: ctx.config.group_max_size,
            };
            let response = JoinGroupResponse::error("", error);
            ctx.respond(req.request, Response::JoinGroup(response));
        } else if is_new_member {
            let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
            let member_id = Self::generate_member_id(next_member_seq, prefix);
            join_new_member(group, &req, member_id, &mut ctx);
        } else {
            join_existing_member(group, &req, &mut ctx);
        }
        ctx.park_unless_answered(req.request);
    }

    /// Checks the broker applies before the group is looked at.
    fn validate_join(&self, req: &JoinGroupRequest) -> Result<(), CoordinatorError> {
        if req.group_id.is_empty() {
            return Err(CoordinatorError::InvalidGroupId {
                group_id: req.group_id.clone(),
            });
        }
        let (min_ms, max_ms) = (
            self.config.group_min_session_timeout_ms,
            self.config.group_max_session_timeout_ms,
        );
        let timeout = i64::from(req.session_timeout_ms);
        if timeout < i64::from(min_ms) || timeout > i64::from(max_ms) {
            return Err(CoordinatorError::InvalidSessionTimeout {
                session_timeout_ms: req.session_timeout_ms,
                min_ms,
                max_ms,
            });
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            return Err(CoordinatorError::InconsistentGroupProtocol {
                group_id: req.group_id.clone(),
                reason: "the member names no protocol type or no protocol".into(),
            });
        }
        Ok(())
    }
}

/// `group.max.size`: a rebalancing group counts the members that rejoined
/// (so the last to rejoin are the ones turned away), others count members.
fn accepts_joining_member(group: &ClassicGroup, member_id: &str, max_size: u32) -> bool {
    let max_size = usize::try_from(max_size).unwrap_or(usize::MAX);
    match group.state {
        GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {
            true
        }
        GroupState::PreparingRebalance => {
            group
                .members
                .get(member_id)
                .is_some_and(|m| m.awaiting_join.is_some())
                || group.num_awaiting_join() < max_size
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            group.members.contains_key(member_id) || group.members.len() < max_size
        }
    }
}

fn inconsistent_protocol(group: &ClassicGroup, req: &JoinGroupRequest) -> CoordinatorError {
    CoordinatorError::InconsistentGroupProtocol {
        group_id: group.group_id.clone(),
        reason: format!(
            "protocol type {:?} with protocols {:?} does not fit the group's type {:?} and members",
            req.protocol_type,
            req.protocols.iter().map(|p| &p.name).collect::<Vec<_>>(),
            group.protocol_type.as_deref().unwrap_or_default(),
        ),
    }
}

fn respond_join_error(
    ctx: &mut Ctx,
    req: &JoinGroupRequest,
    member_id: &str,
    error: CoordinatorError,
) {
    let response = JoinGroupResponse::error(member_id, error);
    ctx.respond(req.request, Response::JoinGroup(response));
}

fn rebalance_timeout(req: &JoinGroupRequest) -> u32 {
    let timeout = if req.rebalance_timeout_ms < 0 {
        req.session_timeout_ms
    } else {
        req.rebalance_timeout_ms
    };
    u32::try_from(timeout).unwrap_or(0)
}

fn join_new_member(
    group: &mut ClassicGroup,
    req: &JoinGroupRequest,
    member_id: String,
    ctx: &mut Ctx,
) {
    if !group.supports_protocols(&req.protocol_type, &req.protocols) {
        let error = inconsistent_protocol(group, req);
        return respond_join_error(ctx, req, "", error);
    }
    if let Some(instance) = &req.group_instance_id {
        match group.static_member_id(instance).map(str::to_owned) {
            Some(old_member_id) => {
                replace_static_member(group, req, &old_member_id, &member_id, ctx)
            }
            None => add_member_then_rebalance(group, req, member_id, ctx),
        }
    } else if req.require_known_member_id {
        group.pending_join_members.insert(member_id.clone());
        let timeout = u64::try_from(req.session_timeout_ms).unwrap_or(0);
        reschedule_heartbeat(group, &member_id, timeout, ctx);
        let error = CoordinatorError::MemberIdRequired {
            group_id: group.group_id.clone(),
            member_id: member_id.clone(),
        };
        respond_join_error(ctx, req, &member_id, error);
    } else {
        add_member_then_rebalance(group, req, member_id, ctx);
    }
}

fn join_existing_member(group: &mut ClassicGroup, req: &JoinGroupRequest, ctx: &mut Ctx) {
    let member_id = req.member_id.as_str();
    if !group.supports_protocols(&req.protocol_type, &req.protocols) {
        let error = inconsistent_protocol(group, req);
        return respond_join_error(ctx, req, member_id, error);
    }
    if group.is_pending(member_id) {
        if req.group_instance_id.is_some() {
            // Static members are never pending: a client mixing the two is confused.
            let error = CoordinatorError::UnknownServerError {
                reason: format!(
                    "pending member {member_id:?} of group {:?} rejoined with a group.instance.id",
                    group.group_id
                ),
            };
            return respond_join_error(ctx, req, member_id, error);
        }
        return add_member_then_rebalance(group, req, member_id.to_owned(), ctx);
    }
    if let Err(error) = group.validate_member(member_id, req.group_instance_id.as_deref()) {
        return respond_join_error(ctx, req, member_id, error);
    }
    let (is_leader, unchanged) = match group.members.get(member_id) {
        Some(member) => (group.is_leader(member_id), member.matches(&req.protocols)),
        None => return,
    };
    match group.state {
        GroupState::PreparingRebalance => update_member_then_rebalance(group, req, ctx),
        GroupState::CompletingRebalance if unchanged => {
            // It lost its JoinGroup response: send the current generation again.
            let response = current_generation(group, member_id, is_leader);
            ctx.respond(req.request, Response::JoinGroup(response));
        }
        GroupState::Stable if unchanged && !is_leader => {
            let response = current_generation(group, member_id, false);
            ctx.respond(req.request, Response::JoinGroup(response));
        }
        // Changed metadata, or the leader rejoining (it may have seen topic
        // metadata change): a new generation.
        GroupState::CompletingRebalance | GroupState::Stable => {
            update_member_then_rebalance(group, req, ctx)
        }
        GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {
            let error = group.unknown_member(member_id);
            respond_join_error(ctx, req, member_id, error);
        }
    }
}

/// The current generation as a JoinGroup response; the member list only for the leader.
fn current_generation(
    group: &ClassicGroup,
    member_id: &str,
    with_members: bool,
) -> JoinGroupResponse {
    JoinGroupResponse {
        error: None,
        generation_id: group.generation_id,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader: group.leader.clone().unwrap_or_default(),
        skip_assignment: false,
        member_id: member_id.to_owned(),
        members: if with_members {
            group.join_members()
        } else {
            Vec::new()
        },
    }
}

/// Records the member's new protocols and timeouts and parks its JoinGroup.
fn update_member(group: &mut ClassicGroup, member_id: &str, req: &JoinGroupRequest, ctx: &mut Ctx) {
    let Some(member) = group.members.get_mut(member_id) else {
        return;
    };
    member.protocols = req.protocols.clone();
    member.session_timeout_ms = u32::try_from(req.session_timeout_ms).unwrap_or(0);
    member.rebalance_timeout_ms = rebalance_timeout(req);
    let superseded = member.awaiting_join.replace(req.request);
    if let Some(old) = superseded.filter(|old| *old != req.request) {
        // The client sent a second JoinGroup: it gave up on the first.
        let error = CoordinatorError::RebalanceInProgress {
            group_id: group.group_id.clone(),
        };
        let response = JoinGroupResponse::error(member_id, error);
        ctx.respond(old, Response::JoinGroup(response));
    }
}

fn update_member_then_rebalance(group: &mut ClassicGroup, req: &JoinGroupRequest, ctx: &mut Ctx) {
    update_member(group, &req.member_id, req, ctx);
    maybe_prepare_rebalance_or_complete_join(group, ctx);
}

fn add_member_then_rebalance(
    group: &mut ClassicGroup,
    req: &JoinGroupRequest,
    member_id: String,
    ctx: &mut Ctx,
) {
    let member = Member {
        member_id: member_id.clone(),
        group_instance_id: req.group_instance_id.clone(),
        client_id: req.client_id.clone(),
        client_host: req.client_host.clone(),
        session_timeout_ms: u32::try_from(req.session_timeout_ms).unwrap_or(0),
        rebalance_timeout_ms: rebalance_timeout(req),
        protocol_type: req.protocol_type.clone(),
        protocols: req.protocols.clone(),
        assignment: Vec::new(),
        awaiting_join: Some(req.request),
        awaiting_sync: None,
        is_new: true,
    };
    // A joiner during the initial delay extends it.
    if group.state == GroupState::PreparingRebalance && group.previous_state == GroupState::Empty {
        group.new_member_added = true;
    }
    group.add_member(member);
    // A parked client cannot heartbeat, and a client that gave up and retried
    // would leave a defunct member behind: new members get a join window.
    let window = u64::from(ctx.config.group_new_member_join_timeout_ms);
    reschedule_heartbeat(group, &member_id, window, ctx);
    maybe_prepare_rebalance_or_complete_join(group, ctx);
}

/// A static member rejoined without its member id: it takes a new one, the
/// old one is fenced. A Stable group whose chosen protocol does not change
/// answers at once, without a rebalance.
fn replace_static_member(
    group: &mut ClassicGroup,
    req: &JoinGroupRequest,
    old_member_id: &str,
    new_member_id: &str,
    ctx: &mut Ctx,
) {
    let Some(instance) = req.group_instance_id.as_deref() else {
        return;
    };
    let leader_before = group.leader.clone().unwrap_or_default();
    let Some(old) = group.replace_static_member(instance, old_member_id, new_member_id) else {
        return;
    };
    let fenced = CoordinatorError::FencedInstanceId {
        group_id: group.group_id.clone(),
        group_instance_id: instance.to_owned(),
        member_id: old_member_id.to_owned(),
        owner: new_member_id.to_owned(),
    };
    if let Some(request) = old.awaiting_join {
        let response = JoinGroupResponse::error(old_member_id, fenced.clone());
        ctx.respond(request, Response::JoinGroup(response));
    }
    if let Some(request) = old.awaiting_sync {
        let response = crate::decision::SyncGroupResponse::error(fenced);
        ctx.respond(request, Response::SyncGroup(response));
    }
    ctx.cancel(&heartbeat_key(group, old_member_id));
    reschedule_heartbeat(group, new_member_id, u64::from(old.session_timeout_ms), ctx);
    update_member(group, new_member_id, req, ctx);

    match group.state {
        GroupState::Stable => {
            if group.select_protocol() != group.protocol_name {
                return maybe_prepare_rebalance_or_complete_join(group, ctx);
            }
            ctx.persist(Record::GroupMetadata(group.metadata_record()));
            let is_leader = group.is_leader(new_member_id);
            let mut response = current_generation(group, new_member_id, false);
            if req.supports_skip_assignment {
                // The leader learns the members but keeps the current assignment.
                if is_leader {
                    response.members = group.join_members();
                }
                response.skip_assignment = is_leader;
            } else {
                // Older clients must not compute an assignment: name the old leader.
                response.leader = leader_before;
            }
            if let Some(member) = group.members.get_mut(new_member_id) {
                member.awaiting_join = None;
            }
            ctx.respond(req.request, Response::JoinGroup(response));
        }
        // The leader may already hold the old member id in its assignment.
        GroupState::CompletingRebalance => prepare_rebalance(group, ctx),
        GroupState::PreparingRebalance => maybe_complete_join_phase(group, ctx),
        GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {}
    }
}
