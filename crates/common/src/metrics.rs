//! The broker's counters and histograms, recorded where things happen (the
//! Kafka listener, the storage syncer) and exposed by the admin listener's
//! `GET /metrics` in the Prometheus text format (`prometheus-client`, the
//! Prometheus project's Rust client).
//!
//! One process is one broker, so the metrics are one per process:
//! [`metrics()`]. Gauges that describe state (partitions, offsets, ISR) are
//! not kept here: the exposition computes them from the broker's view at
//! scrape time. Names follow Prometheus' conventions: a `cairn_` prefix, base
//! units (seconds, bytes) in the name, `_total` on counters.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;

use crate::latency_buckets::LatencyBuckets;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// Labels of a Kafka request metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabel {
    /// The API's name, e.g. `Produce`, `Fetch`.
    pub api: &'static str,
}

/// Labels of a Kafka request answered with an error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiErrorLabels {
    /// The API's name.
    pub api: &'static str,
    /// The Kafka error's name, e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub error: &'static str,
}

/// Labels of a produce request's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AcksLabel {
    /// `0`, `1` or `all`.
    pub acks: &'static str,
}

/// What the Kafka listener counts.
#[derive(Debug)]
pub struct KafkaMetrics {
    /// Requests by API.
    pub requests: Family<ApiLabel, Counter>,
    /// Partitions (or requests, for APIs without partitions) answered with
    /// an error, by API and error.
    pub errors: Family<ApiErrorLabels, Counter>,
    /// Time from a request's arrival to its response being ready, by API.
    pub request_duration: Family<ApiLabel, Histogram, fn() -> Histogram>,
    /// The same for Produce, by acks.
    pub produce_duration: Family<AcksLabel, Histogram, fn() -> Histogram>,
    /// Bytes read from clients.
    pub received_bytes: Counter,
    /// Bytes of responses written to clients.
    pub sent_bytes: Counter,
    /// Open client connections.
    pub connections: Gauge,
    /// Record-batch bytes that Produce requests appended (counted when the
    /// write succeeded; with acks=0, when it was handed to the partition).
    pub produced_bytes: Counter,
    /// Record-batch bytes that Fetch responses carried to consumers.
    pub fetched_bytes: Counter,
    /// Produce latencies (acks 1 and all) in readable buckets, for the
    /// console's recent quantiles; the Prometheus histogram has the same.
    pub produce_latency: LatencyBuckets,
}

/// Labels of a metric per peer broker.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    /// The peer's broker id.
    pub peer: u64,
}

/// What the Raft groups (all of this broker's: metadata, partitions,
/// `__consumer_offsets`) count.
#[derive(Debug)]
pub struct RaftMetrics {
    /// Elections this broker stood in (it voted for itself in a new term).
    pub elections_started: Counter,
    /// Elections this broker won (its vote for itself was committed).
    pub elections_won: Counter,
    /// Times a replica here moved to a higher term.
    pub term_changes: Counter,
    /// Log entries sent to each peer in AppendEntries.
    pub sent_entries: Family<PeerLabel, Counter>,
    /// Bytes of AppendEntries requests sent to each peer.
    pub sent_bytes: Family<PeerLabel, Counter>,
    /// Snapshots built by the state machines (before a log purge).
    pub snapshots_built: Counter,
    /// Snapshots installed from a leader (a replica too far behind).
    pub snapshots_installed: Counter,
    /// Purges of log entries covered by a snapshot.
    pub log_purges: Counter,
    /// Time from handing entries to the log store until they were durable.
    pub append_duration: Histogram,
    /// Time from proposing a partition's entry until it was applied
    /// (committed by a majority and applied on the leader).
    pub commit_duration: Histogram,
}

impl Default for RaftMetrics {
    fn default() -> Self {
        Self {
            elections_started: Counter::default(),
            elections_won: Counter::default(),
            term_changes: Counter::default(),
            sent_entries: Family::default(),
            sent_bytes: Family::default(),
            snapshots_built: Counter::default(),
            snapshots_installed: Counter::default(),
            log_purges: Counter::default(),
            append_duration: latency_histogram(),
            commit_duration: latency_histogram(),
        }
    }
}

