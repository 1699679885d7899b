//! The checker: Jepsen's Kafka anomaly categories over a [`History`].
//!
//! - `lost-write`: an acknowledged send whose value is never read.
//! - `duplicate`: a value read at more than one offset.
//! - `inconsistent-offsets`: one offset read with different values.
//! - `unexpected`: a value read that was never sent, or whose send definitely failed.
//! - `nonmonotonic-poll`: a session's offsets on a partition not increasing.
//! - `poll-skip`: a session skipping offsets that hold records (sessions read
//!   their assigned partitions from their position, so every record between
//!   two polls must be seen).
//! - `realtime-order`: send A acknowledged before send B was invoked on the
//!   same partition, yet A's offset is not lower (acks=all produce must be
//!   linearizable).
//! - `wrong-offset`: an acknowledged send whose value is read at another offset.
//!
//!
//! And over the group workload's commits and assignments:
//! - `lost-commit`: a read of a partition's committed offset lower than an
//!   acknowledged commit, or than an earlier read, that completed before the
//!   read was invoked (a committed offset never moves backwards: members
//!   commit only positions past what they read from the committed offset).
//! - `duplicate-assignment`: two members assigned the same partition in one
//!   generation.
//! - `commit-skip`: the group committed a partition past a record that no
//!   member read (a member commits only what it has read, so a hole means
//!   a member started past the committed offset).
//!
//! And over the transactional workload's transactions:
//! - `G1a` (aborted read): a value of a transaction that was definitely
//!   aborted was read (by the `read_committed` consumer or the final read).
//! - `non-atomic`: the final read holds some of a transaction's values but
//!   not all (a committed one must show all, an aborted one none, one of
//!   unknown outcome all or none).
//!
//! A committed transaction's values are acknowledged sends, so `lost-write`,
//! `duplicate`, `wrong-offset` and `realtime-order` apply to them as to
//! plain sends; an aborted one's are failed sends (reported as `G1a`, not
//! `unexpected`, when read).
//!
//! Plus counts of ok/fail/info sends and the longest window per partition with
//! no acknowledged send (from the run's first invoke to its last completion).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::history::{History, Outcome, TxnOutcome};

/// One anomaly, with enough detail to find it in the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Category, e.g. `lost-write`.
    pub kind: String,
    /// Partition it concerns.
    pub partition: i32,
    /// What was seen.
    pub detail: String,
}

/// The checker's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Sends by outcome.
    pub ok: u64,
    /// Sends that definitely failed.
    pub fail: u64,
    /// Sends with an unknown outcome.
    pub info: u64,
    /// Every anomaly found.
    pub anomalies: Vec<Anomaly>,
    /// Longest stretch without an acknowledged send, per partition (ns).
    pub longest_unavailable_ns: BTreeMap<i32, u64>,
    /// Acknowledged offset commits (group workload).
    #[serde(default)]
    pub commits_ok: u64,
    /// Offset commits refused (fenced), so not written.
    #[serde(default)]
    pub commits_failed: u64,
    /// Offset commits with an unknown outcome.
    #[serde(default)]
    pub commits_unknown: u64,
    /// Assignments the members received (each rebalance gives every member one).
    #[serde(default)]
    pub assignments: u64,
    /// Transactions committed, aborted and of unknown outcome
    /// (transactional workload).
    #[serde(default)]
    pub txns: [u64; 3],
}

/// Every anomaly category the checker knows, for reports that list zeros too.
pub const CATEGORIES: &[&str] = &[
    "lost-write",
    "duplicate",
    "inconsistent-offsets",
    "unexpected",
    "nonmonotonic-poll",
    "poll-skip",
    "realtime-order",
    "wrong-offset",
    "lost-commit",
    "duplicate-assignment",
    "commit-skip",
    "G1a",
    "non-atomic",
];

impl Report {
    /// How many anomalies of `kind` were found.
    pub fn count(&self, kind: &str) -> usize {
        self.anomalies.iter().filter(|a| a.kind == kind).count()
    }

