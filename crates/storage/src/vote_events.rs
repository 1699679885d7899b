//! What a saved Raft vote says happened, for the Raft metrics
//! (`cairn_raft_elections_started_total` and friends): openraft saves its
//! vote when it stands for election (a vote for itself in a higher term),
//! when it wins (the same vote, committed), and when it follows another
//! node's election or leader. Comparing a vote with the one saved before
//! tells the three apart exactly, without a clock or a sampling interval.

use openraft::Vote;

/// What one saved vote means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VoteEvents {
    /// The replica moved to a higher term.
    pub term_changed: bool,
    /// This node stood for election.
    pub election_started: bool,
    /// This node won an election.
    pub election_won: bool,
}

/// The events of saving `after` over `before` on node `me` (`None`: a
/// store that does not know its node counts only term changes).
pub fn classify(me: Option<u64>, before: Option<&Vote<u64>>, after: &Vote<u64>) -> VoteEvents {
    if before == Some(after) {
        return VoteEvents::default();
    }
    let term_before = before.map(|v| v.leader_id.term);
    let mine = me == Some(after.leader_id.node_id);
    let same_vote = before.is_some_and(|b| b.leader_id == after.leader_id);
    VoteEvents {
        term_changed: term_before.is_none_or(|t| after.leader_id.term > t),
        election_started: mine && !after.committed && !same_vote,
        election_won: mine && after.committed && before.is_none_or(|b| !b.committed || !same_vote),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(term: u64, node: u64, committed: bool) -> Vote<u64> {
        if committed {
            Vote::new_committed(term, node)
        } else {
            Vote::new(term, node)
        }
    }

    fn events(term_changed: bool, election_started: bool, election_won: bool) -> VoteEvents {
        VoteEvents {
            term_changed,
            election_started,
            election_won,
        }
    }

    #[test]
    fn a_vote_for_itself_in_a_new_term_starts_an_election() {
        let before = vote(3, 2, true);
        assert_eq!(
            classify(Some(1), Some(&before), &vote(4, 1, false)),
            events(true, true, false)
        );
    }

    #[test]
    fn committing_its_own_vote_wins_the_election() {
        let standing = vote(4, 1, false);
        assert_eq!(
            classify(Some(1), Some(&standing), &vote(4, 1, true)),
            events(false, false, true)
        );
        // A single-voter group votes and wins at once.
        assert_eq!(
            classify(Some(1), None, &vote(1, 1, true)),
            events(true, false, true)
        );
    }

    #[test]
    fn following_another_node_is_a_term_change_only() {
        let mine = vote(4, 1, false);
        assert_eq!(
            classify(Some(1), Some(&mine), &vote(5, 3, false)),
            events(true, false, false)
        );
        assert_eq!(
            classify(Some(1), Some(&vote(5, 3, false)), &vote(5, 3, true)),
            events(false, false, false)
        );
        // A new leader in the same term it was elected in, seen by a node
        // that had voted for nobody yet.
        assert_eq!(
            classify(Some(2), None, &vote(5, 3, true)),
            events(true, false, false)
        );
    }

    #[test]
    fn saving_the_same_vote_again_counts_nothing() {
        let v = vote(4, 1, true);
        assert_eq!(classify(Some(1), Some(&v), &v), VoteEvents::default());
    }

    #[test]
    fn a_store_without_its_node_counts_term_changes_only() {
        assert_eq!(
            classify(None, Some(&vote(1, 1, true)), &vote(2, 1, false)),
            events(true, false, false)
        );
    }
}
