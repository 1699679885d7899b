//! The NATS JetStream side of `cairn bench`: async-nats publishers that wait
//! for each publish's PubAck, and ordered pull consumers.
//!
//! A Kafka partition is one Raft group with its own leader; in JetStream that
//! is a stream, so `--partitions N` becomes N streams `PREFIX-0..N` on
//! subjects `PREFIX.0..N`, each with `--replication-factor` replicas in file
//! storage.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use async_nats::jetstream::{self, consumer, stream};
use futures::stream::StreamExt;

use super::catch_up::{self, CatchUpReport, Fill};
use super::{
    due_of, gather, partitions_of, produce_loop, run_id, BenchArgs, Gathered, Report, Run, Sink,
    Tally,
};

fn urls(args: &BenchArgs) -> Vec<String> {
    args.nats_url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect()
}

/// Connects, retrying for up to 30 s while the servers start.
async fn connect(args: &BenchArgs) -> anyhow::Result<jetstream::Context> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match async_nats::ConnectOptions::new().connect(urls(args)).await {
            Ok(client) => return Ok(jetstream::new(client)),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "NATS not reachable yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot connect to NATS at {}", args.nats_url))
            }
        }
    }
}

fn stream_name(prefix: &str, p: u32) -> String {
    format!("{prefix}-{p}")
}

fn subject(prefix: &str, p: u32) -> String {
    format!("{prefix}.{p}")
}

/// Runs the workload against a JetStream cluster.
pub async fn run(args: &BenchArgs) -> anyhow::Result<Report> {
    let js = connect(args).await?;
    let (prefix, created) = streams(&js, args).await?;
    let result = measure(args, &js, &prefix).await;
    if created {
        delete_streams(&js, args, &prefix).await;
    }
    let measured = result?;
    Ok(Report::new(
        args,
        args.nats_url.clone(),
        streams_named(args, &prefix),
        durability(args),
        &measured,
    ))
}

/// Fills the streams with `--backlog` bytes and times reading them back.
pub async fn catch_up(args: &BenchArgs) -> anyhow::Result<CatchUpReport> {
    let js = connect(args).await?;
    let (prefix, created) = streams(&js, args).await?;
    let result = fill_and_read(args, &js, &prefix).await;
    if created {
        delete_streams(&js, args, &prefix).await;
    }
    let (fill, reads) = result?;
    Ok(CatchUpReport::new(
        args,
        args.nats_url.clone(),
        streams_named(args, &prefix),
        durability(args),
        fill,
        reads,
    ))
}

async fn fill_and_read(
    args: &BenchArgs,
    js: &jetstream::Context,
    prefix: &str,
) -> anyhow::Result<(Fill, Vec<catch_up::Read>)> {
    let filled = catch_up::fill(args, |run| {
        (0..args.producers)
            .map(|id| tokio::spawn(produce(run.clone(), args.clone(), prefix.to_string(), id)))
            .collect()
    })
    .await?;
    let mut messages = 0;
    for p in 0..args.partitions {
        let name = stream_name(prefix, p);
        let mut stream = js
            .get_stream(&name)
            .await
            .map_err(|e| anyhow!("stream '{name}': {e}"))?;
        let info = stream
            .info()
            .await
            .map_err(|e| anyhow!("stream '{name}': {e}"))?;
        messages += info.state.messages;
    }
    let fill = Fill::new(args, messages, filled);
    let mut reads = Vec::new();
    for cache in catch_up::caches(args) {
        let read = catch_up::timed_read(args, &fill, cache, |run| {
            (0..args.consumers)
                .map(|id| {
                    let (run, args, js, prefix) =
                        (run.clone(), args.clone(), js.clone(), prefix.to_string());
                    tokio::spawn(async move {
                        let all = consumer::DeliverPolicy::All;
                        let messages = subscribe(&js, &args, &prefix, id, all).await?;
                        consume(run, messages).await
                    })
                })
                .collect()
        })
        .await?;
        reads.push(read);
    }
    Ok((fill, reads))
}

/// `--topic` as the streams' prefix, or new streams (true: delete them
/// afterwards); each has a leader when this returns.
async fn streams(js: &jetstream::Context, args: &BenchArgs) -> anyhow::Result<(String, bool)> {
    let (prefix, created) = match &args.topic {
        Some(t) => (t.clone(), false),
        None => (format!("cairn-bench-{}", run_id()), true),
    };
    if created {
        for p in 0..args.partitions {
            create_stream(js, args, &prefix, p).await?;
        }
    }
    for p in 0..args.partitions {
        wait_for_leader(js, &stream_name(&prefix, p)).await?;
    }
    Ok((prefix, created))
}

async fn delete_streams(js: &jetstream::Context, args: &BenchArgs, prefix: &str) {
    for p in 0..args.partitions {
        let _ = js.delete_stream(stream_name(prefix, p)).await;
    }
}

