//! End-to-end produce benchmark: real `cairn broker` processes (built by this
//! package) on loopback, a librdkafka producer (the rdkafka crate) with
//! `acks=all`, and criterion timing how long a burst of messages takes from the
//! first send to the last acknowledgement. It spans every crate on the produce
//! path: the Kafka adapter, the appender, Raft replication, RocksDB group commit
//! and apply.
//!
//! Two shapes: one broker (replication factor 1: the local write path alone)
//! and three brokers (replication factor 3: a Raft majority per batch).
//! `cargo bench --bench produce` runs it (`scripts/bench.sh produce` on a
//! release build for this CPU); the side-by-side load generator against NATS
//! JetStream is `cairn bench` (`scripts/bench.sh jetstream`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::future::join_all;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::{ok, partitions, TestCluster};

/// Messages per measured burst.
const BURST: usize = 2_000;
/// Bytes per message value.
const MESSAGE_BYTES: usize = 1_024;
const PARTITIONS: usize = 3;

/// Starts `brokers` brokers with a topic of [`PARTITIONS`] partitions whose
/// replication factor is `brokers`, and waits until every partition has a leader.
fn cluster_with_topic(brokers: u64, topic: &str) -> TestCluster {
    let cluster = TestCluster::start(brokers);
    cluster.wait_formed(1, &(1..=brokers).collect::<Vec<_>>());
    ok(&cluster.cli(
        1,
        &[
            "topic",
            "create",
            topic,
            "-p",
            &PARTITIONS.to_string(),
            "-r",
            &brokers.to_string(),
        ],
    ));
    cluster.wait_for("every partition led", Duration::from_secs(60), || {
        let view = cluster.view(1)?;
        let ps = partitions(&view, topic);
        (ps.len() == PARTITIONS && ps.iter().all(|p| p["leader"].as_u64().is_some())).then_some(())
    });
    cluster
}

/// Sends `BURST` messages round-robin over the partitions and waits for every
/// acknowledgement; panics on a failed send (a benchmark of failures measures nothing).
async fn burst(producer: &FutureProducer, topic: &str, payload: &[u8]) {
    let sends = (0..BURST).map(|i| {
        let record = FutureRecord::<(), [u8]>::to(topic)
            .partition((i % PARTITIONS) as i32)
            .payload(payload);
        producer.send(record, Duration::from_secs(30))
    });
    for result in join_all(sends).await {
        if let Err((e, _)) = result {
            panic!("produce failed during the benchmark: {e}");
        }
    }
}

fn produce_acks_all(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let payload = vec![0x5a_u8; MESSAGE_BYTES];
    let mut group = c.benchmark_group("produce_acks_all");
    group
        .throughput(Throughput::Bytes((BURST * MESSAGE_BYTES) as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for brokers in [1_u64, 3] {
        let topic = format!("bench-rf{brokers}");
        let cluster = cluster_with_topic(brokers, &topic);
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap())
            .set("acks", "all")
            .create()
            .expect("producer");
        // Warm the producer's metadata and connections outside the measurement.
        runtime.block_on(burst(&producer, &topic, &payload));
        group.bench_with_input(BenchmarkId::new("brokers", brokers), &brokers, |b, _| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                for _ in 0..iterations {
                    runtime.block_on(burst(&producer, &topic, &payload));
                }
                start.elapsed()
            })
        });
        drop(producer);
        drop(cluster);
    }
    group.finish();
}

criterion_group!(benches, produce_acks_all);
criterion_main!(benches);
