//! The transactional workload (Jepsen's Kafka transactional workload, on
//! one topic): producers with a `transactional.id` each run transactions of
//! 1 to 4 sends of unique values to random partitions, then commit (most)
//! or abort (some); a `read_committed` consumer polls all partitions, and
//! the final read after healing is `read_committed` too
//! (`crate::run::final_read`).
//!
//! Each send is also recorded as a plain send whose outcome is the
//! transaction's: acknowledged (at the offset its delivery report gave) when
//! the commit was acknowledged, failed when the transaction was definitely
//! aborted, unknown otherwise. So the plain checks apply as they are —
//! `lost-write` is a committed value missing, `duplicate` a value at two
//! offsets, `realtime-order` a committed transaction's record ordered after
//! a later one — and the transaction checks (see [`crate::checker`]) add
//! `G1a` (an aborted value read) and `non-atomic` (some of a transaction's
//! values read and others not).
//!
//! Error handling follows librdkafka's transactional API: a retriable error
//! retries the call, one that requires an abort aborts, and a fatal one
//! (a fenced producer) ends the producer, which starts again as a new
//! instance of the same transactional id (fencing the old one).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::history::{Event, Outcome, Poll, Send, Txn, TxnOutcome};

/// How long a transactional call may take before it is tried again.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The transaction timeout the producers ask for: a transaction left open
/// by a producer that gave up is aborted by the coordinator this soon.
const TXN_TIMEOUT_MS: &str = "10000";
/// Share of transactions the workload aborts on purpose.
const ABORT_SHARE: f64 = 0.2;

/// One transactional producer's settings.
pub struct ProducerConfig {
    pub process: u64,
    pub seed: u64,
    pub bootstrap: String,
    pub topic: String,
    pub partitions: i32,
    pub start: Instant,
    pub events: Arc<Mutex<Vec<Event>>>,
    pub stop: Arc<AtomicBool>,
    /// Transactions by outcome so far: committed, aborted, unknown.
    pub counts: Arc<[AtomicU64; 3]>,
}

fn now_ns(start: Instant) -> u64 {
    start.elapsed().as_nanos() as u64
}

/// The librdkafka settings of a transactional producer.
pub fn producer_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("transaction.timeout.ms", TXN_TIMEOUT_MS),
        ("message.timeout.ms", TXN_TIMEOUT_MS),
        ("linger.ms", "0"),
    ]
}

fn create(config: &ProducerConfig) -> Option<FutureProducer> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.bootstrap).set(
        "transactional.id",
        format!("cairn-chaos-txn-{}", config.process),
    );
    for (key, value) in producer_settings() {
        client.set(key, value);
    }
    let producer: FutureProducer = client.create().ok()?;
    // A coordinator down or moving: retry until it answers or the run ends.
    while !config.stop.load(Ordering::Relaxed) {
        match producer.init_transactions(CALL_TIMEOUT) {
            Ok(()) => return Some(producer),
            Err(e) if is_fatal(&e) => return None,
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    None
}

fn is_fatal(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(r) if r.is_fatal())
}

fn requires_abort(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(r) if r.txn_requires_abort())
}

fn retriable(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(r) if r.is_retriable())
}

/// Ends the open transaction by aborting it; `true` once the abort was
/// acknowledged (the transaction is then definitely aborted).
fn abort(producer: &FutureProducer, stop: &AtomicBool) -> bool {
    loop {
        match producer.abort_transaction(CALL_TIMEOUT) {
            Ok(()) => return true,
            Err(e) if retriable(&e) && !stop.load(Ordering::Relaxed) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(_) => return false,
        }
    }
}

