//! Replica placement: which brokers host each partition of a new topic.
//!
//! Pure and deterministic given its inputs (the caller injects `start`, the
//! randomized starting broker, like Kafka's `AdminUtils`). Properties:
//! - every partition gets `replication_factor` distinct brokers;
//! - the first replica (the preferred leader) walks the broker list, so
//!   preferred leaders are spread evenly (counts differ by at most one);
//! - followers are shifted by a per-round offset, so a broker's replicas are
//!   spread over many peers rather than always the same neighbours;
//! - when brokers have racks, the list is interleaved by rack and followers on
//!   racks already used are skipped while unused racks remain, so each
//!   partition spans `min(replication_factor, racks)` racks.

use std::collections::{BTreeMap, BTreeSet};

/// A broker that may receive replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Broker id.
    pub id: u64,
    /// Rack, if the broker declared one.
    pub rack: Option<String>,
}

/// Why no placement exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// Fewer live brokers than the replication factor.
    #[error("replication factor {replication_factor} is larger than the {available} live brokers")]
    NotEnoughBrokers {
        replication_factor: u32,
        available: usize,
    },
    /// Replication factor 0.
    #[error("replication factor must be at least 1")]
    ZeroReplicationFactor,
    /// Zero partitions.
    #[error("partition count must be at least 1")]
    ZeroPartitions,
}

/// Orders brokers by id, interleaving racks (r1, r2, r3, r1, r2, ...) when any broker has one.
fn rack_alternated(candidates: &[Candidate]) -> Vec<&Candidate> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by_key(|c| c.id);
    if sorted.iter().all(|c| c.rack.is_none()) {
        return sorted;
    }
    let mut by_rack: BTreeMap<Option<&str>, Vec<&Candidate>> = BTreeMap::new();
    for c in sorted {
        by_rack.entry(c.rack.as_deref()).or_default().push(c);
    }
    let mut out = Vec::new();
    let longest = by_rack.values().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for brokers in by_rack.values() {
            if let Some(c) = brokers.get(i) {
                out.push(*c);
            }
        }
    }
    out
}

