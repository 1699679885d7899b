//! Where replicas go when brokers leave or join: the replacement for a
//! replica of a broker being decommissioned ([`replacement`]), and the
//! moves that spread replicas evenly over the brokers, e.g. onto a new one
//! ([`spread`]). Pure; the controller turns the answers into replica moves.
//!
//! Both keep a partition's racks: a replica moves to a broker on a rack the
//! partition's other replicas do not use when there is one (or on the rack
//! it leaves), and a spreading move never lowers a partition's rack count.

use std::collections::{BTreeMap, BTreeSet};

use cairn_common::GroupId;

use crate::placement::Candidate;

/// Replicas per broker over `partitions` (every candidate appears, with 0
/// if it holds none).
pub fn load(partitions: &[(GroupId, Vec<u64>)], candidates: &[Candidate]) -> BTreeMap<u64, usize> {
    let mut load: BTreeMap<u64, usize> = candidates.iter().map(|c| (c.id, 0)).collect();
    for (_, replicas) in partitions {
        for r in replicas {
            *load.entry(*r).or_default() += 1;
        }
    }
    load
}

fn rack_of(candidates: &[Candidate], id: u64) -> Option<&str> {
    candidates
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.rack.as_deref())
}

/// Distinct racks of `replicas` (a broker without a rack, or unknown,
/// counts as its own).
fn racks(candidates: &[Candidate], replicas: &[u64]) -> usize {
    replicas
        .iter()
        .map(|r| rack_of(candidates, *r).map_or_else(|| format!("#{r}"), str::to_string))
        .collect::<BTreeSet<_>>()
        .len()
}

/// The broker to take `leaving`'s place in `replicas`: a candidate that is
/// not a replica yet, keeping the partition's rack count if any does, then
/// the least loaded, then the lowest id. `None` if no candidate is left.
pub fn replacement(
    candidates: &[Candidate],
    replicas: &[u64],
    leaving: u64,
    load: &BTreeMap<u64, usize>,
) -> Option<u64> {
    let before = racks(candidates, replicas);
    candidates
        .iter()
        .filter(|c| c.id != leaving && !replicas.contains(&c.id))
        .min_by_key(|c| {
            let after: Vec<u64> = replicas
                .iter()
                .map(|r| if *r == leaving { c.id } else { *r })
                .collect();
            let fewer_racks = racks(candidates, &after) < before;
            (fewer_racks, load.get(&c.id).copied().unwrap_or(0), c.id)
        })
        .map(|c| c.id)
}

/// `replicas` with `leaving` replaced by `by`, in the same position (so a
/// leaving preferred leader's place goes to its replacement).
pub fn replaced(replicas: &[u64], leaving: u64, by: u64) -> Vec<u64> {
    replicas
        .iter()
        .map(|r| if *r == leaving { by } else { *r })
        .collect()
}

