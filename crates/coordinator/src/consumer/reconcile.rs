//! Reconciliation: moving one member from the partitions it owns toward its
//! target assignment without ever letting two members own a partition
//! (Kafka's `CurrentAssignmentBuilder`).
//!
//! The rules, for a member at epoch `e` and a target at epoch `t`:
//! - A partition the member owns but the target no longer gives it is
//!   *pending revocation*: the member keeps epoch `e` until a heartbeat lists
//!   its owned partitions without it (the client's acknowledgement). Only
//!   then does the coordinator forget that the member owns it.
//! - A partition the target gives the member but another member still owns
//!   is *unreleased*: the member moves to epoch `t` without it and receives
//!   it on a later heartbeat, after its owner gave it up.
//! - Everything else moves at once: the member reaches epoch `t`.
//!
//! Since a partition changes owner only when its previous owner no longer
//! owns it, no partition is owned by two members at any epoch.

use super::assignment::{Assignment, TopicId};
use super::member::{ConsumerMember, MemberState};

/// The member after one reconciliation step toward `target` at
/// `target_epoch`. `owned` is what the member reported owning in this
/// heartbeat (`None`: it did not say); `owned_by_other(topic, partition)`
/// says whether another member still owns a partition.
pub(crate) fn reconcile(
    member: &ConsumerMember,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    owned_by_other: impl Fn(TopicId, i32) -> bool,
) -> ConsumerMember {
    let step = Step {
        member,
        target_epoch,
        target,
        owned,
        owned_by_other: &owned_by_other,
    };
    match member.state {
        MemberState::Stable if member.member_epoch == target_epoch => member.clone(),
        MemberState::Stable | MemberState::UnreleasedPartitions => {
            step.next(member.member_epoch, &member.assigned)
        }
        MemberState::UnrevokedPartitions => {
            if step.still_owns_any(&member.pending_revocation) {
                member.clone()
            } else {
                step.next(member.member_epoch + 1, &member.assigned)
            }
        }
    }
}

struct Step<'a> {
    member: &'a ConsumerMember,
    target_epoch: i32,
    target: &'a Assignment,
    owned: Option<&'a Assignment>,
    owned_by_other: &'a dyn Fn(TopicId, i32) -> bool,
}

impl Step<'_> {
    /// Whether the member may still own any of `partitions`: it said it does,
    /// or it said nothing.
    fn still_owns_any(&self, partitions: &Assignment) -> bool {
        self.owned.is_none_or(|owned| owned.overlaps(partitions))
    }

    /// The next state from `assigned` at `epoch`.
    fn next(&self, epoch: i32, assigned: &Assignment) -> ConsumerMember {
        let kept = assigned.intersection(self.target);
        let to_revoke = assigned.difference(&kept);
        let wanted = self.target.difference(&kept);
        let mut to_assign = Assignment::new();
        let mut unreleased = false;
        for (topic, partition) in wanted.iter() {
            if (self.owned_by_other)(topic, partition) {
                unreleased = true;
            } else {
                to_assign.insert(topic, partition);
            }
        }
        let mut next = self.member.clone();
        if !to_revoke.is_empty() && self.still_owns_any(&to_revoke) {
            next.state = MemberState::UnrevokedPartitions;
            next.set_epoch(epoch);
            next.assigned = kept;
            next.pending_revocation = to_revoke;
            return next;
        }
        next.state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
        next.set_epoch(self.target_epoch);
        next.assigned = kept.union(&to_assign);
        next.pending_revocation = Assignment::new();
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TopicId = 7;

    fn parts(ps: &[i32]) -> Assignment {
        Assignment::from_pairs([(T, ps.to_vec())])
    }

    fn member(epoch: i32, assigned: &[i32]) -> ConsumerMember {
        let mut m = ConsumerMember::new("m");
        m.member_epoch = epoch;
        m.assigned = parts(assigned);
        m
    }

    fn nobody_else(_: TopicId, _: i32) -> bool {
        false
    }

    #[test]
    fn a_reconciled_member_stays_as_it_is() {
        let m = member(3, &[0, 1]);
        assert_eq!(reconcile(&m, 3, &parts(&[0]), None, nobody_else), m);
    }

    #[test]
    fn new_free_partitions_are_given_at_the_target_epoch() {
        let m = member(3, &[0]);
        let next = reconcile(&m, 4, &parts(&[0, 1]), Some(&parts(&[0])), nobody_else);
        assert_eq!(next.state, MemberState::Stable);
        assert_eq!(next.member_epoch, 4);
        assert_eq!(next.previous_member_epoch, 3);
        assert_eq!(next.assigned, parts(&[0, 1]));
    }

    #[test]
    fn partitions_to_give_up_keep_the_epoch_until_the_member_no_longer_owns_them() {
        let m = member(3, &[0, 1]);
        let target = parts(&[0, 2]);
        let revoking = reconcile(&m, 4, &target, Some(&parts(&[0, 1])), nobody_else);
        assert_eq!(revoking.state, MemberState::UnrevokedPartitions);
        assert_eq!(revoking.member_epoch, 3);
        assert_eq!(revoking.assigned, parts(&[0]));
        assert_eq!(revoking.pending_revocation, parts(&[1]));
        // Still listed as owned, or not said: no progress.
        assert_eq!(
            reconcile(&revoking, 4, &target, Some(&parts(&[0, 1])), nobody_else),
            revoking
        );
        assert_eq!(
            reconcile(&revoking, 4, &target, None, nobody_else),
            revoking
        );
        // Acknowledged: the member moves on and gets the free partition.
        let done = reconcile(&revoking, 4, &target, Some(&parts(&[0])), nobody_else);
        assert_eq!(done.state, MemberState::Stable);
        assert_eq!(done.member_epoch, 4);
        assert_eq!(done.assigned, parts(&[0, 2]));
        assert!(done.pending_revocation.is_empty());
    }

    #[test]
    fn a_partition_another_member_owns_is_withheld_until_it_is_released() {
        let m = member(3, &[0]);
        let target = parts(&[0, 1]);
        let owned_by_b = |_: TopicId, p: i32| p == 1;
        let waiting = reconcile(&m, 4, &target, Some(&parts(&[0])), owned_by_b);
        assert_eq!(waiting.state, MemberState::UnreleasedPartitions);
        assert_eq!(waiting.member_epoch, 4);
        assert_eq!(waiting.assigned, parts(&[0]));
        let released = reconcile(&waiting, 4, &target, Some(&parts(&[0])), nobody_else);
        assert_eq!(released.state, MemberState::Stable);
        assert_eq!(released.assigned, parts(&[0, 1]));
    }

    #[test]
    fn a_revocation_the_member_already_did_is_not_asked_for() {
        let m = member(3, &[0, 1]);
        let next = reconcile(&m, 4, &parts(&[0]), Some(&parts(&[0])), nobody_else);
        assert_eq!(next.state, MemberState::Stable);
        assert_eq!(next.member_epoch, 4);
        assert_eq!(next.assigned, parts(&[0]));
    }

    #[test]
    fn after_a_revocation_a_newer_target_may_ask_for_another() {
        let mut m = member(3, &[0]);
        m.state = MemberState::UnrevokedPartitions;
        m.pending_revocation = parts(&[1]);
        // The target moved on: partition 0 must go too.
        let next = reconcile(&m, 6, &parts(&[2]), Some(&parts(&[0])), nobody_else);
        assert_eq!(next.state, MemberState::UnrevokedPartitions);
        assert_eq!(next.member_epoch, 4);
        assert_eq!(next.pending_revocation, parts(&[0]));
        assert!(next.assigned.is_empty());
    }
}
