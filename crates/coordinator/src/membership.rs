//! SyncGroup, Heartbeat and LeaveGroup: what a member does once it has joined.

use crate::coordinator::{Ctx, GroupCoordinator};
use crate::decision::{Decision, LeaveGroupResponse, Record, Response, SyncGroupResponse};
use crate::error::CoordinatorError;
use crate::event::{HeartbeatRequest, LeaveGroupRequest, SyncGroupRequest};
use crate::group::{ClassicGroup, GroupState};
use crate::rebalance::{
    self, after_members_removed, heartbeat_key, propagate_assignment, remove_pending_sync_member,
    reschedule_session, Removal,
};

impl GroupCoordinator {
    pub(crate) fn sync_group(&mut self, req: SyncGroupRequest, out: &mut Vec<Decision>) {
        let now = self.now;
        let Self {
            config,
            groups,
            timers,
            ..
        } = self;
        let mut ctx = Ctx::new(config, timers, out, now);
        let Some(group) = groups.get_mut(&req.group_id) else {
            let error = CoordinatorError::UnknownMemberId {
                group_id: req.group_id.clone(),
                member_id: req.member_id.clone(),
            };
            let response = Response::SyncGroup(SyncGroupResponse::error(error));
            return ctx.respond(req.request, response);
        };
        if let Err(error) = validate_sync(group, &req) {
            let response = Response::SyncGroup(SyncGroupResponse::error(error));
            return ctx.respond(req.request, response);
        }
        match group.state {
            GroupState::PreparingRebalance => {
                let error = group.rebalance_in_progress();
                let response = Response::SyncGroup(SyncGroupResponse::error(error));
                ctx.respond(req.request, response);
            }
            GroupState::CompletingRebalance => {
                park_sync(group, &req, &mut ctx);
                remove_pending_sync_member(group, &req.member_id, &mut ctx);
                if group.is_leader(&req.member_id) {
                    complete_sync(group, &req, &mut ctx);
                }
                ctx.park_unless_answered(req.request);
            }
            GroupState::Stable => {
                remove_pending_sync_member(group, &req.member_id, &mut ctx);
                let assignment = group
                    .members
                    .get(&req.member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                let response = SyncGroupResponse {
                    error: None,
                    protocol_type: group.protocol_type.clone(),
                    protocol_name: group.protocol_name.clone(),
                    assignment,
                };
                ctx.respond(req.request, Response::SyncGroup(response));
            }
            // validate_member refuses every member of an Empty group.
            GroupState::Empty
            | GroupState::Dead
            | GroupState::Assigning
            | GroupState::Reconciling => {
                let error = group.unknown_member(&req.member_id);
                let response = Response::SyncGroup(SyncGroupResponse::error(error));
                ctx.respond(req.request, response);
            }
        }
    }

    pub(crate) fn heartbeat(&mut self, req: HeartbeatRequest, out: &mut Vec<Decision>) {
        let now = self.now;
        let Self {
            config,
            groups,
            timers,
            ..
        } = self;
        let mut ctx = Ctx::new(config, timers, out, now);
        let result = match groups.get_mut(&req.group_id) {
            None => Err(CoordinatorError::UnknownMemberId {
                group_id: req.group_id.clone(),
                member_id: req.member_id.clone(),
            }),
            Some(group) => heartbeat_group(group, &req, &mut ctx),
        };
        ctx.respond(req.request, Response::Heartbeat(result.err()));
    }

    pub(crate) fn leave_group(&mut self, req: LeaveGroupRequest, out: &mut Vec<Decision>) {
        let now = self.now;
        let Self {
            config,
            groups,
            timers,
            ..
        } = self;
        let mut ctx = Ctx::new(config, timers, out, now);
        let Some(group) = groups.get_mut(&req.group_id) else {
            let error = CoordinatorError::UnknownMemberId {
                group_id: req.group_id.clone(),
                member_id: req
                    .members
                    .first()
                    .map(|m| m.member_id.clone())
                    .unwrap_or_default(),
            };
            let response = LeaveGroupResponse {
                error: Some(error),
                members: Vec::new(),
            };
            return ctx.respond(req.request, Response::LeaveGroup(response));
        };
        let mut results = Vec::with_capacity(req.members.len());
        let mut removed_any = false;
        for leaving in &req.members {
            let outcome = leave_one(
                group,
                &leaving.member_id,
                leaving.group_instance_id.as_deref(),
                &mut ctx,
            );
            removed_any |= outcome.is_ok();
            results.push((leaving.clone(), outcome.err()));
        }
        if removed_any {
            after_members_removed(group, &mut ctx, Removal::Left);
        }
        let response = LeaveGroupResponse {
            error: None,
            members: results,
        };
        ctx.respond(req.request, Response::LeaveGroup(response));
    }
}

/// Member, generation and (v5+) protocol checks of a SyncGroup.
fn validate_sync(group: &ClassicGroup, req: &SyncGroupRequest) -> Result<(), CoordinatorError> {
    group.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
    if req.generation_id != group.generation_id {
        return Err(group.illegal_generation(&req.member_id, req.generation_id));
    }
    let inconsistent = |asked: &Option<String>, actual: &Option<String>| matches!((asked, actual), (Some(a), Some(b)) if a != b);
    if inconsistent(&req.protocol_type, &group.protocol_type)
        || inconsistent(&req.protocol_name, &group.protocol_name)
    {
        return Err(CoordinatorError::InconsistentGroupProtocol {
            group_id: group.group_id.clone(),
            reason: format!(
                "SyncGroup expects protocol {:?}/{:?}, the group uses {:?}/{:?}",
                req.protocol_type, req.protocol_name, group.protocol_type, group.protocol_name
            ),
        });
    }
    Ok(())
}

/// Parks a SyncGroup on its member; a second one supersedes the first.
fn park_sync(group: &mut ClassicGroup, req: &SyncGroupRequest, ctx: &mut Ctx) {
    let group_id = group.group_id.clone();
    let Some(member) = group.members.get_mut(&req.member_id) else {
        return;
    };
    if let Some(old) = member.awaiting_sync.replace(req.request) {
        if old != req.request {
            let error = CoordinatorError::RebalanceInProgress { group_id };
            ctx.respond(old, Response::SyncGroup(SyncGroupResponse::error(error)));
        }
    }
}

/// The leader's SyncGroup: every member gets its assignment (empty if the
/// leader gave none), the generation is persisted, the group is Stable, and
/// every parked SyncGroup is answered.
fn complete_sync(group: &mut ClassicGroup, req: &SyncGroupRequest, ctx: &mut Ctx) {
    for member in group.members.values_mut() {
        member.assignment = req
            .assignments
            .iter()
            .find(|(member_id, _)| *member_id == member.member_id)
            .map(|(_, assignment)| assignment.clone())
            .unwrap_or_default();
    }
    group.transition_to(GroupState::Stable, ctx.now);
    ctx.persist(Record::GroupMetadata(group.metadata_record()));
    propagate_assignment(group, None, ctx);
}

fn heartbeat_group(
    group: &ClassicGroup,
    req: &HeartbeatRequest,
    ctx: &mut Ctx,
) -> Result<(), CoordinatorError> {
    group.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
    if req.generation_id != group.generation_id {
        return Err(group.illegal_generation(&req.member_id, req.generation_id));
    }
    match group.state {
        GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {
            Err(group.unknown_member(&req.member_id))
        }
        GroupState::PreparingRebalance => {
            reschedule_session(group, &req.member_id, ctx);
            Err(group.rebalance_in_progress())
        }
        // Members heartbeat as soon as they have their JoinGroup response.
        GroupState::CompletingRebalance | GroupState::Stable => {
            reschedule_session(group, &req.member_id, ctx);
            Ok(())
        }
    }
}

/// Removes one leaving member: by member id, by instance id alone (an
/// administrator removing a static member), or a pending member.
fn leave_one(
    group: &mut ClassicGroup,
    member_id: &str,
    group_instance_id: Option<&str>,
    ctx: &mut Ctx,
) -> Result<(), CoordinatorError> {
    if member_id.is_empty() {
        let owner = group_instance_id
            .and_then(|instance| group.static_member_id(instance))
            .map(str::to_owned)
            .ok_or_else(|| group.unknown_member(member_id))?;
        rebalance::remove_member(group, &owner, ctx);
        return Ok(());
    }
    if group.is_pending(member_id) {
        group.remove_member(member_id);
        ctx.cancel(&heartbeat_key(group, member_id));
        return Ok(());
    }
    group.validate_member(member_id, group_instance_id)?;
    rebalance::remove_member(group, member_id, ctx);
    Ok(())
}