    /// Whether the history is free of anomalies.
    pub fn is_valid(&self) -> bool {
        self.anomalies.is_empty()
    }
}

fn anomaly(kind: &str, partition: i32, detail: String) -> Anomaly {
    Anomaly {
        kind: kind.to_string(),
        partition,
        detail,
    }
}

/// Checks a history.
pub fn check(h: &History) -> Report {
    let mut report = Report::default();
    for s in &h.sends {
        match s.outcome {
            Outcome::Ok { .. } => report.ok += 1,
            Outcome::Fail => report.fail += 1,
            Outcome::Info => report.info += 1,
        }
    }
    // Everything read: (partition, offset) -> values, value -> (partition, offsets).
    let mut at: BTreeMap<(i32, i64), BTreeSet<&str>> = BTreeMap::new();
    let mut where_read: BTreeMap<&str, BTreeSet<(i32, i64)>> = BTreeMap::new();
    let reads = h
        .final_reads
        .iter()
        .flat_map(|(p, rs)| rs.iter().map(move |r| (*p, r)))
        .chain(
            h.polls
                .iter()
                .flat_map(|poll| poll.records.iter().map(move |r| (poll.partition, r))),
        );
    for (partition, (offset, value)) in reads {
        at.entry((partition, *offset)).or_default().insert(value);
        where_read
            .entry(value)
            .or_default()
            .insert((partition, *offset));
    }
    for ((partition, offset), values) in &at {
        if values.len() > 1 {
            report.anomalies.push(anomaly(
                "inconsistent-offsets",
                *partition,
                format!("offset {offset} read as {values:?}"),
            ));
        }
    }
    for (value, places) in &where_read {
        if places.len() > 1 {
            let partition = places.iter().next().map_or(-1, |p| p.0);
            report.anomalies.push(anomaly(
                "duplicate",
                partition,
                format!("{value} at {places:?}"),
            ));
        }
    }
    let sent: BTreeMap<&str, &crate::history::Send> =
        h.sends.iter().map(|s| (s.value.as_str(), s)).collect();
    let aborted: BTreeSet<&str> = h
        .txns
        .iter()
        .filter(|t| t.outcome == TxnOutcome::Aborted)
        .flat_map(|t| t.values.iter().map(String::as_str))
        .collect();
    for (value, places) in &where_read {
        let partition = places.iter().next().map_or(-1, |p| p.0);
        if aborted.contains(value) {
            report.anomalies.push(anomaly(
                "G1a",
                partition,
                format!("{value} of an aborted transaction was read at {places:?}"),
            ));
            continue;
        }
        match sent.get(value) {
            None => report.anomalies.push(anomaly(
                "unexpected",
                partition,
                format!("{value} was never sent"),
            )),
            Some(s) if s.outcome == Outcome::Fail => report.anomalies.push(anomaly(
                "unexpected",
                partition,
                format!("{value} was read but its send failed"),
            )),
            _ => {}
        }
    }
    for s in &h.sends {
        let Outcome::Ok { offset } = s.outcome else {
            continue;
        };
        match where_read.get(s.value.as_str()) {
            None => report.anomalies.push(anomaly(
                "lost-write",
                s.partition,
                format!("{} acknowledged at offset {offset}", s.value),
            )),
            Some(places) if !places.contains(&(s.partition, offset)) => {
                report.anomalies.push(anomaly(
                    "wrong-offset",
                    s.partition,
                    format!(
                        "{} acknowledged at offset {offset}, read at {places:?}",
                        s.value
                    ),
                ))
            }
            _ => {}
        }
    }
    check_polls(h, &mut report);
    check_realtime(h, &mut report);
    check_group(h, &mut report);
    check_txns(h, &mut report);
    report.longest_unavailable_ns = unavailability(h);
    report
}

