//! `cairn bench --backlog SIZE`: how fast a consumer that fell behind catches
//! up. The producers of the produce workload fill the topic (JetStream: the
//! streams) with SIZE value bytes as fast as they are acknowledged; then
//! `--consumers` read every message from the beginning, timed from the
//! moment they are started until the last message of the backlog arrived.
//! The first read finds the data where the fill left it (mostly in the OS
//! page cache); with `--drop-caches` a second one reads it after the page
//! cache was dropped, from disk.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;

use super::{cpu, BenchArgs, Run, System, Tally, Task};

/// The longest a fill or a read may take before the run fails.
pub const LIMIT: Duration = Duration::from_secs(1800);

/// Which read: the first (page cache as the fill left it) or after
/// dropping the page cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cache {
    Warm,
    Cold,
}

/// The reads a run does, in order.
pub fn caches(args: &BenchArgs) -> Vec<Cache> {
    if args.drop_caches {
        vec![Cache::Warm, Cache::Cold]
    } else {
        vec![Cache::Warm]
    }
}

/// Messages the producers send to fill `--backlog` bytes.
pub fn messages_to_fill(args: &BenchArgs) -> u64 {
    args.backlog.unwrap_or(0).div_ceil(args.message_size as u64)
}

/// The backlog as the fill left it.
#[derive(Debug, Serialize)]
pub struct Fill {
    /// Messages in the log (acknowledged ones, plus any a retried send
    /// wrote twice): what every read has to get through.
    pub messages: u64,
    /// Their value bytes.
    pub bytes: u64,
    pub seconds: f64,
    pub mb_per_sec: f64,
    /// Bytes the `--server-pid`s wrote to storage while filling (WAL,
    /// log, flushes and compactions that ran meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_written_bytes: Option<u64>,
    /// The same per value byte per replica: write amplification, end to
    /// end, without the compactions still to come.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_per_byte: Option<f64>,
}

/// One timed read of the whole backlog.
#[derive(Debug, Serialize)]
pub struct Read {
    pub cache: Cache,
    pub seconds: f64,
    pub messages: u64,
    pub bytes: u64,
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    /// CPU-seconds the `--server-pid`s used during the read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_secs: Option<f64>,
    /// The same per million messages read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_secs_per_million: Option<f64>,
}

/// How the fill went, before the log is counted.
#[derive(Debug)]
pub struct Filled {
    seconds: f64,
    /// Bytes the `--server-pid`s wrote to storage meanwhile.
    written: Option<u64>,
}

/// Fills the backlog: `spawn` starts the producers on the run it is given,
/// which is over once the backlog's messages are acknowledged. Fails if
/// they could not fill it.
pub async fn fill(
    args: &BenchArgs,
    spawn: impl FnOnce(&Arc<Run>) -> Vec<Task>,
) -> anyhow::Result<Filled> {
    let pids = &args.server_pids;
    let written_before = cpu::written_bytes(pids)?;
    let run = Run::with_limits(Duration::ZERO, LIMIT, messages_to_fill(args), u64::MAX);
    let producers = spawn(&run);
    let tally = join(&run, args, "fill", producers, "producer task").await?;
    let want = messages_to_fill(args);
    if tally.messages < want {
        bail!(
            "filled {} of the backlog's {want} messages in {} s{}",
            tally.messages,
            LIMIT.as_secs(),
            first_error(&tally)
        );
    }
    let written = cpu::written_bytes(pids)?.saturating_sub(written_before);
    Ok(Filled {
        seconds: run.now().as_secs_f64(),
        written: (!pids.is_empty()).then_some(written),
    })
}

impl Fill {
    /// `messages` counted in the log after the fill.
    pub fn new(args: &BenchArgs, messages: u64, filled: Filled) -> Self {
        let bytes = messages * args.message_size as u64;
        let replicas = u64::from(args.replication_factor);
        Self {
            messages,
            bytes,
            seconds: filled.seconds,
            mb_per_sec: bytes as f64 / filled.seconds.max(1e-9) / 1e6,
            server_written_bytes: filled.written,
            written_per_byte: filled
                .written
                .filter(|_| bytes > 0)
                .map(|w| w as f64 / (bytes * replicas) as f64),
        }
    }
}

