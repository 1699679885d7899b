//! Leader balancing: whether a partition's leadership should go back to its
//! preferred replica (the first of its replicas), and which partitions the
//! controller's periodic check moves. Kafka's rules, as its controller
//! applied them with `auto.leader.rebalance.enable`:
//!
//! - a broker's *imbalance* is the share of the partitions it is preferred
//!   for that another broker leads (partitions with no known leader do not
//!   count);
//! - the check moves the partitions of every broker whose imbalance exceeds
//!   `leader.imbalance.per.broker.percentage`, each only when its preferred
//!   replica is live and in sync.
//!
//! The caller knows the leaders and ISRs (from dissemination) and carries
//! the moves out (leadership transfers, a bounded number at once).

use std::collections::{BTreeMap, BTreeSet};

use cairn_common::GroupId;

/// A partition as the balancer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leadership {
    /// The partition's Raft group.
    pub group: GroupId,
    /// Its replicas in assignment order; the first is the preferred leader.
    pub replicas: Vec<u64>,
    /// Its leader as last reported, if known.
    pub leader: Option<u64>,
    /// Its in-sync replicas as the leader last reported them.
    pub isr: Vec<u64>,
}

/// What a preferred-leader election does for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preferred {
    /// The preferred replica leads already (Kafka's ELECTION_NOT_NEEDED).
    AlreadyLeads,
    /// Leadership moves from the current leader to the preferred replica.
    Move {
        /// The current leader.
        from: u64,
        /// The preferred replica.
        to: u64,
    },
    /// The preferred replica cannot take over now, and why
    /// (PREFERRED_LEADER_NOT_AVAILABLE).
    NotAvailable(String),
}

/// Whether and how `p`'s preferred replica can take its leadership back;
/// `live` are the brokers that are registered, unfenced and heard from.
pub fn preferred_election(p: &Leadership, live: &BTreeSet<u64>) -> Preferred {
    let Some(&preferred) = p.replicas.first() else {
        return Preferred::NotAvailable("the partition has no replicas".into());
    };
    match p.leader {
        Some(leader) if leader == preferred => Preferred::AlreadyLeads,
        None => Preferred::NotAvailable(
            "the partition has no leader now; its replicas are electing one".into(),
        ),
        Some(_) if !live.contains(&preferred) => {
            Preferred::NotAvailable(format!("preferred replica {preferred} is not live"))
        }
        Some(_) if !p.isr.contains(&preferred) => {
            Preferred::NotAvailable(format!("preferred replica {preferred} is not in sync"))
        }
        Some(from) => Preferred::Move {
            from,
            to: preferred,
        },
    }
}

/// Per broker: how many partitions it is the preferred leader of (with a
/// known leader), and how many of those another broker leads.
pub fn imbalance(partitions: &[Leadership]) -> BTreeMap<u64, (usize, usize)> {
    let mut per_broker: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for p in partitions {
        let (Some(&preferred), Some(leader)) = (p.replicas.first(), p.leader) else {
            continue;
        };
        let entry = per_broker.entry(preferred).or_default();
        entry.0 += 1;
        if leader != preferred {
            entry.1 += 1;
        }
    }
    per_broker
}