impl RaftMetrics {
    /// Adds these metrics to `registry`.
    fn register(&self, registry: &mut Registry) {
        let counters = [
            (
                "cairn_raft_elections_started",
                "Elections this broker stood in (a vote for itself in a new term)",
                &self.elections_started,
            ),
            (
                "cairn_raft_elections_won",
                "Elections this broker won (its vote for itself committed)",
                &self.elections_won,
            ),
            (
                "cairn_raft_term_changes",
                "Times a replica on this broker moved to a higher Raft term",
                &self.term_changes,
            ),
            (
                "cairn_raft_snapshots_built",
                "Snapshots built by this broker's state machines",
                &self.snapshots_built,
            ),
            (
                "cairn_raft_snapshots_installed",
                "Snapshots installed from a leader on this broker",
                &self.snapshots_installed,
            ),
            (
                "cairn_raft_log_purges",
                "Purges of Raft log entries covered by a snapshot",
                &self.log_purges,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "cairn_raft_sent_entries",
            "Raft log entries sent to each peer in AppendEntries",
            self.sent_entries.clone(),
        );
        registry.register_with_unit(
            "cairn_raft_sent",
            "Bytes of AppendEntries requests sent to each peer",
            Unit::Bytes,
            self.sent_bytes.clone(),
        );
        registry.register_with_unit(
            "cairn_raft_append_duration",
            "Time from handing Raft log entries to storage until they were durable",
            Unit::Seconds,
            self.append_duration.clone(),
        );
        registry.register_with_unit(
            "cairn_raft_commit_duration",
            "Time from proposing a partition's Raft entry until it was committed and applied",
            Unit::Seconds,
            self.commit_duration.clone(),
        );
    }
}

/// What the storage engine counts.
#[derive(Debug)]
pub struct StorageMetrics {
    /// Time one WAL fsync took.
    pub fsync_duration: Histogram,
    /// Raft log appends (of any group) made durable by one fsync: group
    /// commit at work.
    pub appends_per_fsync: Histogram,
}

/// Labels of a transaction's end.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TxnEndLabels {
    /// `commit` or `abort`.
    pub outcome: &'static str,
    /// What ended it: `client` (EndTxn), `timeout` (open past its
    /// `transaction.timeout.ms`) or `fenced` (a new producer with its
    /// transactional id).
    pub cause: &'static str,
}

/// What the transaction coordinators and marker writers of this broker count.
#[derive(Debug, Default)]
pub struct TxnMetrics {
    /// Transactions decided by the coordinators this broker leads.
    pub ended: Family<TxnEndLabels, Counter>,
    /// Markers written to partitions (counted once each, by the writer).
    pub markers: Counter,
}

/// Every metric this process records.
#[derive(Debug)]
pub struct Metrics {
    pub kafka: KafkaMetrics,
    pub raft: RaftMetrics,
    pub storage: StorageMetrics,
    pub txn: TxnMetrics,
}

/// Latency buckets: 100 µs to ~52 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

impl Default for KafkaMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            errors: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram),
            produce_duration: Family::new_with_constructor(latency_histogram),
            received_bytes: Counter::default(),
            sent_bytes: Counter::default(),
            connections: Gauge::default(),
            produced_bytes: Counter::default(),
            fetched_bytes: Counter::default(),
            produce_latency: LatencyBuckets::default(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            kafka: KafkaMetrics::default(),
            raft: RaftMetrics::default(),
            storage: StorageMetrics {
                fsync_duration: latency_histogram(),
                // 1 to 4096 appends.
                appends_per_fsync: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            },
            txn: TxnMetrics::default(),
        }
    }
}

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl KafkaMetrics {
    /// A request of `api` took `elapsed` from arrival to its answer.
    pub fn request(&self, api: &'static str, elapsed: Duration) {
        let label = ApiLabel { api };
        self.requests.get_or_create(&label).inc();
        self.request_duration
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
    }

    /// A produce request with `acks` took `elapsed` until it was answered.
    pub fn produce(&self, acks: i16, elapsed: Duration) {
        let acks = match acks {
            0 => "0",
            1 => "1",
            -1 => "all",
            _ => "invalid",
        };
        self.produce_duration
            .get_or_create(&AcksLabel { acks })
            .observe(elapsed.as_secs_f64());
        if matches!(acks, "1" | "all") {
            self.produce_latency.observe(elapsed);
        }
    }

    /// `count` partitions of a request of `api` were answered with `error`.
    pub fn error(&self, api: &'static str, error: &'static str, count: u64) {
        self.errors
            .get_or_create(&ApiErrorLabels { api, error })
            .inc_by(count);
    }
}

