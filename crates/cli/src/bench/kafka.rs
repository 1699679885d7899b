//! The Kafka side of `cairn bench`: librdkafka producers and consumers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use super::catch_up::{self, CatchUpReport, Fill};
use super::{
    due_of, gather, partitions_of, produce_loop, run_id, BenchArgs, Gathered, Report, Run, Sink,
    Tally,
};
use crate::clients::Acks;

fn acks(a: Acks) -> &'static str {
    match a {
        Acks::Zero => "0",
        Acks::One => "1",
        Acks::All => "all",
    }
}

fn base_config(args: &BenchArgs) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &args.bootstrap_server);
    c
}

/// Runs the workload against a Kafka cluster.
pub async fn run(args: &BenchArgs) -> anyhow::Result<Report> {
    let admin = admin(args)?;
    let (topic, created) = topic(&admin, args).await?;
    let result = measure(args, &topic).await;
    if created {
        let _ = admin
            .delete_topics(&[topic.as_str()], &AdminOptions::new())
            .await;
    }
    let measured = result?;
    let durability = durability(&admin, args).await;
    Ok(Report::new(
        args,
        args.bootstrap_server.clone(),
        topic,
        durability,
        &measured,
    ))
}

/// Fills a topic with `--backlog` bytes and times reading it back.
pub async fn catch_up(args: &BenchArgs) -> anyhow::Result<CatchUpReport> {
    let admin = admin(args)?;
    let (topic, created) = topic(&admin, args).await?;
    let result = fill_and_read(args, &topic).await;
    if created {
        let _ = admin
            .delete_topics(&[topic.as_str()], &AdminOptions::new())
            .await;
    }
    let (fill, reads) = result?;
    let durability = durability(&admin, args).await;
    Ok(CatchUpReport::new(
        args,
        args.bootstrap_server.clone(),
        topic,
        durability,
        fill,
        reads,
    ))
}

async fn fill_and_read(
    args: &BenchArgs,
    topic: &str,
) -> anyhow::Result<(Fill, Vec<catch_up::Read>)> {
    let filled = catch_up::fill(args, |run| {
        (0..args.producers)
            .map(|id| tokio::spawn(produce(run.clone(), args.clone(), topic.to_string(), id)))
            .collect()
    })
    .await?;
    let (a, t) = (args.clone(), topic.to_string());
    let messages = tokio::task::spawn_blocking(move || messages_in(&a, &t)).await??;
    let fill = Fill::new(args, messages, filled);
    let mut reads = Vec::new();
    for cache in catch_up::caches(args) {
        let read = catch_up::timed_read(args, &fill, cache, |run| {
            (0..args.consumers)
                .map(|id| {
                    let (run, args, topic) = (run.clone(), args.clone(), topic.to_string());
                    tokio::task::spawn_blocking(move || {
                        consume(&run, &args, &topic, id, Offset::Beginning)
                    })
                })
                .collect()
        })
        .await?;
        reads.push(read);
    }
    Ok((fill, reads))
}

/// Messages in every partition of `topic`: high watermark less log start.
fn messages_in(args: &BenchArgs, topic: &str) -> anyhow::Result<u64> {
    let consumer: BaseConsumer = base_config(args).create()?;
    let mut sum = 0;
    for p in 0..args.partitions as i32 {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .with_context(|| format!("cannot read the offsets of {topic}/{p}"))?;
        sum += (high - low).max(0) as u64;
    }
    Ok(sum)
}

fn admin(args: &BenchArgs) -> anyhow::Result<AdminClient<DefaultClientContext>> {
    if args.acks == Acks::Zero {
        bail!("--acks 0 has no acknowledgement to measure; use 1 or all");
    }
    base_config(args)
        .create()
        .context("cannot create a Kafka admin client")
}

/// `--topic`, or a new topic (true: delete it afterwards).
async fn topic(
    admin: &AdminClient<DefaultClientContext>,
    args: &BenchArgs,
) -> anyhow::Result<(String, bool)> {
    Ok(match &args.topic {
        Some(t) => (t.clone(), false),
        None => {
            let name = format!("cairn-bench-{}", run_id());
            create_topic(admin, args, &name).await?;
            (name, true)
        }
    })
}

