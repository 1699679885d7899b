//! `cairn produce` and `cairn consume`: Kafka clients built on librdkafka
//! (the `rdkafka` crate), the most widely deployed Kafka client library. It
//! brings what a user expects for free: metadata refresh and retries on
//! NOT_LEADER_OR_FOLLOWER and lost connections, batching, compression, and the
//! Java client's key mapping (`partitioner=murmur2_random`).

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// Where clients connect.
#[derive(Args, Debug, Clone)]
pub struct Bootstrap {
    /// Any broker's Kafka listener, HOST:PORT (comma-separate several).
    #[arg(long, env = "CAIRN_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    bootstrap_server: String,
}

impl Bootstrap {
    /// The `bootstrap.servers` value.
    pub fn servers(&self) -> &str {
        &self.bootstrap_server
    }
}

/// `--acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Acks {
    /// No response: fire and forget.
    #[value(name = "0")]
    Zero,
    /// Leader acknowledgement (Cairn answers at commit, as for all).
    #[value(name = "1")]
    One,
    /// A Raft majority persisted and applied the write.
    All,
}

/// `--compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// Flags of `cairn produce`.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// Topic to write to.
    topic: String,
    /// Key of every message.
    #[arg(long, conflicts_with = "key_separator")]
    key: Option<String>,
    /// Split each line at the first SEP into key and value.
    #[arg(long)]
    key_separator: Option<String>,
    /// Write every message to this partition.
    #[arg(long)]
    partition: Option<i32>,
    /// Acknowledgement level.
    #[arg(long, value_enum, default_value = "all")]
    acks: Acks,
    /// Compression codec.
    #[arg(long, value_enum, default_value = "none")]
    compression: Compression,
    /// How often a failed send is retried.
    #[arg(long, default_value_t = 1_000_000)]
    retries: u32,
    /// How long a message may take to be acknowledged, e.g. 30s, 500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    bootstrap: Bootstrap,
}

/// Flags of `cairn consume`.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Topic to read.
    topic: String,
    /// Read only this partition (default: all).
    #[arg(long)]
    partition: Option<i32>,
    /// Consume as a member of this consumer group: the members share the
    /// partitions, and reading starts at the group's committed offsets (new
    /// groups: the end, or the beginning with --from-beginning). Offsets are
    /// committed as messages are printed and once more on exit.
    #[arg(long, conflicts_with_all = ["partition", "offset"])]
    group: Option<String>,
    /// Start at this offset.
    #[arg(long, conflicts_with = "from_beginning")]
    offset: Option<i64>,
    /// Start at the earliest offset (default: only new messages).
    #[arg(long)]
    from_beginning: bool,
    /// Stop after this many messages.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Stop when no message arrived for this long, e.g. 5s.
    #[arg(long, value_parser = parse_duration)]
    idle_timeout: Option<Duration>,
    /// Output format: %k key, %v value, %p partition, %o offset, %t timestamp, \t, \n.
    #[arg(long, default_value = "%v")]
    format: String,
    #[command(flatten)]
    bootstrap: Bootstrap,
}

/// Parses `500ms`, `30s`, `2m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 500ms, 30s or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("'{s}' has unknown unit '{unit}' (use ms, s or m)")),
    }
}

fn partition_count(config: &ClientConfig, topic: &str) -> anyhow::Result<i32> {
    let consumer: BaseConsumer = config.create().context("cannot create a Kafka client")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| {
            anyhow!(
                "cannot fetch metadata from {}: {e}",
                config.get("bootstrap.servers").unwrap_or("?")
            )
        })?;
    let t = metadata
        .topics()
        .first()
        .ok_or_else(|| anyhow!("no metadata for topic '{topic}'"))?;
    match t.error() {
        None => {}
        Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => {
            bail!("topic '{topic}' does not exist (UNKNOWN_TOPIC_OR_PARTITION)")
        }
        Some(err) => bail!("topic '{topic}': {err:?}"),
    }
    Ok(t.partitions().len() as i32)
}

