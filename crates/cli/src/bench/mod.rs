//! `cairn bench`: a load generator for Cairn (or any Kafka cluster) and for
//! NATS JetStream, driving both with the same workload so their figures can be
//! set side by side (`scripts/bench-vs-jetstream.sh`).
//!
//! The workload: `--producers` clients, each with its own connections, keep
//! up to `--in-flight` messages unacknowledged (optionally paced to `--rate`
//! messages per second in total) and spread their messages round robin over
//! `--partitions` partitions (JetStream: one R-N stream per partition, since a
//! stream, like a partition, is one Raft group). `--consumers` read every
//! partition from its end. Each message carries the time it was due to be sent,
//! so produce → ack and produce → consume latencies come from one clock. Only
//! the `--duration` after a `--warmup` counts.
//!
//! With `--backlog SIZE` the run is a catch-up read instead (`catch_up.rs`):
//! the same producers fill the topic with SIZE bytes, then `--consumers`
//! read it all from the beginning, timed.

mod args;
mod catch_up;
mod cpu;
mod kafka;
mod nats;
mod report;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use hdrhistogram::Histogram;

pub use args::{BenchArgs, Output, System};
pub use report::Report;

/// Bytes at the start of every message: due time (ns since the run's start)
/// and the producer's sequence number.
pub const HEADER_BYTES: usize = 16;

/// Runs `cairn bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    args.validate()?;
    cpu::check(&args.server_pids)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.backlog.is_some() {
        let report = runtime.block_on(async {
            match args.system {
                System::Kafka => kafka::catch_up(&args).await,
                System::Jetstream => nats::catch_up(&args).await,
            }
        })?;
        match args.output {
            Output::Table => print!("{}", report.table()),
            Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        }
        return Ok(());
    }
    let report = runtime.block_on(async {
        match args.system {
            System::Kafka => kafka::run(&args).await,
            System::Jetstream => nats::run(&args).await,
        }
    })?;
    match args.output {
        Output::Table => print!("{}", report.table()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    if report.produce.messages == 0 {
        bail!("no message was acknowledged in the measured window");
    }
    Ok(())
}

/// The run's clock, phases, live counters and what each task measured.
#[derive(Debug)]
pub struct Run {
    start: Instant,
    /// The wall-clock time of `start`, to place stalls in broker logs.
    started_at: SystemTime,
    measure_from: Duration,
    measure_until: Duration,
    acked: AtomicU64,
    errors: AtomicU64,
    consumed: AtomicU64,
    /// The run is also over once this many messages were acknowledged
    /// (filling a backlog) ...
    until_acked: u64,
    /// ... or consumed (reading it back).
    until_consumed: u64,
}

impl Run {
    fn new(args: &BenchArgs) -> Arc<Self> {
        Self::with_limits(args.warmup, args.duration, u64::MAX, u64::MAX)
    }

    /// A run measured from its start for at most `limit`, over early once
    /// `acked` messages were acknowledged or `consumed` consumed.
    fn with_limits(warmup: Duration, limit: Duration, acked: u64, consumed: u64) -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            started_at: SystemTime::now(),
            measure_from: warmup,
            measure_until: warmup + limit,
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            consumed: AtomicU64::new(0),
            until_acked: acked,
            until_consumed: consumed,
        })
    }

    /// Time since the run started.
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn in_window(&self, t: Duration) -> bool {
        t >= self.measure_from && t < self.measure_until
    }

    fn over(&self) -> bool {
        self.now() >= self.measure_until
            || self.acked.load(Ordering::Relaxed) >= self.until_acked
            || self.consumed.load(Ordering::Relaxed) >= self.until_consumed
    }

    /// Prints a progress line to stderr every second until the run is over.
    async fn progress(self: Arc<Self>, label: String) {
        let mut last = (0, 0, Duration::ZERO);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        while !self.over() {
            tick.tick().await;
            let now = self.now();
            let acked = self.acked.load(Ordering::Relaxed);
            let consumed = self.consumed.load(Ordering::Relaxed);
            let secs = (now - last.2).as_secs_f64();
            let phase = if now < self.measure_from {
                "warm-up"
            } else {
                "measuring"
            };
            eprintln!(
                "[{label}{:>4}s {phase}] produced {:>9.0} msg/s  consumed {:>9.0} msg/s  errors {}",
                now.as_secs(),
                (acked - last.0) as f64 / secs,
                (consumed - last.1) as f64 / secs,
                self.errors.load(Ordering::Relaxed)
            );
            last = (acked, consumed, now);
        }
    }
}