/// The moves of one periodic check: for every broker whose imbalance is
/// above `percentage` percent, each of its partitions that another broker
/// leads and that it can take back, as (group, from, to), by group.
pub fn rebalance_plan(
    partitions: &[Leadership],
    live: &BTreeSet<u64>,
    percentage: u32,
) -> Vec<(GroupId, u64, u64)> {
    let over: BTreeSet<u64> = imbalance(partitions)
        .into_iter()
        .filter(|(_, (preferred, elsewhere))| {
            // elsewhere / preferred > percentage / 100, in integers.
            *elsewhere as u64 * 100 > u64::from(percentage) * *preferred as u64
        })
        .map(|(broker, _)| broker)
        .collect();
    let mut moves: Vec<(GroupId, u64, u64)> = partitions
        .iter()
        .filter(|p| p.replicas.first().is_some_and(|b| over.contains(b)))
        .filter_map(|p| match preferred_election(p, live) {
            Preferred::Move { from, to } => Some((p.group, from, to)),
            _ => None,
        })
        .collect();
    moves.sort_unstable();
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(group: GroupId, replicas: &[u64], leader: Option<u64>, isr: &[u64]) -> Leadership {
        Leadership {
            group,
            replicas: replicas.to_vec(),
            leader,
            isr: isr.to_vec(),
        }
    }

    #[test]
    fn the_preferred_replica_takes_over_only_when_live_and_in_sync() {
        let live = BTreeSet::from([1, 2, 3]);
        assert_eq!(
            preferred_election(&p(1, &[1, 2, 3], Some(1), &[1, 2, 3]), &live),
            Preferred::AlreadyLeads
        );
        assert_eq!(
            preferred_election(&p(1, &[1, 2, 3], Some(2), &[1, 2, 3]), &live),
            Preferred::Move { from: 2, to: 1 }
        );
        let lagging = preferred_election(&p(1, &[1, 2, 3], Some(2), &[2, 3]), &live);
        assert!(matches!(&lagging, Preferred::NotAvailable(m) if m.contains("not in sync")));
        let dead = preferred_election(&p(1, &[4, 2, 3], Some(2), &[4, 2, 3]), &live);
        assert!(matches!(&dead, Preferred::NotAvailable(m) if m.contains("4 is not live")));
        assert!(matches!(
            preferred_election(&p(1, &[1, 2, 3], None, &[]), &live),
            Preferred::NotAvailable(_)
        ));
        assert!(matches!(
            preferred_election(&p(1, &[], Some(1), &[1]), &live),
            Preferred::NotAvailable(_)
        ));
    }

    #[test]
    fn imbalance_counts_partitions_led_away_from_their_preferred_broker() {
        let parts = [
            p(1, &[1, 2], Some(1), &[1, 2]),
            p(2, &[1, 2], Some(2), &[1, 2]),
            p(3, &[2, 1], Some(2), &[1, 2]),
            // Unknown leader: not counted.
            p(4, &[1, 2], None, &[]),
        ];
        assert_eq!(
            imbalance(&parts),
            BTreeMap::from([(1, (2, 1)), (2, (1, 0))])
        );
    }

    #[test]
    fn only_brokers_above_the_threshold_get_their_partitions_back() {
        let live = BTreeSet::from([1, 2, 3]);
        // Broker 1 is preferred for 10 partitions; 2 is preferred for 10.
        let mut parts = Vec::new();
        for g in 0..10 {
            // Broker 2 leads one of broker 1's partitions: 10 %, not above 10 %.
            let leader = if g == 0 { 2 } else { 1 };
            parts.push(p(g, &[1, 2, 3], Some(leader), &[1, 2, 3]));
        }
        for g in 10..20 {
            // Broker 3 leads two of broker 2's: 20 %.
            let leader = if g < 12 { 3 } else { 2 };
            parts.push(p(g, &[2, 3, 1], Some(leader), &[1, 2, 3]));
        }
        assert_eq!(
            rebalance_plan(&parts, &live, 10),
            vec![(10, 3, 2), (11, 3, 2)]
        );
        // At 0 % every misplaced partition moves.
        assert_eq!(
            rebalance_plan(&parts, &live, 0),
            vec![(0, 2, 1), (10, 3, 2), (11, 3, 2)]
        );
        // A preferred replica out of sync keeps its partition where it is.
        parts[10].isr = vec![1, 3];
        assert_eq!(rebalance_plan(&parts, &live, 10), vec![(11, 3, 2)]);
    }

    #[test]
    fn a_restarted_broker_gets_all_its_leaderships_back() {
        // After broker 1 restarted, 2 and 3 lead everything.
        let parts: Vec<Leadership> = (0..6)
            .map(|g| {
                let replicas = [[1, 2, 3], [2, 3, 1], [3, 1, 2]][g as usize % 3];
                let leader = if replicas[0] == 1 { 2 } else { replicas[0] };
                p(g, &replicas, Some(leader), &[1, 2, 3])
            })
            .collect();
        let live = BTreeSet::from([1, 2, 3]);
        assert_eq!(
            rebalance_plan(&parts, &live, 10),
            vec![(0, 2, 1), (3, 2, 1)]
        );
        // Not while it is down.
        assert!(rebalance_plan(&parts, &BTreeSet::from([2, 3]), 10).is_empty());
    }
}