/// `non-atomic`, and the transaction counts.
fn check_txns(h: &History, report: &mut Report) {
    let finally: BTreeMap<&str, i32> = h
        .final_reads
        .iter()
        .flat_map(|(p, rs)| rs.iter().map(move |(_, v)| (v.as_str(), *p)))
        .collect();
    for t in &h.txns {
        let index = match t.outcome {
            TxnOutcome::Committed => 0,
            TxnOutcome::Aborted => 1,
            TxnOutcome::Unknown => 2,
        };
        report.txns[index] += 1;
        let seen: Vec<&str> = t
            .values
            .iter()
            .map(String::as_str)
            .filter(|v| finally.contains_key(v))
            .collect();
        if !seen.is_empty() && seen.len() < t.values.len() {
            let partition = finally.get(seen[0]).copied().unwrap_or(-1);
            report.anomalies.push(anomaly(
                "non-atomic",
                partition,
                format!(
                    "{:?} transaction of process {} with {:?}: the final read holds only {seen:?}",
                    t.outcome, t.process, t.values
                ),
            ));
        }
    }
}

fn check_polls(h: &History, report: &mut Report) {
    // Offsets that hold records, per partition, from everything read.
    let mut present: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for (p, rs) in &h.final_reads {
        present
            .entry(*p)
            .or_default()
            .extend(rs.iter().map(|r| r.0));
    }
    for poll in &h.polls {
        present
            .entry(poll.partition)
            .or_default()
            .extend(poll.records.iter().map(|r| r.0));
    }
    let mut last: BTreeMap<(u64, i32), i64> = BTreeMap::new();
    for poll in &h.polls {
        for (offset, _) in &poll.records {
            let key = (poll.session, poll.partition);
            if let Some(&prev) = last.get(&key) {
                if *offset <= prev {
                    report.anomalies.push(anomaly(
                        "nonmonotonic-poll",
                        poll.partition,
                        format!("session {} read offset {offset} after {prev}", poll.session),
                    ));
                } else if let Some(skipped) = present
                    .get(&poll.partition)
                    .and_then(|p| p.range(prev + 1..*offset).next())
                {
                    report.anomalies.push(anomaly(
                        "poll-skip",
                        poll.partition,
                        format!(
                            "session {} went from {prev} to {offset}, skipping {skipped}",
                            poll.session
                        ),
                    ));
                }
            }
            last.insert(key, *offset);
        }
    }
}

fn check_realtime(h: &History, report: &mut Report) {
    let mut by_partition: BTreeMap<i32, Vec<(u64, u64, i64, &str)>> = BTreeMap::new();
    for s in &h.sends {
        if let Outcome::Ok { offset } = s.outcome {
            by_partition.entry(s.partition).or_default().push((
                s.invoked_ns,
                s.completed_ns,
                offset,
                &s.value,
            ));
        }
    }
    for (partition, sends) in by_partition {
        let mut by_completion = sends.clone();
        by_completion.sort_by_key(|s| s.1);
        let mut by_invoke = sends;
        by_invoke.sort_by_key(|s| s.0);
        // Walk sends in invoke order; keep the highest offset among sends
        // completed before the current invoke.
        let mut done = 0;
        let mut highest: Option<(i64, &str)> = None;
        for (invoked, _, offset, value) in &by_invoke {
            while done < by_completion.len() && by_completion[done].1 < *invoked {
                let (_, _, o, v) = by_completion[done];
                if highest.is_none_or(|(h, _)| o > h) {
                    highest = Some((o, v));
                }
                done += 1;
            }
            if let Some((h, earlier)) = highest {
                if *offset <= h {
                    report.anomalies.push(anomaly(
                        "realtime-order",
                        partition,
                        format!("{earlier} was acknowledged at offset {h} before {value} was sent, which got offset {offset}"),
                    ));
                }
            }
        }
    }
}