/// Times one read of all `fill.messages`: `spawn` starts the consumers on
/// the run it is given; the read ends when they have consumed the backlog.
pub async fn timed_read(
    args: &BenchArgs,
    fill: &Fill,
    cache: Cache,
    spawn: impl FnOnce(&Arc<Run>) -> Vec<Task>,
) -> anyhow::Result<Read> {
    if cache == Cache::Cold {
        drop_page_cache()?;
    }
    let cpu_start = cpu::read_ticks(&args.server_pids)?;
    let run = Run::with_limits(Duration::ZERO, LIMIT, u64::MAX, fill.messages);
    let consumers = spawn(&run);
    let label = format!("read ({cache:?} cache)").to_lowercase();
    let tally = join(&run, args, &label, consumers, "consumer task").await?;
    let seconds = run.now().as_secs_f64();
    let cpu_secs = cpu::secs(cpu_start, cpu::read_ticks(&args.server_pids)?);
    if tally.messages < fill.messages {
        bail!(
            "read {} of the backlog's {} messages in {} s{}",
            tally.messages,
            fill.messages,
            LIMIT.as_secs(),
            first_error(&tally)
        );
    }
    let server_cpu_secs = (!args.server_pids.is_empty()).then_some(cpu_secs);
    Ok(Read {
        cache,
        seconds,
        messages: tally.messages,
        bytes: tally.bytes,
        msgs_per_sec: tally.messages as f64 / seconds,
        mb_per_sec: tally.bytes as f64 / seconds / 1e6,
        server_cpu_secs,
        cpu_secs_per_million: server_cpu_secs
            .and_then(|secs| cpu::per_million(secs, tally.messages)),
    })
}

/// Shows progress while `tasks` run, then merges what they counted.
async fn join(
    run: &Arc<Run>,
    args: &BenchArgs,
    phase: &str,
    tasks: Vec<Task>,
    what: &'static str,
) -> anyhow::Result<Tally> {
    let label = if args.label.is_empty() {
        format!("{phase} ")
    } else {
        format!("{} {phase} ", args.label)
    };
    let progress = tokio::spawn(run.clone().progress(label));
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.context(what)??);
    }
    progress.abort();
    Ok(Tally::merge(tallies))
}

fn first_error(t: &Tally) -> String {
    t.first_error
        .as_ref()
        .map(|e| format!(" (first error: {e})"))
        .unwrap_or_default()
}

/// Writes dirty pages out and drops the page cache, so that the next read
/// comes from disk (Linux; root).
fn drop_page_cache() -> anyhow::Result<()> {
    let status = std::process::Command::new("sync")
        .status()
        .context("--drop-caches: cannot run sync")?;
    if !status.success() {
        bail!("--drop-caches: sync failed ({status})");
    }
    std::fs::write("/proc/sys/vm/drop_caches", "3").context(
        "--drop-caches: cannot write 3 to /proc/sys/vm/drop_caches (it needs root on Linux)",
    )
}

/// What a `--backlog` run measured, with its workload.
#[derive(Debug, Serialize)]
pub struct CatchUpReport {
    pub system: System,
    pub label: String,
    /// What "acknowledged" meant while filling.
    pub durability: String,
    pub target: String,
    pub topic: String,
    pub partitions: u32,
    pub replication_factor: u16,
    pub message_size: usize,
    pub producers: u32,
    pub in_flight: u32,
    pub consumers: u32,
    pub backlog: Fill,
    pub reads: Vec<Read>,
}