/// What one producer or consumer task measured inside the window.
#[derive(Debug)]
pub struct Tally {
    messages: u64,
    bytes: u64,
    errors: u64,
    /// Microseconds.
    latency: Histogram<u64>,
    /// The highest latency (µs) of the messages due in each window of
    /// [`STALL_WINDOW`], by window index since the run started.
    slowest: BTreeMap<u64, u64>,
    first_error: Option<String>,
}

/// The width of the windows the report's stalls are found in.
pub const STALL_WINDOW: Duration = Duration::from_millis(100);

impl Tally {
    fn new() -> Self {
        Self {
            messages: 0,
            bytes: 0,
            errors: 0,
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
            slowest: BTreeMap::new(),
            first_error: None,
        }
    }

    /// A message acknowledged (or consumed) at `now`, due at `due`.
    fn record(&mut self, run: &Run, due: Duration, now: Duration, bytes: usize) {
        if run.in_window(now) {
            self.messages += 1;
            self.bytes += bytes as u64;
            let micros = now.saturating_sub(due).as_micros() as u64;
            self.latency.saturating_record(micros.max(1));
            let window = (due.as_micros() / STALL_WINDOW.as_micros()) as u64;
            let worst = self.slowest.entry(window).or_default();
            *worst = (*worst).max(micros);
        }
    }

    fn error(&mut self, run: &Run, now: Duration, error: String) {
        run.errors.fetch_add(1, Ordering::Relaxed);
        if run.in_window(now) {
            self.errors += 1;
        }
        self.first_error.get_or_insert(error);
    }

    fn merge(tallies: impl IntoIterator<Item = Tally>) -> Tally {
        let mut all = Tally::new();
        for t in tallies {
            all.messages += t.messages;
            all.bytes += t.bytes;
            all.errors += t.errors;
            all.latency
                .add(&t.latency)
                .expect("histograms with the same bounds");
            for (window, micros) in t.slowest {
                let worst = all.slowest.entry(window).or_default();
                *worst = (*worst).max(micros);
            }
            if all.first_error.is_none() {
                all.first_error = t.first_error;
            }
        }
        all
    }
}

/// The value of every message a producer sends: header, then filler that
/// does not compress (so neither side gains from compressing it).
#[derive(Debug)]
struct Payloads {
    filler: Vec<u8>,
}

impl Payloads {
    fn new(size: usize, seed: u64) -> Self {
        // xorshift: cheap, deterministic, incompressible enough for LZ4/zstd.
        let mut x = seed | 1;
        let filler = (0..size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        Self { filler }
    }

    fn message(&self, due: Duration, seq: u64) -> Vec<u8> {
        let mut value = self.filler.clone();
        value[..8].copy_from_slice(&(due.as_nanos() as u64).to_be_bytes());
        value[8..16].copy_from_slice(&seq.to_be_bytes());
        value
    }
}

/// The due time a message carries, if it has the header.
fn due_of(value: &[u8]) -> Option<Duration> {
    let nanos = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    Some(Duration::from_nanos(nanos))
}

/// When a producer's next message is due: now when unpaced, else on the
/// producer's share of `--rate`.
#[derive(Debug)]
struct Pacer {
    interval: Option<Duration>,
    next: Duration,
}

impl Pacer {
    fn new(args: &BenchArgs, producer: u32) -> Self {
        let interval = (args.rate > 0)
            .then(|| Duration::from_secs_f64(f64::from(args.producers) / args.rate as f64));
        // Producers start spread over one interval so they do not send in lockstep.
        let next = interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(f64::from(producer) / f64::from(args.producers))
        });
        Self { interval, next }
    }

    /// The due time of the next message if it is due by `now`.
    fn take(&mut self, now: Duration) -> Option<Duration> {
        match self.interval {
            None => Some(now),
            Some(i) if self.next <= now => {
                let due = self.next;
                self.next += i;
                Some(due)
            }
            Some(_) => None,
        }
    }

    /// How long until the next message is due (None when unpaced).
    fn wait(&self, now: Duration) -> Option<Duration> {
        self.interval.map(|_| self.next.saturating_sub(now))
    }
}

/// How one producer hands a message to its system.
trait Sink {
    /// Resolves when the message is acknowledged (or fails).
    type Ack: std::future::Future<Output = Result<(), String>> + Send;