/// Runs one producer's transactions until `stop`.
pub fn run_producer(config: ProducerConfig) {
    let mut rng = StdRng::seed_from_u64(config.seed.wrapping_add(config.process));
    let mut n = 0u64;
    let mut producer = None;
    while !config.stop.load(Ordering::Relaxed) {
        let Some(p) = producer.take().or_else(|| create(&config)) else {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        let invoked_ns = now_ns(config.start);
        let sends: Vec<(i32, String)> = (0..rng.gen_range(1..=4))
            .map(|_| {
                n += 1;
                (
                    rng.gen_range(0..config.partitions),
                    format!("t{}-{n}", config.process),
                )
            })
            .collect();
        let abort_on_purpose = rng.gen_bool(ABORT_SHARE);
        let (outcome, offsets, keep) = one_transaction(&p, &config, &sends, abort_on_purpose);
        let completed_ns = now_ns(config.start);
        let index = match outcome {
            TxnOutcome::Committed => 0,
            TxnOutcome::Aborted => 1,
            TxnOutcome::Unknown => 2,
        };
        config.counts[index].fetch_add(1, Ordering::Relaxed);
        let mut events = config.events.lock().expect("events lock");
        for ((partition, value), offset) in sends.iter().zip(&offsets) {
            events.push(Event::Send(Send {
                process: config.process,
                partition: *partition,
                value: value.clone(),
                invoked_ns,
                completed_ns,
                outcome: match (outcome, offset) {
                    (TxnOutcome::Committed, Some(offset)) => Outcome::Ok { offset: *offset },
                    (TxnOutcome::Aborted, _) => Outcome::Fail,
                    _ => Outcome::Info,
                },
            }));
        }
        events.push(Event::Txn(Txn {
            process: config.process,
            values: sends.into_iter().map(|(_, v)| v).collect(),
            invoked_ns,
            completed_ns,
            outcome,
        }));
        drop(events);
        if keep {
            producer = Some(p);
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One transaction: its outcome, each send's offset (if its delivery was
/// reported), and whether the producer can go on.
fn one_transaction(
    p: &FutureProducer,
    config: &ProducerConfig,
    sends: &[(i32, String)],
    abort_on_purpose: bool,
) -> (TxnOutcome, Vec<Option<i64>>, bool) {
    let no_offsets = vec![None; sends.len()];
    if let Err(e) = p.begin_transaction() {
        return (TxnOutcome::Aborted, no_offsets, !is_fatal(&e));
    }
    let deliveries: Vec<_> = sends
        .iter()
        .map(|(partition, value)| {
            p.send_result(
                FutureRecord::<(), _>::to(&config.topic)
                    .payload(value)
                    .partition(*partition),
            )
        })
        .collect();
    let _ = p.flush(CALL_TIMEOUT);
    let offsets: Vec<Option<i64>> = deliveries
        .into_iter()
        .map(|d| match d {
            Ok(delivery) => futures::executor::block_on(delivery)
                .ok()
                .and_then(|r| r.ok())
                .map(|d| d.offset),
            Err(_) => None,
        })
        .collect();
    let delivered = offsets.iter().all(Option::is_some);
    if abort_on_purpose || !delivered {
        return if abort(p, &config.stop) {
            (TxnOutcome::Aborted, offsets, true)
        } else {
            // Not acknowledged: the coordinator aborts it at its timeout.
            (TxnOutcome::Aborted, offsets, false)
        };
    }
    loop {
        match p.commit_transaction(CALL_TIMEOUT) {
            Ok(()) => return (TxnOutcome::Committed, offsets, true),
            Err(e) if retriable(&e) && !config.stop.load(Ordering::Relaxed) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) if requires_abort(&e) => {
                let aborted = abort(p, &config.stop);
                let outcome = if aborted {
                    TxnOutcome::Aborted
                } else {
                    TxnOutcome::Unknown
                };
                return (outcome, offsets, aborted);
            }
            // Fatal (fenced) or the run is ending: the commit may or may
            // not have been decided.
            Err(_) => return (TxnOutcome::Unknown, offsets, false),
        }
    }
}

/// The `read_committed` consumer of the live polls.
pub fn run_consumer(
    bootstrap: String,
    topic: String,
    partitions: i32,
    events: Arc<Mutex<Vec<Event>>>,
    stop: Arc<AtomicBool>,
) {
    let Ok(consumer) = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "cairn-chaos-txn")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create::<BaseConsumer>()
    else {
        return;
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
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            events.lock().expect("events lock").push(Event::Poll(Poll {
                session: 1,
                partition: m.partition(),
                records: vec![(m.offset(), value)],
            }));
        }
    }
}