/// Runs `cairn produce`: one message per stdin line.
pub fn produce(args: ProduceArgs) -> anyhow::Result<()> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &args.bootstrap.bootstrap_server)
        .set(
            "acks",
            match args.acks {
                Acks::Zero => "0",
                Acks::One => "1",
                Acks::All => "all",
            },
        )
        .set(
            "compression.type",
            format!("{:?}", args.compression).to_lowercase(),
        )
        .set("partitioner", "murmur2_random")
        .set("message.send.max.retries", args.retries.to_string())
        .set("message.timeout.ms", args.timeout.as_millis().to_string())
        .set("linger.ms", "5");
    let partitions = partition_count(&config, &args.topic)?;
    if let Some(p) = args.partition {
        if p < 0 || p >= partitions {
            bail!(
                "--partition {p} is out of range: topic '{}' has {partitions} partitions",
                args.topic
            );
        }
    }
    let producer: FutureProducer = config.create().context("cannot create producer")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut acked, mut failed) = (0u64, 0u64);
    runtime.block_on(async {
        let mut pending = futures::stream::FuturesOrdered::new();
        let stdin = std::io::stdin();
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.context("cannot read stdin")?;
            let (key, value) = match (&args.key, &args.key_separator) {
                (Some(k), _) => (Some(k.clone()), line),
                (None, Some(sep)) => match line.split_once(sep.as_str()) {
                    Some((k, v)) => (Some(k.to_string()), v.to_string()),
                    None => (None, line),
                },
                (None, None) => (None, line),
            };
            // Unkeyed messages go round robin; keyed ones where murmur2 puts them.
            let partition = args
                .partition
                .or_else(|| key.is_none().then(|| (n as i32) % partitions));
            let producer = producer.clone();
            let topic = args.topic.clone();
            pending.push_back(async move {
                let mut record = FutureRecord::to(&topic).payload(value.as_bytes());
                if let Some(k) = &key {
                    record = record.key(k.as_bytes());
                }
                if let Some(p) = partition {
                    record = record.partition(p);
                }
                producer
                    .send(record, rdkafka::util::Timeout::Never)
                    .await
                    .map(|_| ())
                    .map_err(|(e, _)| e)
            });
            while pending.len() >= 10_000 {
                tally(
                    futures::StreamExt::next(&mut pending).await,
                    &mut acked,
                    &mut failed,
                );
            }
        }
        while let Some(result) = futures::StreamExt::next(&mut pending).await {
            tally(Some(result), &mut acked, &mut failed);
        }
        anyhow::Ok(())
    })?;
    producer
        .flush(rdkafka::util::Timeout::After(args.timeout))
        .ok();
    eprintln!("{acked} messages acknowledged, {failed} failed");
    if failed > 0 {
        bail!("{failed} messages were not acknowledged");
    }
    Ok(())
}

fn tally(
    result: Option<Result<(), rdkafka::error::KafkaError>>,
    acked: &mut u64,
    failed: &mut u64,
) {
    match result {
        Some(Ok(())) => *acked += 1,
        Some(Err(e)) => {
            *failed += 1;
            if *failed <= 5 {
                eprintln!("send failed: {e}");
            }
        }
        None => {}
    }
}

/// Expands a `--format` for one message.
fn format_message(
    format: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('k')) => out.push_str(&String::from_utf8_lossy(key.unwrap_or_default())),
            ('%', Some('v')) => out.push_str(&String::from_utf8_lossy(value.unwrap_or_default())),
            ('%', Some('p')) => out.push_str(&partition.to_string()),
            ('%', Some('o')) => out.push_str(&offset.to_string()),
            ('%', Some('t')) => out.push_str(&timestamp.unwrap_or(-1).to_string()),
            ('\\', Some('t')) => out.push('\t'),
            ('\\', Some('n')) => out.push('\n'),
            _ => {
                out.push(c);
                continue;
            }
        }
        chars.next();
    }
    out
}

