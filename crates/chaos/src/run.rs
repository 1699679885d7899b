//! A chaos run: a cluster, a workload of acks=all producers sending unique
//! values and a consumer polling, a nemesis applying faults on a seeded
//! schedule, then healing, a final read of every partition, and the checker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
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
    /// SIGKILL a broker, restart it at the next step.
    Kill,
    /// SIGSTOP a broker, SIGCONT it at the next step.
    Pause,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "kill" => Ok(Fault::Kill),
            "pause" => Ok(Fault::Pause),
            "partition" => Err(
                "fault 'partition' (network partitions) is not implemented yet; use kill,pause"
                    .into(),
            ),
            other => Err(format!("unknown fault '{other}' (known: kill, pause)")),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
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
    /// Where broker data and logs go.
    pub dir: PathBuf,
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

/// Runs the whole thing; `progress` gets one line per event worth showing.
pub fn run(config: &ChaosConfig, mut progress: impl FnMut(&str)) -> Result<Vec<Event>, String> {
    let mut cluster = Cluster::start(&config.bin, &config.dir, config.nodes)
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
    if !cluster.wait_healthy(
        TOPIC,
        config.partitions as usize,
        config.replication_factor as usize,
        Duration::from_secs(60),
    ) {
        return Err("the workload topic never became healthy".into());
    }
    progress(&format!(
        "cluster of {} brokers up, topic '{TOPIC}' with {} partitions (RF {})",
        config.nodes, config.partitions, config.replication_factor
    ));

    let start = Instant::now();
    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let bootstrap = cluster.bootstrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let producers: Vec<_> = (0..config.producers)
        .map(|process| {
            let (events, stop, ops, bootstrap) =
                (events.clone(), stop.clone(), ops.clone(), bootstrap.clone());
            let partitions = config.partitions as i32;
            runtime.spawn(async move {
                let producer: FutureProducer = match ClientConfig::new()
                    .set("bootstrap.servers", &bootstrap)
                    .set("acks", "all")
                    .set("message.send.max.retries", "0")
                    .set("message.timeout.ms", "5000")
                    .set("linger.ms", "0")
                    .create()
                {
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
                            FutureRecord::<(), _>::to(TOPIC)
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
                    ops.fetch_add(1, Ordering::Relaxed);
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
    let consumer = {
        let (events, stop, bootstrap) = (events.clone(), stop.clone(), bootstrap.clone());
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
                let _ = tpl.add_partition_offset(TOPIC, p, Offset::Beginning);
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
    };

    // The nemesis.
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut faulted: Option<(u64, Fault)> = None;
    let faults_until = Instant::now() + config.duration;
    while Instant::now() < faults_until {
        if let Some((id, fault)) = faulted.take() {
            heal(&mut cluster, id, fault, &mut progress, start);
        } else if !config.faults.is_empty() {
            let fault = config.faults[rng.gen_range(0..config.faults.len())];
            let id = rng.gen_range(1..=config.nodes);
            match fault {
                Fault::Kill => cluster.kill(id),
                Fault::Pause => cluster.pause(id),
            }
            progress(&format!(
                "{:>6.1}s  {} ops  {fault:?} broker {id}",
                start.elapsed().as_secs_f64(),
                ops.load(Ordering::Relaxed)
            ));
            faulted = Some((id, fault));
        }
        std::thread::sleep(
            config
                .interval
                .min(faults_until.saturating_duration_since(Instant::now())),
        );
    }
    if let Some((id, fault)) = faulted.take() {
        heal(&mut cluster, id, fault, &mut progress, start);
    }
    progress(&format!(
        "{:>6.1}s  faults over; healing",
        start.elapsed().as_secs_f64()
    ));
    let healthy = cluster.wait_healthy(
        TOPIC,
        config.partitions as usize,
        config.replication_factor as usize,
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        let _ = runtime.block_on(p);
    }
    let _ = consumer.join();
    if !healthy {
        return Err("the cluster did not heal within 60 s".into());
    }
    let finals = final_read(&bootstrap, config.partitions as i32)?;
    let mut events = std::mem::take(&mut *events.lock().expect("events lock"));
    events.extend(finals);
    progress(&format!(
        "{:>6.1}s  {} ops; final read done",
        start.elapsed().as_secs_f64(),
        ops.load(Ordering::Relaxed)
    ));
    Ok(events)
}

fn heal(
    cluster: &mut Cluster,
    id: u64,
    fault: Fault,
    progress: &mut impl FnMut(&str),
    start: Instant,
) {
    match fault {
        Fault::Kill => {
            if let Err(e) = cluster.spawn(id) {
                progress(&format!("cannot restart broker {id}: {e}"));
            }
        }
        Fault::Pause => cluster.resume(id),
    }
    progress(&format!(
        "{:>6.1}s  healed {fault:?} of broker {id}",
        start.elapsed().as_secs_f64()
    ));
}

/// Reads every partition from offset 0 to its high watermark.
fn final_read(bootstrap: &str, partitions: i32) -> Result<Vec<Event>, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cairn-chaos-final")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for p in 0..partitions {
        let (_, high) = consumer
            .fetch_watermarks(TOPIC, p, Duration::from_secs(10))
            .map_err(|e| format!("watermarks of partition {p}: {e}"))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let mut records = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while records.last().map_or(0, |(o, _): &(i64, String)| o + 1) < high {
            if Instant::now() > deadline {
                return Err(format!(
                    "final read of partition {p} stuck at {} of {high}",
                    records.len()
                ));
            }
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                records.push((
                    m.offset(),
                    String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                ));
            }
        }
        out.push(Event::FinalRead {
            partition: p,
            records,
        });
    }
    Ok(out)
}