impl CatchUpReport {
    pub fn new(
        args: &BenchArgs,
        target: String,
        topic: String,
        durability: String,
        backlog: Fill,
        reads: Vec<Read>,
    ) -> Self {
        Self {
            system: args.system,
            label: args.label.clone(),
            durability,
            target,
            topic,
            partitions: args.partitions,
            replication_factor: args.replication_factor,
            message_size: args.message_size,
            producers: args.producers,
            in_flight: args.in_flight,
            consumers: args.consumers,
            backlog,
            reads,
        }
    }

    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let b = &self.backlog;
        let _ = writeln!(
            out,
            "{:?} at {}, {} ({} partitions, RF {}): catch-up read by {} consumers",
            self.system,
            self.target,
            self.topic,
            self.partitions,
            self.replication_factor,
            self.consumers
        );
        let _ = writeln!(
            out,
            "backlog: {} messages of {} B ({:.0} MB), filled in {:.1} s ({:.1} MB/s; {})",
            b.messages,
            self.message_size,
            b.bytes as f64 / 1e6,
            b.seconds,
            b.mb_per_sec,
            self.durability
        );
        if let Some(w) = b.written_per_byte {
            let _ = writeln!(
                out,
                "servers wrote {:.2} bytes to storage per value byte per replica while filling",
                w
            );
        }
        let _ = writeln!(
            out,
            "{:<12} {:>9} {:>12} {:>9} {:>14} {:>18}",
            "read", "seconds", "msgs/s", "MB/s", "server CPU-s", "CPU-s per million"
        );
        for r in &self.reads {
            let cpu = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
            let _ = writeln!(
                out,
                "{:<12} {:>9.2} {:>12.0} {:>9.1} {:>14} {:>18}",
                format!("{:?} cache", r.cache).to_lowercase(),
                r.seconds,
                r.msgs_per_sec,
                r.mb_per_sec,
                cpu(r.server_cpu_secs),
                cpu(r.cpu_secs_per_million)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::args::parse as args;

    #[test]
    fn the_fill_rounds_the_backlog_up_to_whole_messages() {
        let a = args(&["--backlog", "1MiB", "--message-size", "1000"]);
        assert_eq!(messages_to_fill(&a), 1049);
        let a = args(&["--backlog", "1MiB"]);
        assert_eq!(messages_to_fill(&a), 1024);
        assert_eq!(caches(&a), [Cache::Warm]);
        let a = args(&["--backlog", "1MiB", "--drop-caches"]);
        assert_eq!(caches(&a), [Cache::Warm, Cache::Cold]);
    }

    #[tokio::test]
    async fn a_fill_is_over_once_its_messages_are_acknowledged() {
        let a = args(&["--backlog", "10KiB"]);
        let filled = fill(&a, |run| {
            let run = run.clone();
            vec![tokio::spawn(async move {
                let mut t = Tally::new();
                // A producer whose messages are acknowledged one by one.
                while !run.over() {
                    run.acked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    t.record(&run, run.now(), run.now(), 1024);
                }
                Ok(t)
            })]
        })
        .await
        .unwrap();
        assert_eq!(filled.written, None, "no --server-pid");
        let fill = Fill::new(&a, 10, filled);
        assert_eq!((fill.messages, fill.bytes), (10, 10240));
        assert_eq!(fill.written_per_byte, None);
        // A producer that stops short fails the fill, naming what it did.
        let err = super::fill(&a, |_| vec![tokio::spawn(async { Ok(Tally::new()) })])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("filled 0 of the backlog's 10"),
            "{err}"
        );
    }

    #[test]
    fn write_amplification_is_per_value_byte_per_replica() {
        let a = args(&["--backlog", "1MiB", "--replication-factor", "3"]);
        let filled = Filled {
            seconds: 2.0,
            written: Some(6 << 20),
        };
        let fill = Fill::new(&a, 1024, filled);
        assert_eq!(fill.written_per_byte, Some(2.0));
    }

    #[test]
    fn the_table_shows_each_read() {
        let a = args(&["--backlog", "1MiB", "--server-pid", "1"]);
        let fill = Fill::new(
            &a,
            1024,
            Filled {
                seconds: 2.0,
                written: Some(3 << 20),
            },
        );
        let read = Read {
            cache: Cache::Cold,
            seconds: 0.5,
            messages: 1024,
            bytes: 1 << 20,
            msgs_per_sec: 2048.0,
            mb_per_sec: 2.1,
            server_cpu_secs: Some(0.3),
            cpu_secs_per_million: Some(292.9),
        };
        let r = CatchUpReport::new(
            &a,
            "127.0.0.1:9092".into(),
            "t".into(),
            "acks=all".into(),
            fill,
            vec![read],
        );
        let table = r.table();
        assert!(
            table.contains("1024 messages of 1024 B (1 MB), filled in 2.0 s (0.5 MB/s"),
            "{table}"
        );
        assert!(table.contains("cold cache"), "{table}");
        assert!(table.contains("wrote 1.00 bytes"), "{table}");
        assert!(table.contains("292.9"), "{table}");
    }
}
