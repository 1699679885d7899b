//! The rebalance machinery shared by requests and timers: starting a
//! rebalance, ending the join phase, handing out the assignment, and removing
//! members whose session, join window or sync window ran out.
//!
//! ```text
//! Empty               ── a member joins ─────────────────────────► PreparingRebalance
//! PreparingRebalance  ── all rejoined, or the join timer fires ──► CompletingRebalance
//!                                                       (or Empty if nobody is left)
//! CompletingRebalance ── the leader's SyncGroup ─────────────────► Stable
//! CompletingRebalance ── new metadata, leave, expiry, no sync ───► PreparingRebalance
//! Stable              ── new metadata, leader rejoins, leave,
//!                        expiry, a member never syncs ───────────► PreparingRebalance
//! ```

use crate::coordinator::Ctx;
use crate::decision::{JoinGroupResponse, Record, Response, SyncGroupResponse};
use crate::error::CoordinatorError;
use crate::group::{ClassicGroup, GroupState, InitialDelay};
use crate::timer::TimerKey;

fn join_key(group: &ClassicGroup) -> TimerKey {
    TimerKey::Join {
        group_id: group.group_id.clone(),
    }
}

fn sync_key(group: &ClassicGroup) -> TimerKey {
    TimerKey::Sync {
        group_id: group.group_id.clone(),
    }
}

pub(crate) fn heartbeat_key(group: &ClassicGroup, member_id: &str) -> TimerKey {
    TimerKey::Heartbeat {
        group_id: group.group_id.clone(),
        member_id: member_id.to_owned(),
    }
}

/// Restarts a member's session: it must be heard from within `timeout_ms`.
pub(crate) fn reschedule_heartbeat(
    group: &ClassicGroup,
    member_id: &str,
    timeout_ms: u64,
    ctx: &mut Ctx,
) {
    ctx.schedule(heartbeat_key(group, member_id), timeout_ms);
}

/// Restarts a member's session with its own session timeout.
pub(crate) fn reschedule_session(group: &ClassicGroup, member_id: &str, ctx: &mut Ctx) {
    if let Some(member) = group.members.get(member_id) {
        let timeout = u64::from(member.session_timeout_ms);
        reschedule_heartbeat(group, member_id, timeout, ctx);
    }
}

/// Starts a rebalance if the state allows one, else tries to end the join phase.
pub(crate) fn maybe_prepare_rebalance_or_complete_join(group: &mut ClassicGroup, ctx: &mut Ctx) {
    if group.can_rebalance() {
        prepare_rebalance(group, ctx);
    } else {
        maybe_complete_join_phase(group, ctx);
    }
}

/// Moves the group to PreparingRebalance. Parked SyncGroups are answered
/// REBALANCE_IN_PROGRESS. The first rebalance of an Empty group waits
/// `group.initial.rebalance.delay.ms`; any other ends as soon as every member
/// rejoined, or at the rebalance timeout.
pub(crate) fn prepare_rebalance(group: &mut ClassicGroup, ctx: &mut Ctx) {
    if group.state == GroupState::CompletingRebalance {
        let error = group.rebalance_in_progress();
        reset_and_propagate_error(group, error, ctx);
    }
    remove_sync_expiration(group, ctx);
    let initial = group.state == GroupState::Empty;
    if initial {
        let delay_ms = u64::from(ctx.config.group_initial_rebalance_delay_ms);
        group.initial_delay = Some(InitialDelay {
            delay_ms,
            remaining_ms: group.rebalance_timeout_ms().saturating_sub(delay_ms),
        });
        group.new_member_added = false;
        ctx.schedule(join_key(group), delay_ms);
    } else {
        group.initial_delay = None;
    }
    group.transition_to(GroupState::PreparingRebalance, ctx.now);
    if !initial {
        if group.has_all_members_joined() {
            complete_join(group, ctx);
        } else {
            let timeout = group.rebalance_timeout_ms();
            ctx.schedule(join_key(group), timeout);
        }
    }
}

/// Ends the join phase early if every member rejoined (never during the
/// initial delay, which only its timer ends).
pub(crate) fn maybe_complete_join_phase(group: &mut ClassicGroup, ctx: &mut Ctx) {
    if group.state == GroupState::PreparingRebalance
        && group.previous_state != GroupState::Empty
        && group.has_all_members_joined()
    {
        complete_join(group, ctx);
    }
}

