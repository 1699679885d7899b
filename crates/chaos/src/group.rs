//! The group workload's consumers: members of one consumer group that
//! subscribe to the workload topic, read, commit what they have read, and
//! leave and rejoin now and then so that partitions change hands under the
//! faults. Each records its assignments (with the generation librdkafka
//! joined), its polls (one poll session per assignment), its commits and the
//! committed offsets it reads when it is assigned a partition.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::history::{Assignment, Commit, CommittedRead, Event, Outcome, Poll};

/// The consumer group the members join.
pub const GROUP: &str = "cairn-chaos-group";

/// How often a member commits what it has read.
const COMMIT_EVERY: Duration = Duration::from_millis(200);

/// The librdkafka settings of a member besides the bootstrap. Offsets are
/// committed by hand (each commit is recorded); the session timeout is the
/// broker's minimum so that a member whose LeaveGroup was lost to a fault
/// holds its partitions for seconds rather than librdkafka's default 45 s.
pub fn member_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("group.id", GROUP),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "1000"),
    ]
}

/// Where a member stands, shared between its loop and its rebalance callbacks
/// (which run inside `poll`, on the same thread).
#[derive(Default)]
struct Standing {
    /// The poll session of the current assignment; 0 while unassigned.
    session: u64,
    generation: i32,
    partitions: Vec<i32>,
    /// The next offset to commit per partition, read in this session.
    pending: BTreeMap<i32, i64>,
    /// The committed offsets of a new assignment are still to be read.
    read_committed: bool,
}

/// Everything a member records into and the state its callbacks change.
struct Member {
    topic: String,
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
    sessions: Arc<AtomicU64>,
    standing: Mutex<Standing>,
}

impl Member {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn record(&self, event: Event) {
        self.events.lock().expect("events lock").push(event);
    }

    fn standing(&self) -> std::sync::MutexGuard<'_, Standing> {
        self.standing.lock().expect("standing lock")
    }

    /// Commits what this session has read, one partition per OffsetCommit so
    /// that each outcome is known, and records each.
    fn commit_pending(&self, consumer: &BaseConsumer<Self>) {
        let (session, generation, pending) = {
            let mut s = self.standing();
            (s.session, s.generation, std::mem::take(&mut s.pending))
        };
        for (partition, offset) in pending {
            let mut tpl = TopicPartitionList::new();
            if tpl
                .add_partition_offset(&self.topic, partition, Offset::Offset(offset))
                .is_err()
            {
                continue;
            }
            let invoked_ns = self.now_ns();
            let result = consumer.commit(&tpl, CommitMode::Sync);
            let outcome = match &result {
                Ok(()) => Outcome::Ok { offset },
                Err(e) if fenced(e) => Outcome::Fail,
                Err(_) => Outcome::Info,
            };
            self.record(Event::Commit(Commit {
                session,
                generation,
                partition,
                offset,
                invoked_ns,
                completed_ns: self.now_ns(),
                outcome,
            }));
        }
    }

    /// Reads the committed offsets of a new assignment's partitions.
    fn read_committed(&self, consumer: &BaseConsumer<Self>) {
        let partitions = {
            let mut s = self.standing();
            if !s.read_committed {
                return;
            }
            s.read_committed = false;
            s.partitions.clone()
        };
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition(&self.topic, *p);
        }
        let invoked_ns = self.now_ns();
        let Ok(committed) = consumer.committed_offsets(tpl, Duration::from_secs(10)) else {
            return;
        };
        let completed_ns = self.now_ns();
        for e in committed.elements_for_topic(&self.topic) {
            if e.error().is_err() {
                continue;
            }
            self.record(Event::CommittedRead(CommittedRead {
                partition: e.partition(),
                offset: committed_offset(e.offset()),
                invoked_ns,
                completed_ns,
            }));
        }
    }
}

/// A committed offset as OffsetFetch answers it: `Invalid` means none.
fn committed_offset(offset: Offset) -> Option<i64> {
    match offset {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// Commit errors that guarantee the commit was refused, not written: the
/// coordinator fenced the member or its generation, or librdkafka did not
/// send it.
fn fenced(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::ConsumerCommit(
            RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::FencedInstanceId
                | RDKafkaErrorCode::NoOffset
                | RDKafkaErrorCode::State
        )
    )
}

impl ClientContext for Member {}

impl ConsumerContext for Member {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            // What the member read is committed before another may own it.
            self.commit_pending(consumer);
            let mut s = self.standing();
            *s = Standing::default();
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else {
            return;
        };
        let (generation, member) =
            group_membership(consumer.client()).unwrap_or((-1, String::new()));
        let mut partitions: Vec<i32> = tpl
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        partitions.sort_unstable();
        let session = self.sessions.fetch_add(1, Ordering::Relaxed);
        *self.standing() = Standing {
            session,
            generation,
            partitions: partitions.clone(),
            pending: BTreeMap::new(),
            read_committed: !partitions.is_empty(),
        };
        self.record(Event::Assignment(Assignment {
            member,
            generation,
            session,
            partitions,
            at_ns: self.now_ns(),
        }));
    }
}

