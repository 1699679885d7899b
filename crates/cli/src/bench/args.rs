//! The flags of `cairn bench` and their checks.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};

use super::HEADER_BYTES;
use crate::clients::{parse_duration, Acks};

/// `--system`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// Cairn, or any Kafka-protocol cluster (librdkafka clients).
    Kafka,
    /// NATS JetStream (async-nats clients, publish with ack).
    Jetstream,
}

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Flags of `cairn bench`. A flag given twice takes its last value, so that
/// scripts can append overrides to their defaults.
#[derive(Args, Debug, Clone)]
#[command(args_override_self = true)]
pub struct BenchArgs {
    /// System under test.
    #[arg(long, value_enum, default_value = "kafka")]
    pub system: System,
    /// Kafka bootstrap servers, HOST:PORT (comma-separate several).
    #[arg(long, env = "CAIRN_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    pub bootstrap_server: String,
    /// NATS server URLs for `--system jetstream` (comma-separate several).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Topic (JetStream: stream-name prefix) to use; by default a new one is
    /// created and deleted afterwards.
    #[arg(long)]
    pub topic: Option<String>,
    /// Partitions of the created topic (JetStream: streams).
    #[arg(long, default_value_t = 3)]
    pub partitions: u32,
    /// Replication factor of the created topic or streams.
    #[arg(long, default_value_t = 3)]
    pub replication_factor: u16,
    /// Bytes per message value (at least 16: the send time and a sequence).
    #[arg(long, default_value_t = 1024)]
    pub message_size: usize,
    /// Concurrent producers, each with its own client and connections.
    #[arg(long, default_value_t = 4)]
    pub producers: u32,
    /// Unacknowledged messages each producer may have outstanding.
    #[arg(long, default_value_t = 64)]
    pub in_flight: u32,
    /// Target messages per second over all producers (0: as fast as acks allow).
    /// With a rate, latency counts from when a message was due, not when it
    /// was sent, so a stalled system cannot hide its backlog.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Measured time, e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before measuring starts.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Kafka acknowledgement level (JetStream always acks after its quorum).
    #[arg(long, value_enum, default_value = "all")]
    pub acks: Acks,
    /// Kafka producer `linger.ms` (librdkafka's default is 5).
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u32,
    /// Kafka producers with `enable.idempotence=true` (needs `--acks all`):
    /// measure what exactly-once-per-send costs against a plain run.
    #[arg(long)]
    pub idempotent: bool,
    /// Consumers reading every partition from its end (0: produce only).
    #[arg(long, default_value_t = 1)]
    pub consumers: u32,
    /// A name for this run in the report, e.g. the durability setting.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Process ids of the servers under test (comma-separated): their CPU
    /// time during the measured window goes into the report, as
    /// CPU-seconds per million acknowledged messages (Linux `/proc`).
    #[arg(long = "server-pid", value_delimiter = ',')]
    pub server_pids: Vec<u32>,
    /// Output format of the final report (progress goes to stderr).
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    /// Catch-up read instead of the produce workload: fill the topic with
    /// this many value bytes (e.g. 1GiB, 500MB), then time `--consumers`
    /// reading all of it from the beginning.
    #[arg(long, value_parser = parse_bytes)]
    pub backlog: Option<u64>,
    /// librdkafka setting for the Kafka consumers, KEY=VALUE (repeatable),
    /// e.g. fetch.queue.backoff.ms=0; without it they run with librdkafka's
    /// defaults (and fetch.wait.max.ms=100).
    #[arg(long = "consumer-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub consumer_config: Vec<(String, String)>,
    /// With `--backlog`: after the first read, sync and drop the OS page
    /// cache (needs root) and read it all again, from disk.
    #[arg(long, requires = "backlog")]
    pub drop_caches: bool,
}

/// Parses `KEY=VALUE`.
pub(super) fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not of the form KEY=VALUE")),
    }
}

/// Parses `1GiB`, `512MiB`, `64KiB`, `500MB`, `2GB`, `1000` (bytes).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (number, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, ""), |i| t.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 1GiB, 500MB or 4096"))?;
    let unit_bytes: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "'{s}' has unknown unit '{other}' (use B, KB, MB, GB, KiB, MiB or GiB)"
            ))
        }
    };
    n.checked_mul(unit_bytes)
        .ok_or_else(|| format!("'{s}' is too large"))
}

