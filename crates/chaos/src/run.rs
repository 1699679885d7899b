//! A chaos run: a cluster, a workload of acks=all producers sending unique
//! values and a consumer polling, a nemesis applying faults on a seeded
//! schedule, then healing, a final read of every partition, and the checker.
//!
//! Four workloads: [`Workload::Plain`] producers never retry (a retry could
//! write a value twice, which the checker would rightly call a duplicate);
//! [`Workload::Idempotent`] producers retry as clients do by default, with
//! idempotence on, and the checker's `duplicate` must still stay at 0;
//! [`Workload::Group`] producers send as the plain ones and the consumers are
//! members of one consumer group ([`crate::group`]), committing as they go,
//! for the checker's `lost-commit`, `duplicate-assignment` and `commit-skip`;
//! [`Workload::Txn`] producers run transactions over several partitions
//! and a `read_committed` consumer reads ([`crate::txn`]), for `G1a` and
//! `non-atomic`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::harness::Cluster;
use crate::history::{Event, Outcome, Poll, Send};

/// A kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL brokers (one, a minority, a partition's leader or the
    /// controller); restart them on their data at the next step.
    Kill,
    /// SIGSTOP brokers (one, a partition's leader or the controller);
    /// SIGCONT them at the next step.
    Pause,
    /// Cut the network between brokers (majority/minority halves, a
    /// partition's leader from everyone, or two halves joined by one bridge
    /// broker); heal it at the next step. Needs root and `nft`.
    Partition,
    /// Change membership while the other faults go on: at every nemesis
    /// step, beside that step's fault or healing, move a random partition of
    /// the workload topic to a random set of brokers (a replica move: Raft
    /// membership changes), cancel a move in progress, move leaderships
    /// back to preferred replicas (leadership transfers), decommission or
    /// recommission a broker that is no metadata voter (a drained broker
    /// leaves the catalogue until it restarts), or make a metadata learner a
    /// controller voter in place of a voter. Never undone.
    Membership,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "kill" => Ok(Fault::Kill),
            "pause" => Ok(Fault::Pause),
            "partition" => Ok(Fault::Partition),
            "membership" => Ok(Fault::Membership),
            other => Err(format!(
                "unknown fault '{other}' (known: kill, pause, partition, membership)"
            )),
        }
    }
}

/// How the workload's producers send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Workload {
    /// acks=all, no client retries.
    #[default]
    Plain,
    /// acks=all, client retries on, `enable.idempotence=true`.
    Idempotent,
    /// Plain producers; consumers in one consumer group that commit offsets
    /// and leave and rejoin now and then.
    Group,
    /// Transactional producers (1 to 4 sends per transaction, some
    /// aborted); a `read_committed` consumer.
    Txn,
}

impl std::str::FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plain" => Ok(Self::Plain),
            "idempotent" => Ok(Self::Idempotent),
            "group" => Ok(Self::Group),
            "txn" => Ok(Self::Txn),
            other => Err(format!(
                "unknown workload '{other}' (expected plain, idempotent, group or txn)"
            )),
        }
    }
}

