//! Latency counts in fixed buckets that anyone can read, for quantiles over
//! a recent window: the reader keeps the previous snapshot and takes
//! quantiles of the difference. The Prometheus histograms do the same job
//! for a scraper (`histogram_quantile` over `rate`), but `prometheus-client`
//! does not let the process read its own buckets back; the console's
//! charts need them (see `cairn_broker::console`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket upper bounds in seconds: 100 µs doubling to ~52 s (the same as
/// the Prometheus latency histograms), then everything above.
pub const BOUNDS: [f64; 20] = {
    let mut b = [0.0; 20];
    let mut i = 0;
    let mut v = 0.0001;
    while i < 20 {
        b[i] = v;
        v *= 2.0;
        i += 1;
    }
    b
};

/// How many buckets (the bounded ones and the overflow).
pub const BUCKETS: usize = BOUNDS.len() + 1;

/// Latencies counted by bucket.
#[derive(Debug, Default)]
pub struct LatencyBuckets {
    counts: [AtomicU64; BUCKETS],
}

impl LatencyBuckets {
    /// Counts one latency.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let bucket = BOUNDS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BOUNDS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, by bucket.
    pub fn snapshot(&self) -> [u64; BUCKETS] {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }
}

/// The `q` quantile (0..=1) of the latencies counted between two snapshots,
/// in seconds: the upper bound of the bucket it falls in (for the overflow
/// bucket, the last bound). `None` when nothing was counted in between.
pub fn quantile(before: &[u64; BUCKETS], after: &[u64; BUCKETS], q: f64) -> Option<f64> {
    let deltas: Vec<u64> = after
        .iter()
        .zip(before)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    let total: u64 = deltas.iter().sum();
    if total == 0 {
        return None;
    }
    // The rank of the quantile, 1-based: the smallest count that covers q.
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (i, d) in deltas.iter().enumerate() {
        seen += d;
        if seen >= rank {
            return Some(BOUNDS[i.min(BOUNDS.len() - 1)]);
        }
    }
    Some(BOUNDS[BOUNDS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_from_100_microseconds() {
        assert_eq!(BOUNDS[0], 0.0001);
        assert_eq!(BOUNDS[1], 0.0002);
        assert!((BOUNDS[19] - 52.4288).abs() < 1e-9);
    }

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let b = LatencyBuckets::default();
        b.observe(Duration::from_micros(100));
        b.observe(Duration::from_micros(150));
        b.observe(Duration::from_secs(100));
        let s = b.snapshot();
        assert_eq!(s[0], 1);
        assert_eq!(s[1], 1);
        assert_eq!(s[BUCKETS - 1], 1);
        assert_eq!(s.iter().sum::<u64>(), 3);
    }

    #[test]
    fn quantiles_are_taken_over_the_window_between_snapshots() {
        let b = LatencyBuckets::default();
        // Before the window: slow requests that must not count.
        for _ in 0..100 {
            b.observe(Duration::from_secs(1));
        }
        let before = b.snapshot();
        // In the window: 98 fast (≤ 0.8 ms), 2 slow (≤ 51.2 ms).
        for _ in 0..98 {
            b.observe(Duration::from_micros(700));
        }
        for _ in 0..2 {
            b.observe(Duration::from_millis(50));
        }
        let after = b.snapshot();
        assert_eq!(quantile(&before, &after, 0.5), Some(0.0008));
        assert_eq!(quantile(&before, &after, 0.98), Some(0.0008));
        assert!((quantile(&before, &after, 0.99).unwrap() - 0.0512).abs() < 1e-12);
        assert!((quantile(&before, &after, 1.0).unwrap() - 0.0512).abs() < 1e-12);
        assert_eq!(quantile(&after, &after, 0.5), None);
    }

    #[test]
    fn the_overflow_bucket_reports_the_last_bound() {
        let b = LatencyBuckets::default();
        let before = b.snapshot();
        b.observe(Duration::from_secs(600));
        assert_eq!(quantile(&before, &b.snapshot(), 0.5), Some(BOUNDS[19]));
    }
}