fn check_group(h: &History, report: &mut Report) {
    for c in &h.commits {
        match c.outcome {
            Outcome::Ok { .. } => report.commits_ok += 1,
            Outcome::Fail => report.commits_failed += 1,
            Outcome::Info => report.commits_unknown += 1,
        }
    }
    report.assignments = h.assignments.len() as u64;

    // duplicate-assignment: generation -> partition -> members.
    let mut owners: BTreeMap<(i32, i32), BTreeSet<&str>> = BTreeMap::new();
    // A generation below 0 means the member could not tell its generation.
    for a in h.assignments.iter().filter(|a| a.generation >= 0) {
        for p in &a.partitions {
            owners
                .entry((a.generation, *p))
                .or_default()
                .insert(&a.member);
        }
    }
    for ((generation, partition), members) in owners {
        if members.len() > 1 {
            report.anomalies.push(anomaly(
                "duplicate-assignment",
                partition,
                format!("generation {generation} assigned it to {members:?}"),
            ));
        }
    }

    // lost-commit: per partition, walk the reads in invoke order, keeping the
    // highest acknowledged commit and the highest read that completed before.
    let partitions: BTreeSet<i32> = h.committed_reads.iter().map(|r| r.partition).collect();
    for partition in partitions {
        let mut acked: Vec<(u64, i64)> = h
            .commits
            .iter()
            .filter(|c| c.partition == partition)
            .filter_map(|c| match c.outcome {
                Outcome::Ok { .. } => Some((c.completed_ns, c.offset)),
                _ => None,
            })
            .collect();
        acked.sort_unstable();
        let mut reads: Vec<_> = h
            .committed_reads
            .iter()
            .filter(|r| r.partition == partition)
            .collect();
        let mut by_completion = reads.clone();
        by_completion.sort_by_key(|r| r.completed_ns);
        reads.sort_by_key(|r| r.invoked_ns);
        let (mut next_commit, mut next_read) = (0, 0);
        let mut committed: Option<i64> = None;
        let mut seen: Option<i64> = None;
        for read in reads {
            while next_commit < acked.len() && acked[next_commit].0 < read.invoked_ns {
                committed = committed.max(Some(acked[next_commit].1));
                next_commit += 1;
            }
            while next_read < by_completion.len()
                && by_completion[next_read].completed_ns < read.invoked_ns
            {
                seen = seen.max(by_completion[next_read].offset);
                next_read += 1;
            }
            let got = read.offset.unwrap_or(-1);
            let show = |o: Option<i64>| o.map_or("none".to_string(), |o| o.to_string());
            if let Some(c) = committed.filter(|&c| got < c) {
                report.anomalies.push(anomaly(
                    "lost-commit",
                    partition,
                    format!(
                        "committed offset read as {} at {} ns, after a commit of {c} was acknowledged",
                        show(read.offset),
                        read.invoked_ns
                    ),
                ));
            } else if let Some(s) = seen.filter(|&s| got < s) {
                report.anomalies.push(anomaly(
                    "lost-commit",
                    partition,
                    format!(
                        "committed offset read as {} at {} ns, after it was read as {s}",
                        show(read.offset),
                        read.invoked_ns
                    ),
                ));
            }
        }
    }

    // commit-skip: below the highest committed offset read, every offset that
    // holds a record was polled by some member.
    let mut polled: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for poll in &h.polls {
        polled
            .entry(poll.partition)
            .or_default()
            .extend(poll.records.iter().map(|r| r.0));
    }
    let mut highest: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &h.committed_reads {
        if let Some(o) = r.offset {
            let e = highest.entry(r.partition).or_insert(o);
            *e = (*e).max(o);
        }
    }
    let empty = BTreeSet::new();
    for (partition, committed) in highest {
        let Some(records) = h.final_reads.get(&partition) else {
            continue;
        };
        let read = polled.get(&partition).unwrap_or(&empty);
        let missed: Vec<i64> = records
            .iter()
            .map(|r| r.0)
            .filter(|o| *o < committed && !read.contains(o))
            .collect();
        if let Some(first) = missed.first() {
            report.anomalies.push(anomaly(
                "commit-skip",
                partition,
                format!(
                    "committed up to {committed}, but no member read {} record(s) below it, the first at offset {first}",
                    missed.len()
                ),
            ));
        }
    }
}