/// The librdkafka settings of a workload's producers besides the bootstrap.
pub fn producer_settings(workload: Workload) -> Vec<(&'static str, &'static str)> {
    match workload {
        Workload::Plain | Workload::Group => vec![
            ("acks", "all"),
            ("message.send.max.retries", "0"),
            ("message.timeout.ms", "5000"),
            ("linger.ms", "0"),
        ],
        Workload::Idempotent => vec![
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("message.timeout.ms", "15000"),
            ("linger.ms", "0"),
        ],
        Workload::Txn => crate::txn::producer_settings(),
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// How the producers send.
    pub workload: Workload,
    /// The `cairn` binary.
    pub bin: PathBuf,
    /// Brokers.
    pub nodes: u64,
    /// Partitions of the workload topic.
    pub partitions: u32,
    /// Its replication factor.
    pub replication_factor: u32,
    /// Faults to mix.
    pub faults: Vec<Fault>,
    /// How long faults are applied.
    pub duration: Duration,
    /// Time between nemesis steps.
    pub interval: Duration,
    /// RNG seed of the schedule.
    pub seed: u64,
    /// Concurrent producers.
    pub producers: usize,
    /// Members of the consumer group (group workload).
    pub consumers: usize,
    /// Where broker data and logs go.
    pub dir: PathBuf,
    /// Run the workload (no faults) against this existing cluster instead of
    /// starting one.
    pub bootstrap: Option<String>,
}

const TOPIC: &str = "chaos";

fn now_ns(start: Instant) -> u64 {
    start.elapsed().as_nanos() as u64
}

/// Kafka errors that guarantee the record was not written.
fn definitely_failed(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::MessageProduction(
            RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

/// Sends by outcome so far.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    fail: AtomicU64,
    info: AtomicU64,
}

impl Counts {
    fn line(&self) -> String {
        format!(
            "{} ok, {} failed, {} unknown",
            self.ok.load(Ordering::Relaxed),
            self.fail.load(Ordering::Relaxed),
            self.info.load(Ordering::Relaxed)
        )
    }
}

/// A nemesis action on a set of brokers.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    Kill(Vec<u64>),
    Pause(Vec<u64>),
    Partition(Vec<Vec<u64>>),
}

/// Runs the whole thing; `progress` gets one line per event worth showing.
pub fn run(config: &ChaosConfig, mut progress: impl FnMut(&str)) -> Result<Vec<Event>, String> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut faults = config.faults.clone();
    let (mut cluster, bootstrap, topic) = match &config.bootstrap {
        Some(bootstrap) => {
            if !faults.is_empty() {
                return Err("faults need a cluster of the run's own; against an existing cluster (--bootstrap-server) only the workload runs".into());
            }
            let topic = format!("cairn-chaos-{}", config.seed);
            create_topic_kafka(bootstrap, &topic, config)?;
            (None, bootstrap.clone(), topic)
        }
        None => {
            let firewall = if faults.contains(&Fault::Partition) {
                match crate::net::Firewall::open() {
                    Ok(f) => Some(f),
                    Err(e) => {
                        progress(&format!(
                            "partition fault unavailable: {e}; running the other faults"
                        ));
                        faults.retain(|f| *f != Fault::Partition);
                        None
                    }
                }
            } else {
                None
            };
            let cluster = Cluster::start(&config.bin, &config.dir, config.nodes, firewall)
                .map_err(|e| format!("cannot start brokers: {e}"))?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match cluster.create_topic(TOPIC, config.partitions, config.replication_factor) {
                    Ok(()) => break,
                    Err(e) if Instant::now() > deadline => {
                        return Err(format!("cannot create the workload topic: {e}"))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(500)),
                }
            }
            let bootstrap = cluster.bootstrap();
            (Some(cluster), bootstrap, TOPIC.to_string())
        }
    };
    if !wait_healthy(&bootstrap, &topic, config, Duration::from_secs(60)) {
        return Err(format!("the workload topic '{topic}' never became healthy"));
    }
    progress(&format!(
        "{}, topic '{topic}' with {} partitions (RF {}); faults {:?}",
        match &cluster {
            Some(_) => format!("cluster of {} brokers up", config.nodes),
            None => format!("existing cluster at {bootstrap}"),
        },
        config.partitions,
        config.replication_factor,
        faults
    ));

    let start = Instant::now();
    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let txn_counts: Arc<[AtomicU64; 3]> = Arc::default();
    let txn_producers: Vec<_> = match config.workload {
        Workload::Txn => (0..config.producers as u64)
            .map(|process| {
                let producer = crate::txn::ProducerConfig {
                    process,
                    seed: config.seed,
                    bootstrap: bootstrap.clone(),
                    topic: topic.clone(),
                    partitions: config.partitions as i32,
                    start,
                    events: events.clone(),
                    stop: stop.clone(),
                    counts: txn_counts.clone(),
                };
                std::thread::spawn(move || crate::txn::run_producer(producer))
            })
            .collect(),
        _ => Vec::new(),
    };
    let plain_producers = if config.workload == Workload::Txn {
        0
    } else {
        config.producers
    };
    let producers: Vec<_> = (0..plain_producers)
        .map(|process| {
            let (events, stop, counts, bootstrap, topic) = (
                events.clone(),
                stop.clone(),
                counts.clone(),
                bootstrap.clone(),
                topic.clone(),
            );
            let partitions = config.partitions as i32;
            let settings = producer_settings(config.workload);
            runtime.spawn(async move {
                let mut client = ClientConfig::new();
                client.set("bootstrap.servers", &bootstrap);
                for (key, value) in settings {
                    client.set(key, value);
                }
                let producer: FutureProducer = match client.create() {
                    Ok(p) => p,
                    Err(_) => return,
                };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let value = format!("p{process}-{n}");
                    let partition = (n % partitions as u64) as i32;
                    n += 1;
                    let invoked_ns = now_ns(start);
                    let result = producer
                        .send(
                            FutureRecord::<(), _>::to(&topic)
                                .payload(&value)
                                .partition(partition),
                            Duration::from_secs(5),
                        )
                        .await;
                    let outcome = match &result {
                        Ok(d) => Outcome::Ok { offset: d.offset },
                        Err((e, _)) if definitely_failed(e) => Outcome::Fail,
                        Err(_) => Outcome::Info,
                    };
                    match outcome {
                        Outcome::Ok { .. } => &counts.ok,
                        Outcome::Fail => &counts.fail,
                        Outcome::Info => &counts.info,
                    }
                    .fetch_add(1, Ordering::Relaxed);
                    let send = Send {
                        process: process as u64,
                        partition,
                        value,
                        invoked_ns,
                        completed_ns: now_ns(start),
                        outcome,
                    };
                    events.lock().expect("events lock").push(Event::Send(send));
                    if !matches!(outcome, Outcome::Ok { .. }) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();
    let sessions = Arc::new(AtomicU64::new(1));
    let members: Vec<_> = match config.workload {
        Workload::Group => (0..config.consumers as u64)
            .map(|index| {
                let member = crate::group::MemberConfig {
                    index,
                    seed: config.seed,
                    bootstrap: bootstrap.clone(),
                    topic: topic.clone(),
                    start,
                    events: events.clone(),
                    sessions: sessions.clone(),
                    stop: stop.clone(),
                };
                std::thread::spawn(move || crate::group::run_member(member))
            })
            .collect(),
        Workload::Plain | Workload::Idempotent | Workload::Txn => Vec::new(),
    };
    let txn_consumer = (config.workload == Workload::Txn).then(|| {
        let (events, stop, bootstrap, topic) = (
            events.clone(),
            stop.clone(),
            bootstrap.clone(),
            topic.clone(),
        );
        let partitions = config.partitions as i32;
        std::thread::spawn(move || {
            crate::txn::run_consumer(bootstrap, topic, partitions, events, stop)
        })
    });
    let consumer = matches!(config.workload, Workload::Plain | Workload::Idempotent).then(|| {
        let (events, stop, bootstrap, topic) = (
            events.clone(),
            stop.clone(),
            bootstrap.clone(),
            topic.clone(),
        );
        let partitions = config.partitions as i32;
        std::thread::spawn(move || {
            let consumer: BaseConsumer = match ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "cairn-chaos")
                .set("enable.auto.commit", "false")
                .set("auto.offset.reset", "earliest")
                .create()
            {
                Ok(c) => c,
                Err(_) => return,
            };
            let mut tpl = TopicPartitionList::new();
            for p in 0..partitions {
                let _ = tpl.add_partition_offset(&topic, p, Offset::Beginning);
            }
            if consumer.assign(&tpl).is_err() {
                return;
            }
            while !stop.load(Ordering::Relaxed) {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                    let value =
                        String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                    let poll = Poll {
                        session: 1,
                        partition: m.partition(),
                        records: vec![(m.offset(), value)],
                    };
                    events.lock().expect("events lock").push(Event::Poll(poll));
                }
            }
        })
    });

    // The nemesis: a fault, then its healing, alternating every interval.
    let record = |progress: &mut dyn FnMut(&str), action: String| {
        let at_ns = now_ns(start);
        progress(&format!(
            "{:>6.1}s  {action}",
            Duration::from_nanos(at_ns).as_secs_f64()
        ));
        events
            .lock()
            .expect("events lock")
            .push(Event::Nemesis { at_ns, action });
    };
    let mut current: Option<Action> = None;
    // Membership changes go beside the other faults, not in turn with them.
    let membership = faults.contains(&Fault::Membership);
    faults.retain(|f| *f != Fault::Membership);
    let faults_until = Instant::now() + config.duration;
    let mut next_step = Instant::now();
    let mut next_status = Instant::now() + Duration::from_secs(10);
    while Instant::now() < faults_until {
        if Instant::now() >= next_step {
            next_step += config.interval;
            if membership {
                let cluster = cluster.as_mut().expect("faults need a cluster");
                let line = change_membership(&mut rng, cluster, &topic, config);
                record(&mut progress, line);
            }
            if let Some(action) = current.take() {
                let line = heal(cluster.as_mut().expect("faults need a cluster"), &action);
                record(&mut progress, line);
            } else if !faults.is_empty() {
                let cluster = cluster.as_mut().expect("faults need a cluster");
                let fault = faults[rng.gen_range(0..faults.len())];
                let (action, why) = choose(&mut rng, fault, cluster, &topic, config.partitions);
                let line = match apply(cluster, &action) {
                    Ok(()) => {
                        current = Some(action);
                        why
                    }
                    Err(e) => format!("{why}: failed: {e}"),
                };
                record(&mut progress, line);
            }
        }
        if Instant::now() >= next_status {
            next_status += Duration::from_secs(10);
            progress(&format!(
                "{:>6.1}s  {}; fault: {}",
                start.elapsed().as_secs_f64(),
                work_line(config.workload, &counts, &txn_counts),
                current.as_ref().map_or("none".into(), describe)
            ));
        }
        let wake = next_step.min(next_status).min(faults_until);
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
    if let Some(action) = current.take() {
        let line = heal(cluster.as_mut().expect("faults need a cluster"), &action);
        record(&mut progress, line);
    }
    progress(&format!(
        "{:>6.1}s  faults over ({}); healing",
        start.elapsed().as_secs_f64(),
        work_line(config.workload, &counts, &txn_counts)
    ));
    let healthy = wait_healthy(&bootstrap, &topic, config, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        let _ = runtime.block_on(p);
    }
    for p in txn_producers {
        let _ = p.join();
    }
    if let Some(consumer) = consumer.or(txn_consumer) {
        let _ = consumer.join();
    }
    for member in members {
        let _ = member.join();
    }
    if !healthy {
        return Err("the cluster did not heal within 60 s".into());
    }
    let isolation = match config.workload {
        Workload::Txn => "read_committed",
        _ => "read_uncommitted",
    };
    let finals =
        crate::final_read::final_read(&bootstrap, &topic, config.partitions as i32, isolation)?;
    let committed = match config.workload {
        Workload::Group => {
            crate::group::final_committed(&bootstrap, &topic, config.partitions as i32, start)?
        }
        Workload::Plain | Workload::Idempotent | Workload::Txn => Vec::new(),
    };
    let mut events = std::mem::take(&mut *events.lock().expect("events lock"));
    events.extend(finals);
    events.extend(committed);
    progress(&format!(
        "{:>6.1}s  {}; final read done",
        start.elapsed().as_secs_f64(),
        work_line(config.workload, &counts, &txn_counts)
    ));
    Ok(events)
}

/// The progress line's counts: sends, or transactions by outcome.
fn work_line(workload: Workload, counts: &Counts, txns: &[AtomicU64; 3]) -> String {
    match workload {
        Workload::Txn => format!(
            "transactions: {} committed, {} aborted, {} unknown",
            txns[0].load(Ordering::Relaxed),
            txns[1].load(Ordering::Relaxed),
            txns[2].load(Ordering::Relaxed)
        ),
        _ => format!("sends: {}", counts.line()),
    }
}

fn describe(action: &Action) -> String {
    let list = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    match action {
        Action::Kill(ids) => format!("kill {}", list(ids)),
        Action::Pause(ids) => format!("pause {}", list(ids)),
        Action::Partition(sides) => format!(
            "partition {}",
            sides
                .iter()
                .map(|s| format!("[{}]", list(s)))
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    }
}

/// The leader of a random partition of `topic` and the controller, as the
/// cluster reports them now.
fn leaders(cluster: &Cluster, topic: &str, partition: u32) -> (Option<u64>, Option<u64>) {
    let Some(view) = cluster.get("/v1/cluster") else {
        return (None, None);
    };
    let leader = view["partitions"].as_array().and_then(|ps| {
        ps.iter()
            .find(|p| p["topic"] == topic && p["partition"] == partition)
            .and_then(|p| p["leader"].as_u64())
    });
    (leader, view["controller"].as_u64())
}

/// Picks the next fault's targets; returns the action and a line saying why
/// these brokers (the schedule is seeded; which broker leads is the cluster's).
fn choose(
    rng: &mut StdRng,
    fault: Fault,
    cluster: &Cluster,
    topic: &str,
    partitions: u32,
) -> (Action, String) {
    let mut ids: Vec<u64> = cluster.brokers.keys().copied().collect();
    ids.shuffle(rng);
    let n = ids.len();
    let minority = ((n - 1) / 2).max(1);
    let partition = rng.gen_range(0..partitions);
    let (leader, controller) = leaders(cluster, topic, partition);
    let leader = leader.unwrap_or(ids[0]);
    let controller = controller.unwrap_or(ids[0]);
    let target = rng.gen_range(0..4);
    let (action, why) = match (fault, target) {
        (Fault::Kill, 0) => (Action::Kill(vec![ids[0]]), "one broker".to_string()),
        (Fault::Kill, 1) => (
            Action::Kill(vec![leader]),
            format!("leader of partition {partition}"),
        ),
        (Fault::Kill, 2) => (Action::Kill(vec![controller]), "the controller".into()),
        (Fault::Kill, _) => (Action::Kill(ids[..minority].to_vec()), "a minority".into()),
        (Fault::Pause, 0 | 3) => (Action::Pause(vec![ids[0]]), "one broker".into()),
        (Fault::Pause, 1) => (
            Action::Pause(vec![leader]),
            format!("leader of partition {partition}"),
        ),
        (Fault::Pause, _) => (Action::Pause(vec![controller]), "the controller".into()),
        (Fault::Partition, 0 | 3) => (
            Action::Partition(vec![ids[..minority].to_vec(), ids[minority..].to_vec()]),
            "minority | majority".into(),
        ),
        (Fault::Partition, 1) => (
            Action::Partition(vec![
                vec![leader],
                ids.iter().copied().filter(|&id| id != leader).collect(),
            ]),
            format!("leader of partition {partition} isolated"),
        ),
        (Fault::Membership, _) => {
            unreachable!("membership changes run beside the faults, see change_membership")
        }
        (Fault::Partition, _) => {
            // ids[0] is the bridge: it keeps its links to both halves.
            let rest = &ids[1..];
            let half = rest.len().div_ceil(2);
            (
                Action::Partition(vec![rest[..half].to_vec(), rest[half..].to_vec()]),
                format!("two halves bridged by broker {}", ids[0]),
            )
        }
    };
    let line = format!("{} ({why})", describe(&action));
    (action, line)
}

/// One membership change (see [`Fault::Membership`]); returns the line to
/// report. The admin API answers once a move is recorded, not done.
fn change_membership(
    rng: &mut StdRng,
    cluster: &Cluster,
    topic: &str,
    config: &ChaosConfig,
) -> String {
    let partition = rng.gen_range(0..config.partitions);
    let (line, result) = match rng.gen_range(0..8) {
        0..=2 => {
            let mut ids: Vec<u64> = cluster.brokers.keys().copied().collect();
            ids.shuffle(rng);
            ids.truncate(config.replication_factor as usize);
            let body = serde_json::json!({"partition": partition, "replicas": ids});
            (
                format!("move partition {partition} to {ids:?}"),
                cluster.post(&format!("/v1/topics/{topic}/reassign"), &body),
            )
        }
        3 => {
            let body = serde_json::json!({"partition": partition, "replicas": null});
            (
                format!("cancel the move of partition {partition}"),
                cluster.post(&format!("/v1/topics/{topic}/reassign"), &body),
            )
        }
        4 => (
            "move leaderships back to preferred replicas".to_string(),
            cluster.post("/v1/cluster/rebalance-leaders", &serde_json::json!({})),
        ),
        choice => {
            let quorum = cluster.get("/v1/controller");
            let members = |k: &str| -> Vec<u64> {
                quorum
                    .as_ref()
                    .and_then(|q| q[k].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|m| m["id"].as_u64())
                    .collect()
            };
            let (voters, learners) = (members("voters"), members("learners"));
            if learners.is_empty() || voters.is_empty() {
                (
                    "move leaderships back to preferred replicas".to_string(),
                    cluster.post("/v1/cluster/rebalance-leaders", &serde_json::json!({})),
                )
            } else if choice == 7 {
                // Swap a controller voter for a learner: add, then remove.
                let (add, remove) = (
                    learners[rng.gen_range(0..learners.len())],
                    voters[rng.gen_range(0..voters.len())],
                );
                let added = cluster.post(
                    &format!("/v1/controller/voters/{add}"),
                    &serde_json::Value::Null,
                );
                let result = match added {
                    Ok(_) => cluster.delete(&format!("/v1/controller/voters/{remove}")),
                    Err(e) => Err(e),
                };
                (
                    format!("make broker {add} a controller voter instead of {remove}"),
                    result,
                )
            } else {
                // Only a broker that is no metadata voter may be drained.
                let id = learners[rng.gen_range(0..learners.len())];
                let what = if choice == 5 {
                    "decommission"
                } else {
                    "recommission"
                };
                (
                    format!("{what} broker {id}"),
                    cluster.post(&format!("/v1/brokers/{id}/{what}"), &serde_json::json!({})),
                )
            }
        }
    };
    match result {
        Ok(_) => line,
        Err(e) => format!("{line}: {e}"),
    }
}

fn apply(cluster: &mut Cluster, action: &Action) -> Result<(), String> {
    match action {
        Action::Kill(ids) => ids.iter().for_each(|&id| cluster.kill(id)),
        Action::Pause(ids) => ids.iter().for_each(|&id| cluster.pause(id)),
        Action::Partition(sides) => cluster.partition(sides)?,
    }
    Ok(())
}

/// Undoes `action`; returns the line to report.
fn heal(cluster: &mut Cluster, action: &Action) -> String {
    let mut problems = Vec::new();
    match action {
        Action::Kill(ids) => {
            for &id in ids {
                if let Err(e) = cluster.spawn(id) {
                    problems.push(format!("cannot restart broker {id}: {e}"));
                }
            }
        }
        Action::Pause(ids) => ids.iter().for_each(|&id| cluster.resume(id)),
        Action::Partition(_) => {
            if let Err(e) = cluster.heal_network() {
                problems.push(e);
            }
        }
    }
    let mut line = format!("healed: {}", describe(action));
    for p in problems {
        line.push_str("; ");
        line.push_str(&p);
    }
    line
}

/// Creates the workload topic through Kafka's CreateTopics.
fn create_topic_kafka(bootstrap: &str, topic: &str, config: &ChaosConfig) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| format!("cannot connect to {bootstrap}: {e}"))?;
    let new = NewTopic::new(
        topic,
        config.partitions as i32,
        TopicReplication::Fixed(config.replication_factor as i32),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Retried while the cluster is still forming; a topic that exists at the
    // first attempt belongs to an earlier run and would spoil the check.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut first = true;
    loop {
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let result = runtime
            .block_on(admin.create_topics([&new], &options))
            .map_err(|e| e.to_string())
            .and_then(|mut r| match r.pop() {
                Some(Ok(_)) => Ok(()),
                Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) if !first => Ok(()),
                Some(Err((_, code))) => Err(code.to_string()),
                None => Err("no result".into()),
            });
        match result {
            Ok(()) => return Ok(()),
            Err(e) if first && e == RDKafkaErrorCode::TopicAlreadyExists.to_string() => {
                return Err(format!(
                    "topic '{topic}' already exists at {bootstrap} (an earlier run with this seed?); pass another --seed"
                ))
            }
            Err(e) if Instant::now() > deadline => {
                return Err(format!("cannot create topic '{topic}' at {bootstrap}: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
        first = false;
    }
}

/// Waits until every partition of `topic` has a leader and a full ISR, as
/// Kafka Metadata reports it.
fn wait_healthy(bootstrap: &str, topic: &str, config: &ChaosConfig, timeout: Duration) -> bool {
    let Ok(consumer) = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create::<BaseConsumer>()
    else {
        return false;
    };
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(3)) {
            let healthy = md.topics().iter().any(|t| {
                t.name() == topic
                    && t.error().is_none()
                    && t.partitions().len() == config.partitions as usize
                    && t.partitions().iter().all(|p| {
                        p.leader() >= 0
                            && p.error().is_none()
                            && p.isr().len() == config.replication_factor as usize
                    })
            });
            if healthy {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_parse_and_only_the_idempotent_one_retries() {
        assert_eq!("plain".parse(), Ok(Workload::Plain));
        assert_eq!("idempotent".parse(), Ok(Workload::Idempotent));
        assert_eq!("group".parse(), Ok(Workload::Group));
        assert_eq!("txn".parse(), Ok(Workload::Txn));
        assert_eq!(
            producer_settings(Workload::Group),
            producer_settings(Workload::Plain)
        );
        assert!("exactly-once"
            .parse::<Workload>()
            .unwrap_err()
            .contains("exactly-once"));
        let plain = producer_settings(Workload::Plain);
        assert!(plain.contains(&("message.send.max.retries", "0")));
        let idempotent = producer_settings(Workload::Idempotent);
        assert!(idempotent.contains(&("enable.idempotence", "true")));
        assert!(!idempotent
            .iter()
            .any(|(k, _)| *k == "message.send.max.retries"));
    }
}