    /// Sends `value` to `partition`; an error means it was not sent at all.
    fn send(
        &mut self,
        partition: u32,
        value: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<Self::Ack, String>> + Send;
}

/// Runs producer `id` until the run is over: keeps up to `--in-flight`
/// messages unacknowledged (paced when `--rate` is set), round robin over the
/// partitions, and records every acknowledgement.
async fn produce_loop(run: &Run, args: &BenchArgs, id: u32, mut sink: impl Sink) -> Tally {
    use futures::stream::{FuturesUnordered, StreamExt};

    let payloads = Payloads::new(args.message_size, u64::from(id) + 1);
    let mut pacer = Pacer::new(args, id);
    let mut tally = Tally::new();
    let mut pending = FuturesUnordered::new();
    let mut partition = id % args.partitions;
    let mut seq = 0u64;
    let in_flight = args.in_flight as usize;
    let settle = |tally: &mut Tally, due: Duration, result: Result<(), String>| {
        let now = run.now();
        match result {
            Ok(()) => {
                run.acked.fetch_add(1, Ordering::Relaxed);
                tally.record(run, due, now, args.message_size);
            }
            Err(e) => tally.error(run, now, e),
        }
    };
    while !run.over() {
        while pending.len() < in_flight {
            let Some(due) = pacer.take(run.now()) else {
                break;
            };
            let value = payloads.message(due, seq);
            seq += 1;
            let target = partition;
            partition = (partition + 1) % args.partitions;
            match sink.send(target, value).await {
                Ok(ack) => pending.push(async move { (due, ack.await) }),
                Err(e) => {
                    tally.error(run, run.now(), e);
                    break;
                }
            }
        }
        let now = run.now();
        let sleep = match pacer.wait(now) {
            Some(w) if pending.len() < in_flight => w,
            // A send was refused with nothing outstanding: try again soon.
            _ if pending.is_empty() => Duration::from_millis(10),
            _ => Duration::from_secs(3600),
        }
        .min(run.measure_until.saturating_sub(now));
        tokio::select! {
            Some((due, result)) = pending.next(), if !pending.is_empty() => {
                settle(&mut tally, due, result);
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    // Let what is still outstanding finish (it falls outside the window).
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some((due, result)) = pending.next().await {
            settle(&mut tally, due, result);
        }
    })
    .await;
    tally
}

type Task = tokio::task::JoinHandle<anyhow::Result<Tally>>;

/// What a run measured, before it becomes a report.
#[derive(Debug)]
pub struct Gathered {
    produce: Tally,
    /// None without consumers.
    consume: Option<Tally>,
    /// CPU-seconds of `--server-pid`s in the window (None without them).
    server_cpu_secs: Option<f64>,
    clock: report::Clock,
}

/// Shows progress until every producer and consumer task is done, then
/// merges what they measured, with the servers' CPU time if asked for.
async fn gather(
    run: &Arc<Run>,
    args: &BenchArgs,
    producers: Vec<Task>,
    consumers: Vec<Task>,
) -> anyhow::Result<Gathered> {
    use anyhow::Context;

    let label = if args.label.is_empty() {
        String::new()
    } else {
        format!("{} ", args.label)
    };
    let progress = tokio::spawn(run.clone().progress(label));
    let sampler = (!args.server_pids.is_empty()).then(|| {
        let (run, pids) = (run.clone(), args.server_pids.clone());
        tokio::spawn(async move { cpu::during_window(&run, &pids).await })
    });
    let mut produced = Vec::new();
    for p in producers {
        produced.push(p.await.context("producer task")??);
    }
    let mut consumed = Vec::new();
    for c in consumers {
        consumed.push(c.await.context("consumer task")??);
    }
    progress.abort();
    let server_cpu_secs = match sampler {
        Some(s) => Some(
            tokio::time::timeout(cpu::GRACE, s)
                .await
                .context("the server CPU sampler did not finish")?
                .context("server CPU sampler task")??,
        ),
        None => None,
    };
    Ok(Gathered {
        produce: Tally::merge(produced),
        consume: (args.consumers > 0).then(|| Tally::merge(consumed)),
        server_cpu_secs,
        clock: report::Clock {
            started_at: run.started_at,
            measure_from: run.measure_from,
        },
    })
}

/// Assigns partition `p` to consumer `p % consumers`.
fn partitions_of(consumer: u32, args: &BenchArgs) -> Vec<u32> {
    (0..args.partitions)
        .filter(|p| p % args.consumers == consumer)
        .collect()
}

/// A random suffix for names this run creates.
fn run_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::args::parse as args;
    use super::*;

    #[test]
    fn payload_carries_due_time_and_sequence() {
        let p = Payloads::new(64, 7);
        let m = p.message(Duration::from_micros(1234), 99);
        assert_eq!(m.len(), 64);
        assert_eq!(due_of(&m), Some(Duration::from_micros(1234)));
        assert_eq!(u64::from_be_bytes(m[8..16].try_into().unwrap()), 99);
        assert_eq!(due_of(b"short"), None);
        // The filler is not one repeated byte.
        assert!(m[16..].iter().any(|b| *b != m[16]));
    }

    #[test]
    fn pacer_spreads_the_rate_over_producers() {
        let a = args(&["--rate", "1000", "--producers", "4"]);
        let mut p = Pacer::new(&a, 1);
        // Each producer sends 250/s: one message every 4 ms, this one from 1 ms.
        assert_eq!(p.take(Duration::ZERO), None);
        assert_eq!(
            p.take(Duration::from_millis(1)),
            Some(Duration::from_millis(1))
        );
        assert_eq!(p.take(Duration::from_millis(2)), None);
        assert_eq!(
            p.wait(Duration::from_millis(2)),
            Some(Duration::from_millis(3))
        );
        // Late: every message that fell due is taken, with its own due time.
        assert_eq!(
            p.take(Duration::from_millis(20)),
            Some(Duration::from_millis(5))
        );
        assert_eq!(
            p.take(Duration::from_millis(20)),
            Some(Duration::from_millis(9))
        );
        let mut unpaced = Pacer::new(&args(&[]), 0);
        assert_eq!(
            unpaced.take(Duration::from_millis(3)),
            Some(Duration::from_millis(3))
        );
        assert_eq!(unpaced.wait(Duration::ZERO), None);
    }

    #[test]
    fn tally_counts_only_the_window() {
        let a = args(&["--warmup", "1s", "--duration", "2s"]);
        let run = Run::new(&a);
        let mut t = Tally::new();
        t.record(&run, Duration::ZERO, Duration::from_millis(500), 10);
        t.record(
            &run,
            Duration::from_millis(1000),
            Duration::from_millis(1005),
            10,
        );
        t.record(
            &run,
            Duration::from_millis(2000),
            Duration::from_millis(3500),
            10,
        );
        assert_eq!((t.messages, t.bytes), (1, 10));
        // 5 ms, within the histogram's 3 significant digits.
        assert!(
            t.latency.equivalent(t.latency.max(), 5000),
            "{}",
            t.latency.max()
        );
    }

    #[test]
    fn the_report_names_the_slowest_windows_worst_first() {
        let a = args(&["--warmup", "1s", "--duration", "10s"]);
        let run = Run::new(&a);
        let at = Duration::from_millis;
        let (mut one, mut two) = (Tally::new(), Tally::new());
        // Due 2.0 s: 300 ms late; 2.05 s (the same window): 10 ms.
        one.record(&run, at(2000), at(2300), 1);
        two.record(&run, at(2050), at(2060), 1);
        // Due 5.01 s: 80 ms; 7.5 s: 120 ms; 1.2 to 1.8 s: 1 ms each.
        two.record(&run, at(5010), at(5090), 1);
        one.record(&run, at(7500), at(7620), 1);
        for ms in (1200..1800).step_by(100) {
            one.record(&run, at(ms), at(ms + 1), 1);
        }
        let all = Tally::merge([one, two]);
        let clock = report::Clock {
            started_at: std::time::UNIX_EPOCH + Duration::from_secs(1_000),
            measure_from: a.warmup,
        };
        let m = report::Measured::from_tally(&all, 10.0, &clock);
        let stalls: Vec<(u64, f64, f64)> = m
            .stalls
            .iter()
            .map(|s| (s.at_unix_ms, s.at_secs, s.max_ms))
            .collect();
        assert_eq!(
            stalls[..3],
            [
                (1_002_000, 1.0, 300.0),
                (1_007_500, 6.5, 120.0),
                (1_005_000, 4.0, 80.0)
            ]
        );
        assert_eq!(stalls.len(), 5);
        assert!(stalls[3..].iter().all(|s| s.2 == 1.0), "{stalls:?}");
    }
}