/// Assigns `partitions` partitions with `replication_factor` replicas each.
/// `start` picks the first preferred leader (any value; taken modulo the broker count).
pub fn assign_replicas(
    candidates: &[Candidate],
    partitions: u32,
    replication_factor: u32,
    start: usize,
) -> Result<Vec<Vec<u64>>, PlacementError> {
    if replication_factor == 0 {
        return Err(PlacementError::ZeroReplicationFactor);
    }
    if partitions == 0 {
        return Err(PlacementError::ZeroPartitions);
    }
    let brokers = rack_alternated(candidates);
    let n = brokers.len();
    let rf = replication_factor as usize;
    if rf > n {
        return Err(PlacementError::NotEnoughBrokers {
            replication_factor,
            available: n,
        });
    }
    let rack_count = brokers
        .iter()
        .map(|b| b.rack.as_deref())
        .collect::<BTreeSet<_>>()
        .len();
    let mut assignment = Vec::with_capacity(partitions as usize);
    for p in 0..partitions as usize {
        let leader = (start + p) % n;
        let mut replicas = vec![brokers[leader].id];
        if n > 1 {
            let shift = p / n;
            // Followers in shifted order; every offset in 1..n appears once.
            let order: Vec<usize> = (0..n - 1)
                .map(|k| (leader + 1 + (shift + k) % (n - 1)) % n)
                .collect();
            let mut used_racks: BTreeSet<Option<&str>> =
                BTreeSet::from([brokers[leader].rack.as_deref()]);
            let mut chosen: BTreeSet<usize> = BTreeSet::from([leader]);
            // First pass prefers racks not used yet; second fills up in order.
            for prefer_new_rack in [true, false] {
                for &i in &order {
                    if replicas.len() == rf {
                        break;
                    }
                    let rack = brokers[i].rack.as_deref();
                    let new_rack = !used_racks.contains(&rack) || used_racks.len() >= rack_count;
                    if chosen.contains(&i) || (prefer_new_rack && !new_rack) {
                        continue;
                    }
                    chosen.insert(i);
                    used_racks.insert(rack);
                    replicas.push(brokers[i].id);
                }
            }
        }
        assignment.push(replicas);
    }
    Ok(assignment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(ids: &[u64]) -> Vec<Candidate> {
        ids.iter().map(|&id| Candidate { id, rack: None }).collect()
    }

    fn racked(spec: &[(u64, &str)]) -> Vec<Candidate> {
        spec.iter()
            .map(|&(id, rack)| Candidate {
                id,
                rack: Some(rack.to_string()),
            })
            .collect()
    }

    #[test]
    fn replicas_are_distinct_and_complete() {
        for n in 1..=7u64 {
            let ids: Vec<u64> = (1..=n).collect();
            for rf in 1..=n as u32 {
                for start in 0..n as usize {
                    let a = assign_replicas(&brokers(&ids), 24, rf, start).unwrap();
                    assert_eq!(a.len(), 24);
                    for replicas in &a {
                        assert_eq!(replicas.len(), rf as usize);
                        let distinct: BTreeSet<_> = replicas.iter().collect();
                        assert_eq!(
                            distinct.len(),
                            rf as usize,
                            "duplicate replica in {replicas:?}"
                        );
                        assert!(replicas.iter().all(|r| ids.contains(r)));
                    }
                }
            }
        }
    }

    #[test]
    fn preferred_leaders_are_balanced() {
        let a = assign_replicas(&brokers(&[1, 2, 3, 4, 5]), 13, 3, 2).unwrap();
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for replicas in &a {
            *counts.entry(replicas[0]).or_default() += 1;
        }
        let (min, max) = (
            counts.values().min().unwrap(),
            counts.values().max().unwrap(),
        );
        assert_eq!(counts.len(), 5);
        assert!(max - min <= 1, "leader counts {counts:?}");
    }

    #[test]
    fn total_replicas_are_balanced() {
        let a = assign_replicas(&brokers(&[1, 2, 3, 4]), 12, 3, 0).unwrap();
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for r in a.iter().flatten() {
            *counts.entry(*r).or_default() += 1;
        }
        assert!(
            counts.values().all(|&c| c == 9),
            "replica counts {counts:?}"
        );
    }

    #[test]
    fn start_rotates_the_first_leader() {
        let ids = brokers(&[10, 20, 30]);
        assert_eq!(assign_replicas(&ids, 1, 1, 0).unwrap(), vec![vec![10]]);
        assert_eq!(assign_replicas(&ids, 1, 1, 4).unwrap(), vec![vec![20]]);
    }

    #[test]
    fn replicas_span_racks() {
        let c = racked(&[(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")]);
        let by_id: BTreeMap<u64, &str> =
            [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")].into();
        for start in 0..6 {
            for replicas in assign_replicas(&c, 30, 3, start).unwrap() {
                let racks: BTreeSet<_> = replicas.iter().map(|r| by_id[r]).collect();
                assert_eq!(
                    racks.len(),
                    3,
                    "partition {replicas:?} does not span 3 racks"
                );
            }
        }
        // Two racks, RF 3: both racks are used and replicas stay distinct.
        let c = racked(&[(1, "a"), (2, "a"), (3, "b"), (4, "b")]);
        for replicas in assign_replicas(&c, 8, 3, 1).unwrap() {
            let racks: BTreeSet<_> = replicas
                .iter()
                .map(|r| if *r <= 2 { "a" } else { "b" })
                .collect();
            assert_eq!(racks.len(), 2);
            assert_eq!(replicas.iter().collect::<BTreeSet<_>>().len(), 3);
        }
    }

    #[test]
    fn rejects_impossible_requests() {
        assert_eq!(
            assign_replicas(&brokers(&[1, 2]), 3, 3, 0),
            Err(PlacementError::NotEnoughBrokers {
                replication_factor: 3,
                available: 2
            })
        );
        assert_eq!(
            assign_replicas(&brokers(&[1]), 1, 0, 0),
            Err(PlacementError::ZeroReplicationFactor)
        );
        assert_eq!(
            assign_replicas(&brokers(&[1]), 0, 1, 0),
            Err(PlacementError::ZeroPartitions)
        );
        assert!(matches!(
            assign_replicas(&[], 1, 1, 0),
            Err(PlacementError::NotEnoughBrokers { .. })
        ));
    }
}