/// The generation and member id librdkafka holds for its group membership
/// now. rdkafka wraps the group metadata object only as an opaque handle for
/// transactions, so its two getters are called directly.
#[allow(unsafe_code)]
fn group_membership<C: ClientContext>(client: &Client<C>) -> Option<(i32, String)> {
    use rdkafka::bindings as rd;
    // SAFETY: `native_ptr` is `client`'s live handle, borrowed for this call.
    // `rd_kafka_consumer_group_metadata` returns a new object (or null) that
    // this function owns: its member id string lives inside it and is copied
    // out before the object is destroyed, exactly once, before returning.
    unsafe {
        let metadata = rd::rd_kafka_consumer_group_metadata(client.native_ptr());
        if metadata.is_null() {
            return None;
        }
        let generation = rd::rd_kafka_consumer_group_metadata_generation_id(metadata);
        let member_id = rd::rd_kafka_consumer_group_metadata_member_id(metadata);
        let member = if member_id.is_null() {
            String::new()
        } else {
            CStr::from_ptr(member_id).to_string_lossy().into_owned()
        };
        rd::rd_kafka_consumer_group_metadata_destroy(metadata);
        Some((generation, member))
    }
}

/// What a member thread needs.
pub struct MemberConfig {
    /// Member number (seeds its lifetimes).
    pub index: u64,
    /// The run's seed.
    pub seed: u64,
    /// Bootstrap servers.
    pub bootstrap: String,
    /// The workload topic.
    pub topic: String,
    /// The run's start, for event times.
    pub start: Instant,
    /// Where events go.
    pub events: Arc<Mutex<Vec<Event>>>,
    /// The run's poll session counter.
    pub sessions: Arc<AtomicU64>,
    /// Set when the run ends.
    pub stop: Arc<AtomicBool>,
}

/// Runs one member until `stop`: joins, reads and commits for a seeded
/// lifetime of 10–30 s, leaves (committing first), and joins again.
pub fn run_member(config: MemberConfig) {
    let mut rng = StdRng::seed_from_u64(config.seed ^ (config.index + 1).wrapping_mul(0x9e37));
    while !config.stop.load(Ordering::Relaxed) {
        let lifetime = Duration::from_millis(rng.gen_range(10_000..30_000));
        let member = Member {
            topic: config.topic.clone(),
            start: config.start,
            events: config.events.clone(),
            sessions: config.sessions.clone(),
            standing: Mutex::default(),
        };
        let mut client = ClientConfig::new();
        client.set("bootstrap.servers", &config.bootstrap);
        for (key, value) in member_settings() {
            client.set(key, value);
        }
        let consumer: BaseConsumer<Member> = match client.create_with_context(member) {
            Ok(c) => c,
            Err(_) => return,
        };
        if consumer.subscribe(&[&config.topic]).is_err() {
            return;
        }
        let born = Instant::now();
        let mut last_commit = Instant::now();
        while !config.stop.load(Ordering::Relaxed) && born.elapsed() < lifetime {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                let context = consumer.context();
                let session = {
                    let mut s = context.standing();
                    s.pending.insert(m.partition(), m.offset() + 1);
                    s.session
                };
                context.record(Event::Poll(Poll {
                    session,
                    partition: m.partition(),
                    records: vec![(m.offset(), value)],
                }));
            }
            consumer.context().read_committed(&consumer);
            if last_commit.elapsed() >= COMMIT_EVERY {
                consumer.context().commit_pending(&consumer);
                last_commit = Instant::now();
            }
        }
        consumer.context().commit_pending(&consumer);
        // Dropping the consumer leaves the group (revoking, so committing
        // again in the callback if anything is left).
        drop(consumer);
    }
}

/// Reads the group's committed offset of every partition with a consumer
/// that does not join, retrying for up to a minute while the cluster settles.
pub fn final_committed(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    start: Instant,
) -> Result<Vec<Event>, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let invoked_ns = start.elapsed().as_nanos() as u64;
        let result = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(10))
            .map_err(|e| e.to_string())
            .and_then(|c| {
                let elements = c.elements_for_topic(topic);
                match elements.iter().find_map(|e| e.error().err()) {
                    Some(e) => Err(e.to_string()),
                    None => Ok(elements
                        .iter()
                        .map(|e| (e.partition(), committed_offset(e.offset())))
                        .collect::<Vec<_>>()),
                }
            });
        match result {
            Ok(offsets) => {
                let completed_ns = start.elapsed().as_nanos() as u64;
                return Ok(offsets
                    .into_iter()
                    .map(|(partition, offset)| {
                        Event::CommittedRead(CommittedRead {
                            partition,
                            offset,
                            invoked_ns,
                            completed_ns,
                        })
                    })
                    .collect());
            }
            Err(e) if Instant::now() > deadline => {
                return Err(format!("cannot read the group's committed offsets: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_commit_by_hand_and_only_fencing_counts_as_refused() {
        let settings = member_settings();
        assert!(settings.contains(&("enable.auto.commit", "false")));
        assert!(settings.contains(&("group.id", GROUP)));
        assert!(fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::IllegalGeneration
        )));
        assert!(!fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::RequestTimedOut
        )));
        assert!(!fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::NotCoordinator
        )));
        assert_eq!(committed_offset(Offset::Offset(7)), Some(7));
        assert_eq!(committed_offset(Offset::Invalid), None);
    }

    #[test]
    fn membership_of_a_consumer_outside_any_group_is_generation_minus_one() {
        // A consumer that has not joined: librdkafka reports generation -1
        // and an empty member id, so the getters are wired right.
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("group.id", "g")
            .create()
            .unwrap();
        let (generation, member) = group_membership(consumer.client()).unwrap();
        assert_eq!(generation, -1);
        assert_eq!(member, "");
    }
}