/// Runs `cairn consume`.
pub fn consume(args: ConsumeArgs) -> anyhow::Result<()> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &args.bootstrap.bootstrap_server)
        .set("group.id", "cairn-cli")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    let consumer: BaseConsumer = match &args.group {
        Some(group) => {
            config
                .set("group.id", group)
                .set("enable.auto.commit", "true")
                .set("enable.auto.offset.store", "true")
                .set(
                    "auto.offset.reset",
                    if args.from_beginning {
                        "earliest"
                    } else {
                        "latest"
                    },
                );
            let consumer: BaseConsumer = config.create().context("cannot create consumer")?;
            consumer
                .subscribe(&[args.topic.as_str()])
                .with_context(|| format!("cannot subscribe to '{}'", args.topic))?;
            consumer
        }
        None => {
            let partitions = partition_count(&config, &args.topic)?;
            let wanted: Vec<i32> = match args.partition {
                Some(p) if p < 0 || p >= partitions => {
                    bail!(
                        "--partition {p} is out of range: topic '{}' has {partitions} partitions",
                        args.topic
                    )
                }
                Some(p) => vec![p],
                None => (0..partitions).collect(),
            };
            let start = match (args.offset, args.from_beginning) {
                (Some(o), _) if o >= 0 => Offset::Offset(o),
                (Some(o), _) => Offset::OffsetTail(-o),
                (None, true) => Offset::Beginning,
                (None, false) => Offset::End,
            };
            let mut assignment = TopicPartitionList::new();
            for p in &wanted {
                assignment.add_partition_offset(&args.topic, *p, start)?;
            }
            let consumer: BaseConsumer = config.create().context("cannot create consumer")?;
            consumer.assign(&assignment)?;
            consumer
        }
    };
    let mut stdout = std::io::stdout().lock();
    let mut count = 0u64;
    let mut last_message = std::time::Instant::now();
    while args.max_messages.is_none_or(|max| count < max) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let line = format_message(
                    &args.format,
                    m.key(),
                    m.payload(),
                    m.partition(),
                    m.offset(),
                    m.timestamp().to_millis(),
                );
                writeln!(stdout, "{line}")?;
                count += 1;
                last_message = std::time::Instant::now();
            }
            Some(Err(e)) => eprintln!("consume error: {e}"),
            None => {
                if args
                    .idle_timeout
                    .is_some_and(|idle| last_message.elapsed() >= idle)
                {
                    break;
                }
            }
        }
    }
    stdout.flush()?;
    if args.group.is_some() {
        consumer
            .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
            .or_else(|e| match e {
                // Nothing consumed: nothing to commit.
                rdkafka::error::KafkaError::ConsumerCommit(
                    rdkafka::types::RDKafkaErrorCode::NoOffset,
                ) => Ok(()),
                e => Err(e),
            })
            .context("cannot commit the group's offsets")?;
    }
    Ok(())
}

/// Deletes the records of `topic`/`partition` below `offset` through Kafka's
/// DeleteRecords; returns the partition's new log start offset.
pub fn delete_records(
    bootstrap: &Bootstrap,
    topic: &str,
    partition: i32,
    offset: Offset,
) -> anyhow::Result<i64> {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap.bootstrap_server)
        .create()
        .with_context(|| format!("cannot create a client for {}", bootstrap.bootstrap_server))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, offset)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let result = runtime
        .block_on(admin.delete_records(&tpl, &options))
        .with_context(|| {
            format!(
                "cannot delete records of {topic}/{partition} at {}",
                bootstrap.bootstrap_server
            )
        })?;
    let element = result
        .find_partition(topic, partition)
        .ok_or_else(|| anyhow::anyhow!("no answer for {topic}/{partition}"))?;
    element
        .error()
        .with_context(|| format!("cannot delete records of {topic}/{partition}"))?;
    match element.offset() {
        Offset::Offset(o) => Ok(o),
        other => anyhow::bail!("unexpected low watermark {other:?} for {topic}/{partition}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").unwrap_err().contains("'soon'"));
        assert!(parse_duration("5h")
            .unwrap_err()
            .contains("unknown unit 'h'"));
    }

    #[test]
    fn formats_messages() {
        let line = format_message("%k=%v %p/%o\\t%t", Some(b"k1"), Some(b"v1"), 2, 41, Some(7));
        assert_eq!(line, "k1=v1 2/41\t7");
        assert_eq!(format_message("100%", None, None, 0, 0, None), "100%");
    }
}