fn unavailability(h: &History) -> BTreeMap<i32, u64> {
    let start = h.sends.iter().map(|s| s.invoked_ns).min().unwrap_or(0);
    let end = h.sends.iter().map(|s| s.completed_ns).max().unwrap_or(0);
    let mut acks: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
    for s in &h.sends {
        acks.entry(s.partition).or_default();
        if matches!(s.outcome, Outcome::Ok { .. }) {
            acks.entry(s.partition).or_default().push(s.completed_ns);
        }
    }
    acks.into_iter()
        .map(|(p, mut times)| {
            times.sort_unstable();
            let mut longest = 0;
            let mut prev = start;
            for t in times.iter().copied().chain(std::iter::once(end)) {
                longest = longest.max(t.saturating_sub(prev));
                prev = t;
            }
            (p, longest)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Assignment, Commit, CommittedRead, Poll, Send};

    fn send(value: &str, invoked: u64, completed: u64, outcome: Outcome) -> Send {
        Send {
            process: 1,
            partition: 0,
            value: value.into(),
            invoked_ns: invoked,
            completed_ns: completed,
            outcome,
        }
    }

    fn ok(value: &str, invoked: u64, completed: u64, offset: i64) -> Send {
        send(value, invoked, completed, Outcome::Ok { offset })
    }

    fn final_read(records: &[(i64, &str)]) -> BTreeMap<i32, Vec<(i64, String)>> {
        BTreeMap::from([(
            0,
            records.iter().map(|(o, v)| (*o, v.to_string())).collect(),
        )])
    }

    fn valid() -> History {
        History {
            sends: vec![
                ok("a", 0, 10, 0),
                ok("b", 20, 30, 1),
                send("c", 25, 40, Outcome::Info),
                send("d", 30, 50, Outcome::Fail),
            ],
            polls: vec![Poll {
                session: 1,
                partition: 0,
                records: vec![(0, "a".into()), (1, "b".into())],
            }],
            final_reads: final_read(&[(0, "a"), (1, "b"), (2, "c")]),
            nemesis: vec![(15, "kill 1".into())],
            ..History::default()
        }
    }

    #[test]
    fn a_clean_history_passes_and_is_counted() {
        let r = check(&valid());
        assert!(r.is_valid(), "{:?}", r.anomalies);
        assert_eq!((r.ok, r.fail, r.info), (2, 1, 1));
        // No ack between 10 and 30 (the run spans 0..50).
        assert_eq!(r.longest_unavailable_ns[&0], 20);
    }

    #[test]
    fn lost_write() {
        let mut h = valid();
        h.final_reads = final_read(&[(0, "a")]);
        h.polls.clear();
        let r = check(&h);
        assert_eq!(r.count("lost-write"), 1, "{:?}", r.anomalies);
    }

    #[test]
    fn duplicate() {
        let mut h = valid();
        h.final_reads = final_read(&[(0, "a"), (1, "b"), (2, "a")]);
        assert_eq!(check(&h).count("duplicate"), 1);
    }

    #[test]
    fn inconsistent_offsets() {
        let mut h = valid();
        h.polls[0].records[1] = (1, "c".into());
        let r = check(&h);
        assert_eq!(r.count("inconsistent-offsets"), 1, "{:?}", r.anomalies);
    }

    #[test]
    fn unexpected_values() {
        let mut h = valid();
        h.final_reads = final_read(&[(0, "a"), (1, "b"), (2, "d"), (3, "zzz")]);
        let r = check(&h);
        assert_eq!(r.count("unexpected"), 2, "{:?}", r.anomalies);
    }

    #[test]
    fn nonmonotonic_poll() {
        let mut h = valid();
        h.polls.push(Poll {
            session: 1,
            partition: 0,
            records: vec![(0, "a".into())],
        });
        assert_eq!(check(&h).count("nonmonotonic-poll"), 1);
        // A new session may start over.
        let mut h = valid();
        h.polls.push(Poll {
            session: 2,
            partition: 0,
            records: vec![(0, "a".into())],
        });
        assert!(check(&h).is_valid());
    }

    #[test]
    fn poll_skip() {
        let mut h = valid();
        h.polls = vec![Poll {
            session: 1,
            partition: 0,
            records: vec![(0, "a".into()), (2, "c".into())],
        }];
        assert_eq!(check(&h).count("poll-skip"), 1);
    }

    #[test]
    fn realtime_order() {
        // a acknowledged (t=10) before b was invoked (t=20), but b got a lower offset.
        let h = History {
            sends: vec![ok("a", 0, 10, 1), ok("b", 20, 30, 0)],
            polls: vec![],
            final_reads: final_read(&[(0, "b"), (1, "a")]),
            ..History::default()
        };
        let r = check(&h);
        assert_eq!(r.count("realtime-order"), 1, "{:?}", r.anomalies);
        // Concurrent sends may land in either order.
        let h = History {
            sends: vec![ok("a", 0, 30, 1), ok("b", 5, 20, 0)],
            polls: vec![],
            final_reads: final_read(&[(0, "b"), (1, "a")]),
            ..History::default()
        };
        assert!(check(&h).is_valid());
    }

    #[test]
    fn wrong_offset() {
        let mut h = valid();
        h.sends[1] = ok("b", 20, 30, 5);
        let r = check(&h);
        assert_eq!(r.count("wrong-offset"), 1, "{:?}", r.anomalies);
    }

    fn assignment(member: &str, generation: i32, partitions: &[i32]) -> Assignment {
        Assignment {
            member: member.into(),
            generation,
            session: 1,
            partitions: partitions.to_vec(),
            at_ns: 0,
        }
    }

    fn commit(offset: i64, invoked: u64, completed: u64, outcome: Outcome) -> Commit {
        Commit {
            session: 1,
            generation: 1,
            partition: 0,
            offset,
            invoked_ns: invoked,
            completed_ns: completed,
            outcome,
        }
    }

    fn committed_read(offset: Option<i64>, invoked: u64, completed: u64) -> CommittedRead {
        CommittedRead {
            partition: 0,
            offset,
            invoked_ns: invoked,
            completed_ns: completed,
        }
    }

    /// The valid history plus a group that read a and b, committed 2 and read
    /// it back.
    fn valid_group() -> History {
        let mut h = valid();
        h.assignments = vec![assignment("m1", 1, &[0]), assignment("m2", 1, &[1])];
        h.commits = vec![
            commit(1, 10, 12, Outcome::Ok { offset: 1 }),
            commit(2, 20, 22, Outcome::Ok { offset: 2 }),
            commit(5, 25, 26, Outcome::Fail),
        ];
        h.committed_reads = vec![committed_read(None, 0, 1), committed_read(Some(2), 30, 31)];
        h
    }

    #[test]
    fn a_clean_group_history_passes_and_counts_commits() {
        let r = check(&valid_group());
        assert!(r.is_valid(), "{:?}", r.anomalies);
        assert_eq!(
            (r.commits_ok, r.commits_failed, r.commits_unknown),
            (2, 1, 0)
        );
        assert_eq!(r.assignments, 2);
    }

    #[test]
    fn duplicate_assignment_is_per_generation() {
        let mut h = valid_group();
        // The same partition in two generations is a rebalance, not an anomaly.
        h.assignments.push(assignment("m2", 2, &[0]));
        assert!(check(&h).is_valid());
        h.assignments.push(assignment("m3", 2, &[0, 1]));
        let r = check(&h);
        assert_eq!(r.count("duplicate-assignment"), 1, "{:?}", r.anomalies);
        assert!(r.anomalies[0].detail.contains("generation 2"));
    }

    #[test]
    fn lost_commit_after_an_acknowledged_commit_or_an_earlier_read() {
        // Read back lower than a commit acknowledged before the read began.
        let mut h = valid_group();
        h.committed_reads.push(committed_read(Some(1), 40, 41));
        let r = check(&h);
        assert_eq!(r.count("lost-commit"), 1, "{:?}", r.anomalies);
        // A commit still in flight when the read began may or may not show.
        let mut h = valid_group();
        h.commits.push(commit(3, 28, 35, Outcome::Ok { offset: 3 }));
        assert!(check(&h).is_valid());
        // A commit that ended unknown only counts once a read has shown it.
        let mut h = valid_group();
        h.polls[0].records.push((2, "c".into()));
        h.commits.push(commit(3, 32, 33, Outcome::Info));
        h.committed_reads.push(committed_read(Some(3), 40, 41));
        assert!(check(&h).is_valid());
        h.committed_reads.push(committed_read(Some(2), 50, 51));
        assert_eq!(check(&h).count("lost-commit"), 1);
        // The group forgetting its offsets altogether is a lost commit too.
        let mut h = valid_group();
        h.committed_reads.push(committed_read(None, 40, 41));
        assert_eq!(check(&h).count("lost-commit"), 1);
    }

    #[test]
    fn commit_skip() {
        // Committed up to 3 while nobody read offset 2.
        let mut h = valid_group();
        h.committed_reads.push(committed_read(Some(3), 40, 41));
        let r = check(&h);
        assert_eq!(r.count("commit-skip"), 1, "{:?}", r.anomalies);
        assert!(r.anomalies[0].detail.contains("offset 2"));
    }

    #[test]
    fn histories_round_trip_as_json_lines() {
        let events = vec![
            crate::history::Event::Send(ok("a", 0, 10, 0)),
            crate::history::Event::FinalRead {
                partition: 0,
                records: vec![(0, "a".into())],
            },
        ];
        let lines: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        let back: Vec<crate::history::Event> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, events);
        assert!(check(&History::from_events(back)).is_valid());
    }

    fn txn(values: &[&str], outcome: TxnOutcome) -> crate::history::Txn {
        crate::history::Txn {
            process: 1,
            values: values.iter().map(|v| v.to_string()).collect(),
            invoked_ns: 0,
            completed_ns: 10,
            outcome,
        }
    }

    /// Committed t1 (a, b), aborted t2 (x), unknown t3 (u, v): a valid
    /// final read holds a and b, skips the markers' offsets, never x, and
    /// either both of u and v or neither.
    fn transactional() -> History {
        History {
            sends: vec![
                ok("a", 0, 10, 0),
                ok("b", 0, 10, 1),
                send("x", 0, 10, Outcome::Fail),
                send("u", 20, 30, Outcome::Info),
                send("v", 20, 30, Outcome::Info),
            ],
            final_reads: final_read(&[(0, "a"), (1, "b"), (5, "u"), (6, "v")]),
            txns: vec![
                txn(&["a", "b"], TxnOutcome::Committed),
                txn(&["x"], TxnOutcome::Aborted),
                txn(&["u", "v"], TxnOutcome::Unknown),
            ],
            ..History::default()
        }
    }

    #[test]
    fn transactions_read_whole_or_not_at_all_pass() {
        let r = check(&transactional());
        assert!(r.is_valid(), "{:?}", r.anomalies);
        assert_eq!(r.txns, [1, 1, 1]);
        let mut h = transactional();
        h.final_reads = final_read(&[(0, "a"), (1, "b")]);
        assert!(
            check(&h).is_valid(),
            "an unknown transaction may be aborted"
        );
    }

    #[test]
    fn an_aborted_value_read_is_g1a_not_unexpected() {
        let mut h = transactional();
        h.polls.push(Poll {
            session: 1,
            partition: 0,
            records: vec![(3, "x".into())],
        });
        let r = check(&h);
        assert_eq!(r.count("G1a"), 1, "{:?}", r.anomalies);
        assert_eq!(r.count("unexpected"), 0);
    }

    #[test]
    fn part_of_a_transaction_read_is_non_atomic() {
        let mut h = transactional();
        h.final_reads = final_read(&[(0, "a"), (1, "b"), (5, "u")]);
        let r = check(&h);
        assert_eq!(r.count("non-atomic"), 1, "{:?}", r.anomalies);
        let mut h = transactional();
        h.final_reads = final_read(&[(0, "a"), (5, "u"), (6, "v")]);
        let r = check(&h);
        // A committed transaction with a value missing: lost and non-atomic.
        assert_eq!((r.count("non-atomic"), r.count("lost-write")), (1, 1));
    }
}