async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    args: &BenchArgs,
    name: &str,
) -> anyhow::Result<()> {
    let topic = NewTopic::new(
        name,
        args.partitions as i32,
        TopicReplication::Fixed(i32::from(args.replication_factor)),
    );
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&topic], &options).await.map_err(|e| {
        anyhow!(
            "cannot create topic '{name}' at {}: {e}",
            args.bootstrap_server
        )
    })?;
    for r in results {
        r.map_err(|(t, code)| anyhow!("cannot create topic '{t}': {code}"))?;
    }
    // Wait until every partition has a leader.
    let consumer: BaseConsumer = base_config(args).create()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let led = consumer
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .ok()
            .and_then(|m| {
                m.topics().first().map(|t| {
                    t.error().is_none()
                        && t.partitions().len() == args.partitions as usize
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            })
            .unwrap_or(false);
        if led {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("topic '{name}' has partitions without a leader after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What acknowledged means, read from the first broker's configs.
async fn durability(admin: &AdminClient<DefaultClientContext>, args: &BenchArgs) -> String {
    let idempotent = if args.idempotent { ", idempotent" } else { "" };
    let acks = format!("acks={}{idempotent}", acks(args.acks));
    let flush = admin
        .describe_configs(&[ResourceSpecifier::Broker(1)], &AdminOptions::new())
        .await
        .ok()
        .and_then(|mut r| r.pop())
        .and_then(Result::ok)
        .and_then(|c| {
            c.entries
                .iter()
                .find(|e| e.name == "log.flush.interval.messages")
                .and_then(|e| e.value.clone())
        });
    match flush.as_deref() {
        Some("1") => format!("{acks}, brokers fsync every write before acknowledging"),
        Some(_) => format!("{acks}, brokers do not fsync per write (OS page cache)"),
        None => format!("{acks}, broker fsync policy unknown"),
    }
}

async fn measure(args: &BenchArgs, topic: &str) -> anyhow::Result<Gathered> {
    let run = Run::new(args);
    let consumers: Vec<_> = (0..args.consumers)
        .map(|id| {
            let (run, args, topic) = (run.clone(), args.clone(), topic.to_string());
            tokio::task::spawn_blocking(move || consume(&run, &args, &topic, id, Offset::End))
        })
        .collect();
    let producers: Vec<_> = (0..args.producers)
        .map(|id| tokio::spawn(produce(run.clone(), args.clone(), topic.to_string(), id)))
        .collect();
    gather(&run, args, producers, consumers).await
}

struct KafkaSink {
    producer: FutureProducer,
    topic: String,
}

impl Sink for KafkaSink {
    type Ack = futures::future::BoxFuture<'static, Result<(), String>>;

    async fn send(&mut self, partition: u32, value: Vec<u8>) -> Result<Self::Ack, String> {
        let record = FutureRecord::<(), _>::to(&self.topic)
            .payload(&value)
            .partition(partition as i32);
        match self.producer.send_result(record) {
            Ok(delivery) => Ok(Box::pin(async move {
                match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(e.to_string()),
                    Err(_) => Err("producer dropped the delivery".to_string()),
                }
            })),
            Err((e, _)) => Err(format!("send: {e}")),
        }
    }
}

async fn produce(run: Arc<Run>, args: BenchArgs, topic: String, id: u32) -> anyhow::Result<Tally> {
    let producer: FutureProducer = base_config(&args)
        .set("acks", acks(args.acks))
        .set("linger.ms", args.linger_ms.to_string())
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "2097151")
        .set("message.timeout.ms", "30000")
        .set("enable.idempotence", args.idempotent.to_string())
        .create()
        .context("cannot create producer")?;
    Ok(produce_loop(&run, &args, id, KafkaSink { producer, topic }).await)
}

/// Consumer `id` reads its partitions from `start` until the run is over.
fn consume(
    run: &Run,
    args: &BenchArgs,
    topic: &str,
    id: u32,
    start: Offset,
) -> anyhow::Result<Tally> {
    let mut config = base_config(args)
        .set("group.id", "cairn-bench")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", "100")
        .clone();
    for (key, value) in &args.consumer_config {
        config.set(key, value);
    }
    let consumer: BaseConsumer = config
        .create()
        .with_context(|| format!("cannot create a consumer with {:?}", args.consumer_config))?;
    let mut assignment = TopicPartitionList::new();
    for p in partitions_of(id, args) {
        assignment.add_partition_offset(topic, p as i32, start)?;
    }
    consumer.assign(&assignment)?;
    let mut tally = Tally::new();
    while !run.over() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                if let Some(due) = m.payload().and_then(due_of) {
                    run.consumed.fetch_add(1, Ordering::Relaxed);
                    tally.record(run, due, run.now(), m.payload_len());
                }
            }
            Some(Err(e)) => {
                tally.first_error.get_or_insert(format!("consume: {e}"));
            }
            None => {}
        }
    }
    Ok(tally)
}
