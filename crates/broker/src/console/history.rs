//! The broker's recent history for the console's live charts: once a
//! second the sampler reads this process's counters
//! ([`cairn_common::metrics`]) and keeps the rates over that second and the
//! produce latency quantiles in a ring of the last [`KEEP`] samples. Nothing
//! is stored: a restarted broker starts a new history.
//!
//! The rates are computed by [`Sample::between`] from two readings and the
//! time between them, with no clock inside, so they are tested without one.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_common::latency_buckets::{quantile, BUCKETS};
use cairn_common::metrics::{ApiLabel, Metrics};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Samples kept: five minutes at one a second.
pub const KEEP: usize = 300;
/// Time between samples.
pub const EVERY: Duration = Duration::from_secs(1);

/// The counters a sample is the difference of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    pub produced_bytes: u64,
    pub fetched_bytes: u64,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    pub produce_requests: u64,
    pub fetch_requests: u64,
    pub produce_latency: [u64; BUCKETS],
}

impl Counters {
    /// The counters of `m` now.
    pub fn read(m: &Metrics) -> Self {
        let k = &m.kafka;
        let requests = |api| k.requests.get(&ApiLabel { api }).map_or(0, |c| c.get());
        Self {
            produced_bytes: k.produced_bytes.get(),
            fetched_bytes: k.fetched_bytes.get(),
            received_bytes: k.received_bytes.get(),
            sent_bytes: k.sent_bytes.get(),
            produce_requests: requests("Produce"),
            fetch_requests: requests("Fetch"),
            produce_latency: k.produce_latency.snapshot(),
        }
    }
}

/// One second of a broker's traffic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When it was taken, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Record bytes appended by Produce, per second.
    pub produced_bytes_per_sec: f64,
    /// Record bytes returned by Fetch, per second.
    pub fetched_bytes_per_sec: f64,
    /// Bytes read from Kafka clients, per second.
    pub received_bytes_per_sec: f64,
    /// Bytes written to Kafka clients, per second.
    pub sent_bytes_per_sec: f64,
    /// Produce requests per second.
    pub produce_requests_per_sec: f64,
    /// Fetch requests per second.
    pub fetch_requests_per_sec: f64,
    /// Median produce latency (acks 1 and all) in the interval, in
    /// milliseconds: a bucket's upper bound. `None` without produces.
    pub produce_p50_ms: Option<f64>,
    /// The 99th percentile of the same.
    pub produce_p99_ms: Option<f64>,
}

impl Sample {
    /// The rates between two readings `elapsed` apart, stamped `at_ms`.
    pub fn between(before: &Counters, after: &Counters, elapsed: Duration, at_ms: u64) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let rate = |b: u64, a: u64| a.saturating_sub(b) as f64 / secs;
        let ms =
            |q| quantile(&before.produce_latency, &after.produce_latency, q).map(|s| s * 1000.0);
        Self {
            at_ms,
            produced_bytes_per_sec: rate(before.produced_bytes, after.produced_bytes),
            fetched_bytes_per_sec: rate(before.fetched_bytes, after.fetched_bytes),
            received_bytes_per_sec: rate(before.received_bytes, after.received_bytes),
            sent_bytes_per_sec: rate(before.sent_bytes, after.sent_bytes),
            produce_requests_per_sec: rate(before.produce_requests, after.produce_requests),
            fetch_requests_per_sec: rate(before.fetch_requests, after.fetch_requests),
            produce_p50_ms: ms(0.5),
            produce_p99_ms: ms(0.99),
        }
    }
}

/// The last [`KEEP`] samples, oldest first.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

impl History {
    /// Appends `sample`, dropping the oldest beyond [`KEEP`].
    pub fn push(&self, sample: Sample) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() == KEEP {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Every kept sample, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.iter().cloned().collect()
    }
}

/// Samples this process's metrics into `history` every [`EVERY`] until `stop`.
pub async fn run(history: std::sync::Arc<History>, mut stop: watch::Receiver<bool>) {
    let metrics = cairn_common::metrics::metrics();
    let mut before = (Counters::read(metrics), Instant::now());
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = cairn_raft::until_true(&mut stop) => return,
        }
        let after = (Counters::read(metrics), Instant::now());
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        history.push(Sample::between(
            &before.0,
            &after.0,
            after.1.duration_since(before.1),
            at_ms,
        ));
        before = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64) -> Sample {
        Sample::between(&Counters::default(), &Counters::default(), EVERY, at_ms)
    }

    #[test]
    fn rates_are_differences_over_the_elapsed_time() {
        let m = Metrics::default();
        let before = Counters::read(&m);
        m.kafka.produced_bytes.inc_by(3000);
        m.kafka.fetched_bytes.inc_by(1000);
        m.kafka.received_bytes.inc_by(3300);
        m.kafka.sent_bytes.inc_by(1200);
        for _ in 0..4 {
            m.kafka.request("Produce", Duration::from_millis(1));
            m.kafka.produce(-1, Duration::from_millis(3));
        }
        m.kafka.request("Fetch", Duration::from_millis(1));
        let after = Counters::read(&m);
        let s = Sample::between(&before, &after, Duration::from_secs(2), 77);
        assert_eq!(s.at_ms, 77);
        assert_eq!(s.produced_bytes_per_sec, 1500.0);
        assert_eq!(s.fetched_bytes_per_sec, 500.0);
        assert_eq!(s.received_bytes_per_sec, 1650.0);
        assert_eq!(s.sent_bytes_per_sec, 600.0);
        assert_eq!(s.produce_requests_per_sec, 2.0);
        assert_eq!(s.fetch_requests_per_sec, 0.5);
        // 3 ms falls in the bucket up to 3.2 ms.
        assert!((s.produce_p50_ms.unwrap() - 3.2).abs() < 1e-9);
        assert!((s.produce_p99_ms.unwrap() - 3.2).abs() < 1e-9);
    }

    #[test]
    fn a_quiet_second_has_zero_rates_and_no_latency() {
        let s = sample(1);
        assert_eq!(s.produced_bytes_per_sec, 0.0);
        assert_eq!(s.produce_p50_ms, None);
    }

    #[test]
    fn acks_zero_produces_have_no_latency() {
        let m = Metrics::default();
        let before = Counters::read(&m);
        m.kafka.produce(0, Duration::from_millis(3));
        let s = Sample::between(&before, &Counters::read(&m), EVERY, 0);
        assert_eq!(s.produce_p99_ms, None);
    }

    #[test]
    fn the_history_keeps_the_newest_samples_in_order() {
        let h = History::default();
        for i in 0..(KEEP as u64 + 5) {
            h.push(sample(i));
        }
        let kept = h.samples();
        assert_eq!(kept.len(), KEEP);
        assert_eq!(kept[0].at_ms, 5);
        assert_eq!(kept[KEEP - 1].at_ms, KEEP as u64 + 4);
    }
}