/// The join timer fired: extend the initial delay if a member joined during
/// it and rebalance timeout is left, else end the join phase.
pub(crate) fn on_join_timer(group: &mut ClassicGroup, ctx: &mut Ctx) {
    if group.state != GroupState::PreparingRebalance {
        return;
    }
    if let Some(InitialDelay {
        delay_ms,
        remaining_ms,
    }) = group.initial_delay
    {
        if group.new_member_added && remaining_ms != 0 {
            group.new_member_added = false;
            let configured = u64::from(ctx.config.group_initial_rebalance_delay_ms);
            let next_delay = configured.min(remaining_ms);
            group.initial_delay = Some(InitialDelay {
                delay_ms: next_delay,
                remaining_ms: remaining_ms.saturating_sub(delay_ms),
            });
            ctx.schedule(join_key(group), next_delay);
            return;
        }
    }
    complete_join(group, ctx);
}

/// Ends the join phase: dynamic members that did not rejoin are dropped, the
/// leader is kept or re-elected among those who rejoined, the generation
/// advances, and every parked JoinGroup is answered (the leader's with the
/// member list). With nobody left the group becomes Empty.
pub(crate) fn complete_join(group: &mut ClassicGroup, ctx: &mut Ctx) {
    ctx.cancel(&join_key(group));
    group.initial_delay = None;
    group.new_member_added = false;
    let not_rejoined: Vec<String> = group
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none() && !m.is_static())
        .map(|m| m.member_id.clone())
        .collect();
    for member_id in &not_rejoined {
        remove_member(group, member_id, ctx);
    }
    if !group.maybe_elect_new_joined_leader() && !group.members.is_empty() {
        // Only static members that did not rejoin are left: wait another
        // rebalance timeout for them (at least 1 ms, so time moves on).
        let timeout = group.rebalance_timeout_ms().max(1);
        ctx.schedule(join_key(group), timeout);
        return;
    }
    init_next_generation(group, ctx);
    if group.state == GroupState::Empty {
        ctx.persist(Record::GroupMetadata(group.metadata_record()));
        return;
    }
    let member_ids: Vec<String> = group.members.keys().cloned().collect();
    for member_id in &member_ids {
        let is_leader = group.is_leader(member_id);
        let response = JoinGroupResponse {
            error: None,
            generation_id: group.generation_id,
            protocol_type: group.protocol_type.clone(),
            protocol_name: group.protocol_name.clone(),
            leader: group.leader.clone().unwrap_or_default(),
            skip_assignment: false,
            member_id: member_id.clone(),
            members: if is_leader {
                group.join_members()
            } else {
                Vec::new()
            },
        };
        if let Some(member) = group.members.get_mut(member_id) {
            member.is_new = false;
            if let Some(request) = member.awaiting_join.take() {
                ctx.respond(request, Response::JoinGroup(response));
            }
        }
        reschedule_session(group, member_id, ctx);
        group.pending_sync_members.insert(member_id.clone());
    }
    let timeout = group.rebalance_timeout_ms();
    ctx.schedule(sync_key(group), timeout);
}

fn init_next_generation(group: &mut ClassicGroup, ctx: &mut Ctx) {
    group.generation_id += 1;
    if group.members.is_empty() {
        group.protocol_name = None;
        group.subscribed_topics = group.compute_subscribed_topics();
        group.transition_to(GroupState::Empty, ctx.now);
    } else {
        group.protocol_name = group.select_protocol();
        group.subscribed_topics = group.compute_subscribed_topics();
        group.transition_to(GroupState::CompletingRebalance, ctx.now);
    }
    group.pending_sync_members.clear();
}

/// Clears every assignment and answers parked SyncGroups with `error`.
fn reset_and_propagate_error(group: &mut ClassicGroup, error: CoordinatorError, ctx: &mut Ctx) {
    for member in group.members.values_mut() {
        member.assignment.clear();
    }
    propagate_assignment(group, Some(error), ctx);
}