impl BenchArgs {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.message_size < HEADER_BYTES {
            bail!(
                "--message-size {} is too small: every message carries a {HEADER_BYTES}-byte header",
                self.message_size
            );
        }
        if self.message_size > 16 << 20 {
            bail!("--message-size {} is above 16 MiB", self.message_size);
        }
        if self.partitions == 0 {
            bail!("--partitions must be at least 1");
        }
        if self.replication_factor == 0 {
            bail!("--replication-factor must be at least 1");
        }
        if self.producers == 0 || self.producers > 1024 {
            bail!("--producers {} is out of range (1 to 1024)", self.producers);
        }
        if self.in_flight == 0 || self.in_flight > 100_000 {
            bail!(
                "--in-flight {} is out of range (1 to 100000)",
                self.in_flight
            );
        }
        if self.consumers > self.partitions {
            bail!(
                "--consumers {} is more than --partitions {}: a partition has one consumer",
                self.consumers,
                self.partitions
            );
        }
        if self.duration.is_zero() {
            bail!("--duration must be more than 0");
        }
        if self.idempotent && self.acks != Acks::All {
            bail!("--idempotent needs --acks all (an idempotent producer waits for every in-sync replica)");
        }
        if self.idempotent && self.system == System::Jetstream {
            bail!("--idempotent is a Kafka producer setting: it needs --system kafka");
        }
        if let (Some((key, _)), System::Jetstream) = (self.consumer_config.first(), self.system) {
            bail!("--consumer-config {key}=... is a librdkafka setting: it needs --system kafka");
        }
        if let Some(backlog) = self.backlog {
            if backlog < self.message_size as u64 {
                bail!(
                    "--backlog {backlog} is less than one message of --message-size {}",
                    self.message_size
                );
            }
            if self.consumers == 0 {
                bail!("--backlog needs a consumer to read it: --consumers 0 reads nothing");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

/// `cairn bench` with `extra` flags, parsed (for tests).
#[cfg(test)]
pub(super) fn parse(extra: &[&str]) -> BenchArgs {
    use clap::Parser;
    let mut argv = vec!["bench"];
    argv.extend_from_slice(extra);
    Cli::parse_from(argv).bench
}

#[cfg(test)]
mod tests {
    use super::parse as args;
    use super::*;
    use crate::bench::partitions_of;
    use clap::Parser;

    #[test]
    fn a_repeated_flag_takes_its_last_value() {
        let a = args(&["--duration", "20s", "--producers", "4", "--duration", "5s"]);
        assert_eq!(a.duration, Duration::from_secs(5));
        assert_eq!(a.producers, 4);
    }

    #[test]
    fn bad_flags_are_refused_with_their_value() {
        let err = args(&["--message-size", "8"]).validate().unwrap_err();
        assert!(err.to_string().contains("--message-size 8"), "{err}");
        let err = args(&["--consumers", "4", "--partitions", "3"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--consumers 4"), "{err}");
        let err = args(&["--in-flight", "0"]).validate().unwrap_err();
        assert!(err.to_string().contains("--in-flight 0"), "{err}");
        let err = args(&["--idempotent", "--acks", "1"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--acks all"), "{err}");
        assert!(args(&["--idempotent"]).validate().is_ok());
        let err = args(&["--system", "jetstream", "--consumer-config", "a=b"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--consumer-config a="), "{err}");
        let a = args(&["--consumer-config", "fetch.queue.backoff.ms=0"]);
        assert_eq!(
            a.consumer_config,
            [("fetch.queue.backoff.ms".to_string(), "0".to_string())]
        );
        assert!(parse_key_value("novalue")
            .unwrap_err()
            .contains("'novalue'"));
        assert!(parse_key_value("=1").is_err());
        assert_eq!(
            partitions_of(1, &args(&["--partitions", "5", "--consumers", "2"])),
            [1, 3]
        );
    }

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("500MB"), Ok(500_000_000));
        assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("10 MiB"), Ok(10 << 20));
        let err = parse_bytes("1TB").unwrap_err();
        assert!(
            err.contains("'1TB'") && err.contains("unknown unit"),
            "{err}"
        );
        assert!(parse_bytes("GiB").unwrap_err().contains("'GiB'"));
        assert!(parse_bytes("99999999999999GiB")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn bad_backlogs_are_refused_with_their_value() {
        let err = args(&["--backlog", "100", "--message-size", "1024"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--backlog 100"), "{err}");
        let err = args(&["--backlog", "1GiB", "--consumers", "0"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--consumers 0"), "{err}");
        let cli = Cli::try_parse_from(["bench", "--drop-caches"]);
        assert!(cli.is_err(), "--drop-caches without --backlog");
    }
}