impl Metrics {
    /// Adds every metric to `registry` (they stay shared: the registry
    /// holds handles to the same values).
    pub fn register(&self, registry: &mut Registry) {
        let k = &self.kafka;
        registry.register(
            "cairn_kafka_requests",
            "Kafka requests received, by API",
            k.requests.clone(),
        );
        registry.register(
            "cairn_kafka_errors",
            "Partitions (or whole requests) answered with an error, by API and error",
            k.errors.clone(),
        );
        registry.register_with_unit(
            "cairn_kafka_request_duration",
            "Time from a Kafka request's arrival until its response was ready, by API",
            Unit::Seconds,
            k.request_duration.clone(),
        );
        registry.register_with_unit(
            "cairn_kafka_produce_duration",
            "Time from a Produce request's arrival until its response was ready, by acks",
            Unit::Seconds,
            k.produce_duration.clone(),
        );
        registry.register_with_unit(
            "cairn_kafka_received",
            "Bytes read from Kafka clients",
            Unit::Bytes,
            k.received_bytes.clone(),
        );
        registry.register_with_unit(
            "cairn_kafka_sent",
            "Bytes written to Kafka clients",
            Unit::Bytes,
            k.sent_bytes.clone(),
        );
        registry.register_with_unit(
            "cairn_kafka_produced",
            "Record-batch bytes appended by Produce requests",
            Unit::Bytes,
            k.produced_bytes.clone(),
        );
        registry.register_with_unit(
            "cairn_kafka_fetched",
            "Record-batch bytes returned to consumers by Fetch",
            Unit::Bytes,
            k.fetched_bytes.clone(),
        );
        registry.register(
            "cairn_kafka_connections",
            "Open Kafka client connections",
            k.connections.clone(),
        );
        self.raft.register(registry);
        registry.register(
            "cairn_txn_ended",
            "Transactions decided by the coordinators this broker leads, by outcome and cause",
            self.txn.ended.clone(),
        );
        registry.register(
            "cairn_txn_markers",
            "Transaction markers this broker's coordinators wrote to partitions",
            self.txn.markers.clone(),
        );
        let s = &self.storage;
        registry.register_with_unit(
            "cairn_storage_fsync_duration",
            "Time one fsync of the write-ahead log took",
            Unit::Seconds,
            s.fsync_duration.clone(),
        );
        registry.register(
            "cairn_storage_appends_per_fsync",
            "Raft log appends made durable by one fsync (group commit)",
            s.appends_per_fsync.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn recorded_values_show_in_the_exposition_with_conventional_names() {
        let m = Metrics::default();
        m.kafka.request("Fetch", Duration::from_millis(3));
        m.kafka.request("Fetch", Duration::from_millis(5));
        m.kafka.produce(-1, Duration::from_millis(7));
        m.kafka.error("Produce", "NOT_LEADER_OR_FOLLOWER", 2);
        m.kafka.received_bytes.inc_by(100);
        m.kafka.produced_bytes.inc_by(80);
        m.kafka.fetched_bytes.inc_by(60);
        m.kafka.connections.inc();
        m.storage.appends_per_fsync.observe(12.0);
        m.raft.elections_won.inc();
        m.raft
            .sent_entries
            .get_or_create(&PeerLabel { peer: 2 })
            .inc_by(5);
        m.raft
            .sent_bytes
            .get_or_create(&PeerLabel { peer: 2 })
            .inc_by(500);
        m.raft.commit_duration.observe(0.002);
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "cairn_kafka_requests_total{api=\"Fetch\"} 2",
            "cairn_kafka_errors_total{api=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"} 2",
            "cairn_kafka_request_duration_seconds_count{api=\"Fetch\"} 2",
            "cairn_kafka_produce_duration_seconds_count{acks=\"all\"} 1",
            "cairn_kafka_received_bytes_total 100",
            "cairn_kafka_produced_bytes_total 80",
            "cairn_kafka_fetched_bytes_total 60",
            "cairn_kafka_connections 1",
            "cairn_storage_appends_per_fsync_count 1",
            "cairn_raft_elections_won_total 1",
            "cairn_raft_elections_started_total 0",
            "cairn_raft_sent_entries_total{peer=\"2\"} 5",
            "cairn_raft_sent_bytes_total{peer=\"2\"} 500",
            "cairn_raft_commit_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "no `{line}` in:\n{text}");
        }
    }
}
