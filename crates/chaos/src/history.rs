//! What a chaos workload records: every send with its invoke and completion
//! times and outcome, every consumer poll, the final read of every partition
//! after the cluster healed and, in the group workload, every member's
//! assignments, offset commits and reads of committed offsets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a send ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Acknowledged, at this offset.
    Ok { offset: i64 },
    /// Definitely not written: the broker returned an error that guarantees it.
    Fail,
    /// Unknown: a timeout or a lost connection; it may or may not be written.
    Info,
}

/// One produce of a unique value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    /// The producer that sent it.
    pub process: u64,
    /// Target partition.
    pub partition: i32,
    /// The unique value.
    pub value: String,
    /// When it was invoked (ns since the run started).
    pub invoked_ns: u64,
    /// When it completed (ns since the run started).
    pub completed_ns: u64,
    /// How it ended.
    pub outcome: Outcome,
}

/// One consumer poll of one partition: the records it returned, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// The consumer session (a consumer that restarts gets a new session).
    pub session: u64,
    /// The partition polled.
    pub partition: i32,
    /// (offset, value) as returned.
    pub records: Vec<(i64, String)>,
}

/// A consumer group member's new assignment, as its rebalance callback saw
/// it (group workload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The member id the coordinator gave.
    pub member: String,
    /// The generation the assignment belongs to.
    pub generation: i32,
    /// The poll session this assignment starts.
    pub session: u64,
    /// The partitions assigned.
    pub partitions: Vec<i32>,
    /// When the callback ran (ns since the run started).
    pub at_ns: u64,
}

/// One OffsetCommit of one partition by a group member (group workload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The poll session whose position it commits.
    pub session: u64,
    /// The generation the member was in.
    pub generation: i32,
    /// The partition.
    pub partition: i32,
    /// The committed offset (the next record to read).
    pub offset: i64,
    /// When it was invoked (ns since the run started).
    pub invoked_ns: u64,
    /// When it completed (ns since the run started).
    pub completed_ns: u64,
    /// How it ended: `Ok` is an acknowledged commit (its `offset` is the
    /// committed one), `Fail` a refusal that guarantees nothing was written
    /// (fenced generation or member), `Info` unknown.
    pub outcome: Outcome,
}

/// A read of a partition's committed offset (OffsetFetch) by the group
/// (group workload): when a member is assigned the partition, and once at the
/// end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedRead {
    /// The partition.
    pub partition: i32,
    /// The committed offset read; `None` when the group has none.
    pub offset: Option<i64>,
    /// When it was invoked (ns since the run started).
    pub invoked_ns: u64,
    /// When it completed (ns since the run started).
    pub completed_ns: u64,
}

/// How a transaction ended (transactional workload).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnOutcome {
    /// The commit was acknowledged.
    Committed,
    /// Definitely aborted: the abort was acknowledged, or the producer gave
    /// up before asking to commit (the coordinator aborts it at its timeout).
    Aborted,
    /// The commit was asked for and not acknowledged: either.
    Unknown,
}

/// One transaction of the transactional workload: its values (each also
/// recorded as a [`Send`]) and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    /// The producer that ran it.
    pub process: u64,
    /// The values it sent, in order.
    pub values: Vec<String>,
    /// When it began (ns since the run started).
    pub invoked_ns: u64,
    /// When it ended (ns since the run started).
    pub completed_ns: u64,
    /// How it ended.
    pub outcome: TxnOutcome,
}

/// One line of the history file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A completed send.
    Send(Send),
    /// A poll.
    Poll(Poll),
    /// The final read of a partition from offset 0 after healing.
    FinalRead {
        partition: i32,
        records: Vec<(i64, String)>,
    },
    /// A nemesis step (a fault or its healing); not checked, kept so that a
    /// history shows what happened when.
    Nemesis { at_ns: u64, action: String },
    /// A group member's new assignment.
    Assignment(Assignment),
    /// A group member's offset commit.
    Commit(Commit),
    /// A read of a committed offset.
    CommittedRead(CommittedRead),
    /// A transaction (transactional workload).
    Txn(Txn),
}

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Every send.
    pub sends: Vec<Send>,
    /// Every poll, in the order each session made them.
    pub polls: Vec<Poll>,
    /// The final read, per partition.
    pub final_reads: BTreeMap<i32, Vec<(i64, String)>>,
    /// Nemesis steps: (ns since the run started, what was done).
    pub nemesis: Vec<(u64, String)>,
    /// Group members' assignments (group workload).
    pub assignments: Vec<Assignment>,
    /// Offset commits (group workload).
    pub commits: Vec<Commit>,
    /// Reads of committed offsets (group workload).
    pub committed_reads: Vec<CommittedRead>,
    /// Transactions (transactional workload).
    pub txns: Vec<Txn>,
}

impl History {
    /// Builds a history from recorded events.
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Self {
        let mut h = History::default();
        for e in events {
            match e {
                Event::Send(s) => h.sends.push(s),
                Event::Poll(p) => h.polls.push(p),
                Event::FinalRead { partition, records } => {
                    h.final_reads.insert(partition, records);
                }
                Event::Nemesis { at_ns, action } => h.nemesis.push((at_ns, action)),
                Event::Assignment(a) => h.assignments.push(a),
                Event::Commit(c) => h.commits.push(c),
                Event::CommittedRead(r) => h.committed_reads.push(r),
                Event::Txn(t) => h.txns.push(t),
            }
        }
        h
    }
}
