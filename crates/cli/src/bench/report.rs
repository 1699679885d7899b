//! The final report of `cairn bench`: a table for people, JSON for scripts.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{cpu, BenchArgs, Gathered, System, Tally, STALL_WINDOW};

/// How many of the slowest windows a report lists.
const STALLS: usize = 5;

/// A window of [`STALL_WINDOW`] whose messages waited longest for their
/// acknowledgement: when it was, to find its cause in the brokers' logs.
#[derive(Debug, Serialize)]
pub struct Stall {
    /// When the window's messages were due, in milliseconds since the Unix
    /// epoch.
    pub at_unix_ms: u64,
    /// The same in seconds since the measured window began.
    pub at_secs: f64,
    /// The highest latency of a message due in the window.
    pub max_ms: f64,
}

/// Where a run's clock stands against the wall clock.
#[derive(Debug)]
pub struct Clock {
    /// The wall-clock time the run started.
    pub started_at: SystemTime,
    /// When the measured window began, since the run started.
    pub measure_from: Duration,
}

impl Clock {
    /// Milliseconds since the Unix epoch at `since_start` into the run.
    fn unix_ms(&self, since_start: Duration) -> u64 {
        (self.started_at + since_start)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// Throughput and latency of one direction (produce → ack or produce → consume).
#[derive(Debug, Serialize)]
pub struct Measured {
    /// Messages acknowledged (consumed) inside the measured window.
    pub messages: u64,
    /// Their value bytes.
    pub bytes: u64,
    /// Failed sends inside the window (always 0 for consume).
    pub errors: u64,
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// The windows with the highest latency, worst first.
    pub stalls: Vec<Stall>,
    /// The first error message seen, if any (warm-up included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Measured {
    pub(super) fn from_tally(t: &Tally, seconds: f64, clock: &Clock) -> Self {
        let ms = |q: f64| t.latency.value_at_quantile(q) as f64 / 1000.0;
        let any = !t.latency.is_empty();
        let mut worst: Vec<(u64, u64)> = t.slowest.iter().map(|(w, m)| (*w, *m)).collect();
        worst.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let stalls = worst
            .into_iter()
            .take(STALLS)
            .map(|(window, micros)| {
                let since_start = STALL_WINDOW * window as u32;
                Stall {
                    at_unix_ms: clock.unix_ms(since_start),
                    at_secs: since_start.saturating_sub(clock.measure_from).as_secs_f64(),
                    max_ms: micros as f64 / 1000.0,
                }
            })
            .collect();
        Self {
            messages: t.messages,
            bytes: t.bytes,
            errors: t.errors,
            msgs_per_sec: t.messages as f64 / seconds,
            mb_per_sec: t.bytes as f64 / seconds / 1e6,
            p50_ms: if any { ms(0.5) } else { 0.0 },
            p99_ms: if any { ms(0.99) } else { 0.0 },
            p999_ms: if any { ms(0.999) } else { 0.0 },
            max_ms: if any {
                t.latency.max() as f64 / 1000.0
            } else {
                0.0
            },
            stalls,
            first_error: t.first_error.clone(),
        }
    }
}

/// Everything one `cairn bench` run measured, with the workload that produced it.
#[derive(Debug, Serialize)]
pub struct Report {
    pub system: System,
    pub label: String,
    /// What "acknowledged" means on this system.
    pub durability: String,
    pub target: String,
    pub topic: String,
    pub partitions: u32,
    pub replication_factor: u16,
    pub message_size: usize,
    pub producers: u32,
    pub in_flight: u32,
    pub rate: u64,
    pub consumers: u32,
    pub warmup_secs: f64,
    pub duration_secs: f64,
    /// Produce → acknowledgement.
    pub produce: Measured,
    /// Produce → consume (absent without consumers).
    pub consume: Option<Measured>,
    /// CPU-seconds the `--server-pid`s used in the measured window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_secs: Option<f64>,
    /// The same per million acknowledged messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_secs_per_million: Option<f64>,
}

impl Report {
    pub(super) fn new(
        args: &BenchArgs,
        target: String,
        topic: String,
        durability: String,
        measured: &Gathered,
    ) -> Self {
        let seconds = args.duration.as_secs_f64();
        let produce = Measured::from_tally(&measured.produce, seconds, &measured.clock);
        let cpu_secs_per_million = measured
            .server_cpu_secs
            .and_then(|secs| cpu::per_million(secs, produce.messages));
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
            rate: args.rate,
            consumers: args.consumers,
            warmup_secs: args.warmup.as_secs_f64(),
            duration_secs: seconds,
            produce,
            consume: measured
                .consume
                .as_ref()
                .map(|t| Measured::from_tally(t, seconds, &measured.clock)),
            server_cpu_secs: measured.server_cpu_secs,
            cpu_secs_per_million,
        }
    }

    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let rate = if self.rate == 0 {
            "unpaced".to_string()
        } else {
            format!("{} msg/s target", self.rate)
        };
        let _ = writeln!(
            out,
            "{:?} at {}, {} ({} partitions, RF {}): {} B messages, {} producers x {} in flight, {rate}, {} consumers",
            self.system,
            self.target,
            self.topic,
            self.partitions,
            self.replication_factor,
            self.message_size,
            self.producers,
            self.in_flight,
            self.consumers
        );
        let _ = writeln!(
            out,
            "durability: {}; measured {:.0} s after {:.0} s warm-up",
            self.durability, self.duration_secs, self.warmup_secs
        );
        let _ = writeln!(
            out,
            "{:<18} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "", "msgs/s", "MB/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors"
        );
        let mut row = |name: &str, m: &Measured| {
            let _ = writeln!(
                out,
                "{name:<18} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}",
                m.msgs_per_sec, m.mb_per_sec, m.p50_ms, m.p99_ms, m.p999_ms, m.max_ms, m.errors
            );
        };
        row("produce -> ack", &self.produce);
        if let Some(c) = &self.consume {
            row("produce -> consume", c);
        }
        if let (Some(secs), Some(per_million)) = (self.server_cpu_secs, self.cpu_secs_per_million) {
            let _ = writeln!(
                out,
                "servers: {secs:.1} CPU-seconds in the window, {per_million:.1} per million acknowledged messages"
            );
        }
        if !self.produce.stalls.is_empty() {
            let worst: Vec<String> = self
                .produce
                .stalls
                .iter()
                .map(|s| format!("{:.0} ms at {:.1} s", s.max_ms, s.at_secs))
                .collect();
            let _ = writeln!(
                out,
                "slowest {} ms windows (ack latency): {}",
                STALL_WINDOW.as_millis(),
                worst.join(", ")
            );
        }
        if let Some(e) = &self.produce.first_error {
            let _ = writeln!(out, "first send error: {e}");
        }
        out
    }
}