fn streams_named(args: &BenchArgs, prefix: &str) -> String {
    format!("streams {}-0..{}", prefix, args.partitions)
}

fn durability(args: &BenchArgs) -> String {
    format!(
        "PubAck after a quorum of the R{} stream stored the message (fsync as the servers' sync_interval sets)",
        args.replication_factor
    )
}

async fn create_stream(
    js: &jetstream::Context,
    args: &BenchArgs,
    prefix: &str,
    p: u32,
) -> anyhow::Result<()> {
    let config = stream::Config {
        name: stream_name(prefix, p),
        subjects: vec![subject(prefix, p)],
        num_replicas: usize::from(args.replication_factor),
        storage: stream::StorageType::File,
        ..Default::default()
    };
    // A cluster that just started elects its JetStream meta leader first.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match js.create_stream(config.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "stream not created yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => bail!("cannot create stream '{}': {e}", config.name),
        }
    }
}

async fn wait_for_leader(js: &jetstream::Context, name: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let leader = match js.get_stream(name).await {
            Ok(mut s) => s
                .info()
                .await
                .ok()
                .and_then(|i| i.cluster.as_ref().and_then(|c| c.leader.clone())),
            Err(e) if std::time::Instant::now() >= deadline => {
                bail!("stream '{name}' is not available: {e}")
            }
            Err(_) => None,
        };
        if leader.is_some() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!("stream '{name}' has no leader after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn measure(
    args: &BenchArgs,
    js: &jetstream::Context,
    prefix: &str,
) -> anyhow::Result<Gathered> {
    let run = Run::new(args);
    let mut consumers = Vec::new();
    for id in 0..args.consumers {
        let messages = subscribe(js, args, prefix, id, consumer::DeliverPolicy::New).await?;
        consumers.push(tokio::spawn(consume(run.clone(), messages)));
    }
    let producers: Vec<_> = (0..args.producers)
        .map(|id| tokio::spawn(produce(run.clone(), args.clone(), prefix.to_string(), id)))
        .collect();
    gather(&run, args, producers, consumers).await
}

struct NatsSink {
    js: jetstream::Context,
    subjects: Vec<String>,
}

impl Sink for NatsSink {
    type Ack = futures::future::BoxFuture<'static, Result<(), String>>;

    async fn send(&mut self, partition: u32, value: Vec<u8>) -> Result<Self::Ack, String> {
        let subject = self.subjects[partition as usize].clone();
        match self.js.publish(subject, value.into()).await {
            Ok(ack) => Ok(Box::pin(async move {
                ack.await
                    .map(|_| ())
                    .map_err(|e| format!("publish ack: {e}"))
            })),
            Err(e) => Err(format!("publish: {e}")),
        }
    }
}

async fn produce(run: Arc<Run>, args: BenchArgs, prefix: String, id: u32) -> anyhow::Result<Tally> {
    // Each publisher has its own connection, as each Kafka producer has its own client.
    let js = connect(&args).await?;
    let subjects = (0..args.partitions).map(|p| subject(&prefix, p)).collect();
    Ok(produce_loop(&run, &args, id, NatsSink { js, subjects }).await)
}

type Messages = futures::stream::SelectAll<consumer::pull::Ordered>;

/// One ordered consumer per stream of this bench consumer, from where
/// `deliver` says (`New`: the stream's end; `All`: its first message).
async fn subscribe(
    js: &jetstream::Context,
    args: &BenchArgs,
    prefix: &str,
    id: u32,
    deliver: consumer::DeliverPolicy,
) -> anyhow::Result<Messages> {
    let mut all = Vec::new();
    for p in partitions_of(id, args) {
        let name = stream_name(prefix, p);
        let stream = js
            .get_stream(&name)
            .await
            .map_err(|e| anyhow!("stream '{name}': {e}"))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: deliver,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow!("cannot create a consumer on '{name}': {e}"))?;
        all.push(
            consumer
                .messages()
                .await
                .map_err(|e| anyhow!("cannot read '{name}': {e}"))?,
        );
    }
    Ok(futures::stream::select_all(all))
}

async fn consume(run: Arc<Run>, mut messages: Messages) -> anyhow::Result<Tally> {
    let mut tally = Tally::new();
    while !run.over() {
        let left = run.measure_until.saturating_sub(run.now());
        match tokio::time::timeout(left, messages.next()).await {
            Ok(Some(Ok(m))) => {
                if let Some(due) = due_of(&m.payload) {
                    run.consumed.fetch_add(1, Ordering::Relaxed);
                    tally.record(&run, due, run.now(), m.payload.len());
                }
            }
            Ok(Some(Err(e))) => {
                tally.first_error.get_or_insert(format!("consume: {e}"));
            }
            Ok(None) | Err(_) => break,
        }
    }
    Ok(tally)
}