/// Answers every parked SyncGroup with the member's assignment (or `error`)
/// and restarts the session of each member answered.
pub(crate) fn propagate_assignment(
    group: &mut ClassicGroup,
    error: Option<CoordinatorError>,
    ctx: &mut Ctx,
) {
    let member_ids: Vec<String> = group.members.keys().cloned().collect();
    for member_id in &member_ids {
        let Some(member) = group.members.get_mut(member_id) else {
            continue;
        };
        let Some(request) = member.awaiting_sync.take() else {
            continue;
        };
        let response = match &error {
            Some(error) => SyncGroupResponse::error(error.clone()),
            None => SyncGroupResponse {
                error: None,
                protocol_type: group.protocol_type.clone(),
                protocol_name: group.protocol_name.clone(),
                assignment: member.assignment.clone(),
            },
        };
        ctx.respond(request, Response::SyncGroup(response));
        reschedule_session(group, member_id, ctx);
    }
}

fn remove_sync_expiration(group: &mut ClassicGroup, ctx: &mut Ctx) {
    group.pending_sync_members.clear();
    ctx.cancel(&sync_key(group));
}

/// Removes a member and its session timer. Its parked requests are answered
/// UNKNOWN_MEMBER_ID, so that a client still waiting rejoins.
pub(crate) fn remove_member(group: &mut ClassicGroup, member_id: &str, ctx: &mut Ctx) {
    ctx.cancel(&heartbeat_key(group, member_id));
    let error = group.unknown_member(member_id);
    if let Some(member) = group.remove_member(member_id) {
        if let Some(request) = member.awaiting_join {
            let response = JoinGroupResponse::error("", error.clone());
            ctx.respond(request, Response::JoinGroup(response));
        }
        if let Some(request) = member.awaiting_sync {
            ctx.respond(
                request,
                Response::SyncGroup(SyncGroupResponse::error(error)),
            );
        }
    }
}

/// Why members were removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// They sent LeaveGroup.
    Left,
    /// Their session ran out.
    Expired,
}

/// After members left or expired: rebalance a Stable or CompletingRebalance
/// group; end the join phase of a PreparingRebalance group if nobody else is awaited.
pub(crate) fn after_members_removed(group: &mut ClassicGroup, ctx: &mut Ctx, why: Removal) {
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance => {
            maybe_prepare_rebalance_or_complete_join(group, ctx)
        }
        // A LeaveGroup respects the initial delay; an expiry does not (as in Kafka).
        GroupState::PreparingRebalance if why == Removal::Left => {
            maybe_complete_join_phase(group, ctx)
        }
        GroupState::PreparingRebalance if group.has_all_members_joined() => {
            complete_join(group, ctx)
        }
        _ => {}
    }
}

/// A member's session timer fired: a pending member is dropped; a member is
/// dropped unless it is waiting on the coordinator (parked join or sync).
pub(crate) fn expire_heartbeat(group: &mut ClassicGroup, member_id: &str, ctx: &mut Ctx) {
    if group.is_pending(member_id) {
        group.remove_member(member_id);
        if group.state == GroupState::PreparingRebalance && group.has_all_members_joined() {
            complete_join(group, ctx);
        }
        return;
    }
    let Some(member) = group.members.get(member_id) else {
        return;
    };
    if !member.has_satisfied_heartbeat() {
        remove_member(group, member_id, ctx);
        after_members_removed(group, ctx, Removal::Expired);
    }
}

/// The sync timer fired: members that have not sent SyncGroup are removed
/// and the group rebalances.
pub(crate) fn expire_pending_sync(group: &mut ClassicGroup, ctx: &mut Ctx) {
    if !matches!(
        group.state,
        GroupState::CompletingRebalance | GroupState::Stable
    ) || group.pending_sync_members.is_empty()
    {
        return;
    }
    let pending: Vec<String> = group.pending_sync_members.iter().cloned().collect();
    for member_id in &pending {
        remove_member(group, member_id, ctx);
    }
    prepare_rebalance(group, ctx);
}

/// Drops `member_id` from the members that still owe a SyncGroup, and
/// disarms the sync timer once nobody does.
pub(crate) fn remove_pending_sync_member(group: &mut ClassicGroup, member_id: &str, ctx: &mut Ctx) {
    group.pending_sync_members.remove(member_id);
    if group.pending_sync_members.is_empty() {
        ctx.cancel(&sync_key(group));
    }
}
