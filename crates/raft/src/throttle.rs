//! A replication throttle: the leader of a partition that is moving limits
//! how fast it sends log entries and snapshots to the replicas catching up
//! (Kafka's `leader.replication.throttled.rate`), so that a move does not
//! starve the partition's other traffic. Each (group, target) limited is
//! paced: a message of `n` bytes may start once the previous one's
//! `n / rate` seconds have passed. A limit lapses unless renewed (the leader
//! renews it at every step of the move), so that a replica that became a
//! voter, or a leader that lost its leadership, is never throttled by a
//! limit nobody renews.
//!
//! The wait happens inside openraft's RPC, which must answer within its
//! timeout (the heartbeat interval for AppendEntries), so one wait is at
//! most half of it and the rest is owed by the next messages. The pacing
//! therefore holds for rates down to about one message (up to
//! `max_payload_entries` entries) per half heartbeat interval; below that a
//! learner still gets one message per half interval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_storage::GroupId;

use crate::transport::NodeId;

/// How long a limit holds unless renewed.
pub const LIMIT_LAPSES_AFTER: Duration = Duration::from_secs(5);

struct Limit {
    bytes_per_second: u64,
    next_free: Instant,
    until: Instant,
}

/// Limits per (group, target broker).
#[derive(Default)]
pub struct Throttle {
    limits: Mutex<HashMap<(GroupId, NodeId), Limit>>,
}

/// When a message of `bytes` may start, and when the next may, given that
/// the line is free from `next_free` at `bytes_per_second` (at least 1).
pub fn schedule(
    now: Instant,
    next_free: Instant,
    bytes: usize,
    bytes_per_second: u64,
) -> (Instant, Instant) {
    let start = now.max(next_free);
    let takes = Duration::from_secs_f64(bytes as f64 / bytes_per_second.max(1) as f64);
    (start, start + takes)
}

impl Throttle {
    /// Limits what `group` sends `target` to `bytes_per_second` for the
    /// next [`LIMIT_LAPSES_AFTER`] (0 lifts the limit).
    pub fn limit(&self, group: GroupId, target: NodeId, bytes_per_second: u64) {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if bytes_per_second == 0 {
            limits.remove(&(group, target));
            return;
        }
        let now = Instant::now();
        let limit = limits.entry((group, target)).or_insert(Limit {
            bytes_per_second,
            next_free: now,
            until: now,
        });
        limit.bytes_per_second = bytes_per_second;
        limit.until = now + LIMIT_LAPSES_AFTER;
    }

    /// Lifts every limit of `group`.
    pub fn lift(&self, group: GroupId) {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits.retain(|(g, _), _| *g != group);
    }

    /// Whether `group`'s messages to `target` are limited now.
    pub fn is_limited(&self, group: GroupId, target: NodeId) -> bool {
        let limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits
            .get(&(group, target))
            .is_some_and(|l| l.until > Instant::now())
    }

    /// Waits until a message of `bytes` from `group` to `target` may go,
    /// but no longer than `max_wait` (the RPC must still fit its timeout;
    /// the time not waited is owed by the next messages).
    pub async fn wait(&self, group: GroupId, target: NodeId, bytes: usize, max_wait: Duration) {
        let start = {
            let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let Some(limit) = limits.get_mut(&(group, target)) else {
                return;
            };
            if limit.until <= now {
                limits.remove(&(group, target));
                return;
            }
            let (start, next_free) = schedule(now, limit.next_free, bytes, limit.bytes_per_second);
            limit.next_free = next_free;
            start
        };
        let wait = start
            .saturating_duration_since(Instant::now())
            .min(max_wait);
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_go_at_the_rate() {
        let now = Instant::now();
        // 1 MB at 1 MB/s: now, and the line is free a second later.
        let (start, next) = schedule(now, now, 1_000_000, 1_000_000);
        assert_eq!(start, now);
        assert_eq!(next, now + Duration::from_secs(1));
        // The next message waits for it.
        let (start, next) = schedule(now, next, 500_000, 1_000_000);
        assert_eq!(start, now + Duration::from_secs(1));
        assert_eq!(next, now + Duration::from_millis(1500));
        // An idle line does not bank credit.
        let later = now + Duration::from_secs(10);
        assert_eq!(schedule(later, next, 10, 1_000_000).0, later);
    }

    #[tokio::test]
    async fn a_limit_applies_to_its_pair_only_and_lapses() {
        let t = Throttle::default();
        t.limit(1, 2, 1000);
        assert!(t.is_limited(1, 2));
        assert!(!t.is_limited(1, 3) && !t.is_limited(2, 2));
        // Unlimited pairs never wait.
        let before = Instant::now();
        t.wait(1, 3, 1_000_000, Duration::from_secs(5)).await;
        assert!(before.elapsed() < Duration::from_millis(500));
        // A limited pair waits, but no longer than allowed.
        t.wait(1, 2, 10_000, Duration::from_millis(100)).await;
        let before = Instant::now();
        t.wait(1, 2, 10_000, Duration::from_millis(100)).await;
        let waited = before.elapsed();
        assert!(waited >= Duration::from_millis(90), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        t.limit(1, 2, 0);
        assert!(!t.is_limited(1, 2));
        t.limit(1, 2, 1000);
        t.lift(1);
        assert!(!t.is_limited(1, 2));
    }
}