/// Up to `max_moves` replica moves that even out the replicas per broker
/// over `candidates`: each takes a replica from the most loaded broker to
/// the least loaded, in a partition that does not have the latter and whose
/// rack count does not drop, until the counts differ by at most one (or no
/// such move exists). Returns each moved partition's new replica list, by
/// group; a partition moved twice appears once, with its final list.
pub fn spread(
    partitions: &[(GroupId, Vec<u64>)],
    candidates: &[Candidate],
    max_moves: usize,
) -> Vec<(GroupId, Vec<u64>)> {
    let mut current: BTreeMap<GroupId, Vec<u64>> = partitions.iter().cloned().collect();
    let mut load = load(partitions, candidates);
    let eligible: BTreeSet<u64> = candidates.iter().map(|c| c.id).collect();
    let mut moved: BTreeSet<GroupId> = BTreeSet::new();
    for _ in 0..max_moves {
        // A broker that is no candidate any more and still holds replicas
        // first, else the most loaded; to the least loaded candidate.
        let Some((&from, &most)) = load
            .iter()
            .filter(|(_, n)| **n > 0)
            .max_by_key(|(id, n)| (!eligible.contains(id), **n, std::cmp::Reverse(**id)))
        else {
            break;
        };
        let Some((&to, &least)) = load
            .iter()
            .filter(|(id, _)| eligible.contains(id))
            .min_by_key(|(id, n)| (**n, **id))
        else {
            break;
        };
        if most <= least + 1 && eligible.contains(&from) {
            break;
        }
        let pick = current.iter().find(|(_, replicas)| {
            replicas.contains(&from)
                && !replicas.contains(&to)
                && racks(candidates, &replaced(replicas, from, to)) >= racks(candidates, replicas)
        });
        let Some((&group, replicas)) = pick else {
            break;
        };
        let next = replaced(replicas, from, to);
        current.insert(group, next);
        moved.insert(group);
        *load.entry(from).or_default() -= 1;
        *load.entry(to).or_default() += 1;
    }
    moved
        .into_iter()
        .map(|g| (g, current[&g].clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(ids: &[(u64, Option<&str>)]) -> Vec<Candidate> {
        ids.iter()
            .map(|(id, rack)| Candidate {
                id: *id,
                rack: rack.map(str::to_string),
            })
            .collect()
    }

    #[test]
    fn the_replacement_keeps_racks_then_takes_the_least_loaded() {
        let c = brokers(&[
            (1, Some("a")),
            (2, Some("b")),
            (3, Some("c")),
            (4, Some("a")),
            (5, Some("b")),
        ]);
        let load = BTreeMap::from([(1, 3), (2, 3), (3, 3), (4, 5), (5, 1)]);
        // 3 (rack c) leaves [1,2,3]: 4 (a) and 5 (b) both lose rack c; the
        // least loaded wins.
        assert_eq!(replacement(&c, &[1, 2, 3], 3, &load), Some(5));
        // 1 (rack a) leaves: 4 keeps rack a, 5 would double rack b.
        assert_eq!(replacement(&c, &[1, 2, 3], 1, &load), Some(4));
        // Nobody left.
        assert_eq!(replacement(&c[..3], &[1, 2, 3], 1, &load), None);
        assert_eq!(replaced(&[1, 2, 3], 1, 4), vec![4, 2, 3]);
    }

    #[test]
    fn a_new_broker_gets_an_even_share() {
        let c = brokers(&[(1, None), (2, None), (3, None), (4, None)]);
        // 6 partitions of RF 3 on brokers 1-3: 18 replicas; 4 should get 4 or 5.
        let parts: Vec<(GroupId, Vec<u64>)> = (0..6).map(|g| (g, vec![1, 2, 3])).collect();
        let moves = spread(&parts, &c, 100);
        let mut after: BTreeMap<GroupId, Vec<u64>> = parts.iter().cloned().collect();
        for (g, r) in &moves {
            after.insert(*g, r.clone());
        }
        let after: Vec<(GroupId, Vec<u64>)> = after.into_iter().collect();
        let counts = load(&after, &c);
        let (min, max) = (
            counts.values().min().unwrap(),
            counts.values().max().unwrap(),
        );
        assert!(max - min <= 1, "{counts:?}");
        assert!(counts[&4] >= 4, "{counts:?}");
        for (_, r) in &after {
            assert_eq!(r.iter().collect::<BTreeSet<_>>().len(), 3, "{r:?}");
        }
        // Bounded.
        assert_eq!(spread(&parts, &c, 1).len(), 1);
        // Already even: nothing.
        assert!(spread(&after, &c, 100).is_empty());
    }

    #[test]
    fn spreading_never_lowers_a_partitions_rack_count() {
        // Racks a, b, c; the new broker 4 is on rack a.
        let c = brokers(&[
            (1, Some("a")),
            (2, Some("b")),
            (3, Some("c")),
            (4, Some("a")),
        ]);
        let parts: Vec<(GroupId, Vec<u64>)> = (0..4).map(|g| (g, vec![1, 2, 3])).collect();
        let moves = spread(&parts, &c, 100);
        assert!(!moves.is_empty());
        for (_, r) in &moves {
            // 4 may only replace 1 (rack a for rack a).
            assert!(r.contains(&2) && r.contains(&3), "{r:?}");
        }
    }

    #[test]
    fn replicas_on_a_broker_that_is_no_candidate_move_off_it() {
        let c = brokers(&[(1, None), (2, None), (3, None), (4, None)]);
        // Broker 5 holds replicas but is not a candidate (draining).
        let parts: Vec<(GroupId, Vec<u64>)> = vec![(0, vec![5, 1, 2]), (1, vec![5, 2, 3])];
        let moves = spread(&parts, &c, 100);
        assert!(moves.iter().all(|(_, r)| !r.contains(&5)), "{moves:?}");
        assert_eq!(moves.len(), 2);
    }
}
