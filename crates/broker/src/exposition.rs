//! `GET /metrics`: the Prometheus exposition of a broker. The counters and
//! histograms recorded as things happen (`cairn_common::metrics`) are joined
//! at scrape time by gauges computed from the broker's view of the cluster
//! (the `/v1/cluster` document) and from `/proc/self`.
//!
//! Per partition (labels `topic`, `partition`), for every replica this
//! broker hosts: its offsets and size, whether this broker leads it, the
//! leader epoch, replicas, ISR size and whether it is under-replicated. Per
//! broker: partitions led, under-replicated partitions among them (Kafka's
//! `UnderReplicatedPartitions`), and on the controller the partitions
//! without a leader (Kafka's `OfflinePartitionsCount`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_common::proc_stat;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::lag_metrics;
use crate::shared::Core;
use crate::view::ClusterView;

/// The Prometheus text format (0.0.4) of an OpenMetrics exposition, for
/// scrapers that do not ask for OpenMetrics (promtool, older Prometheus,
/// curl): a counter family's `# HELP` and `# TYPE` lines name it with its
/// `_total` suffix, as its samples do, and the `# UNIT` and `# EOF` lines,
/// which that format lacks, go.
pub fn prometheus_text(openmetrics: &str) -> String {
    let lines: Vec<&str> = openmetrics.lines().collect();
    let counters: std::collections::HashSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in lines {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The labels of a per-partition series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: u32,
}

/// One gauge per partition.
type PerPartition = Family<PartitionLabels, Gauge>;

/// Registers the partition and broker gauges of `view`, as broker `me` sees
/// it; without `per_partition`, only the per-broker ones.
pub fn register_cluster(view: &ClusterView, me: u64, per_partition: bool, registry: &mut Registry) {
    let led = |p: &&crate::view::PartitionView| p.leader == Some(me);
    let under = |p: &&crate::view::PartitionView| p.isr.len() < p.replicas.len();
    let gauge = |v: usize| {
        let g: Gauge = Gauge::default();
        g.set(v as i64);
        g
    };
    registry.register(
        "cairn_broker_partitions_led",
        "Partitions this broker leads",
        gauge(view.partitions.iter().filter(led).count()),
    );
    registry.register(
        "cairn_broker_under_replicated_partitions",
        "Partitions this broker leads whose in-sync replicas are fewer than their replicas",
        gauge(view.partitions.iter().filter(led).filter(under).count()),
    );
    let offline = if view.controller == Some(me) {
        view.partitions
            .iter()
            .filter(|p| p.leader.is_none())
            .count()
    } else {
        0
    };
    registry.register(
        "cairn_broker_offline_partitions",
        "Partitions without a leader (counted by the controller; 0 on other brokers)",
        gauge(offline),
    );
    registry.register(
        "cairn_broker_is_controller",
        "1 if this broker leads the metadata group",
        gauge(usize::from(view.controller == Some(me))),
    );
    registry.register(
        "cairn_cluster_live_brokers",
        "Brokers the controller considers live, as this broker knows",
        gauge(view.brokers.iter().filter(|b| b.live).count()),
    );
    if !per_partition {
        return;
    }
    let families: [(&str, &str, Option<Unit>); 9] = [
        (
            "cairn_partition_high_watermark",
            "The replica's high watermark (one past its last applied offset)",
            None,
        ),
        (
            "cairn_partition_log_start_offset",
            "The replica's first kept offset",
            None,
        ),
        (
            "cairn_partition_size",
            "Bytes of record batches the replica keeps",
            Some(Unit::Bytes),
        ),
        (
            "cairn_partition_leader",
            "1 if this broker leads the partition",
            None,
        ),
        (
            "cairn_partition_leader_epoch",
            "The partition's leader epoch (its Raft term); -1 without a leader",
            None,
        ),
        (
            "cairn_partition_replicas",
            "Replicas assigned to the partition",
            None,
        ),
        (
            "cairn_partition_in_sync_replicas",
            "Replicas the leader sees caught up (ISR size)",
            None,
        ),
        (
            "cairn_partition_under_replicated",
            "1 if the partition's in-sync replicas are fewer than its replicas",
            None,
        ),
        (
            "cairn_partition_quiescent",
            "1 if the replica is idle with its Raft heartbeats and timers off",
            None,
        ),
    ];
    let series: Vec<PerPartition> = families.iter().map(|_| Family::default()).collect();
    for p in &view.partitions {
        let Some(local) = &p.local else {
            continue;
        };
        let labels = PartitionLabels {
            topic: p.topic.clone(),
            partition: p.partition,
        };
        let values = [
            local.high_watermark as i64,
            local.log_start_offset as i64,
            local.size_bytes as i64,
            i64::from(p.leader == Some(me)),
            p.leader.and(p.leader_epoch).map_or(-1, |e| e as i64),
            p.replicas.len() as i64,
            p.isr.len() as i64,
            i64::from(p.isr.len() < p.replicas.len()),
            i64::from(local.quiescent),
        ];
        for (family, value) in series.iter().zip(values) {
            family.get_or_create(&labels).set(value);
        }
    }
    for ((name, help, unit), family) in families.into_iter().zip(series) {
        match unit {
            Some(unit) => registry.register_with_unit(name, help, unit, family),
            None => registry.register(name, help, family),
        }
    }
}

/// The labels of a per-column-family series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ColumnFamilyLabel {
    cf: &'static str,
}

/// A per-column-family gauge: name, help, and the figure it shows.
type ColumnFamilyGauge = (
    &'static str,
    &'static str,
    fn(&cairn_storage::ColumnFamilyStats) -> u64,
);

/// Registers the storage engine's disk figures (see
/// `cairn_storage::DiskStats`).
pub fn register_storage(stats: &cairn_storage::DiskStats, registry: &mut Registry) {
    let per_cf: [ColumnFamilyGauge; 4] = [
        (
            "cairn_storage_sst",
            "Bytes of live SST files, by column family",
            |c| c.sst_bytes,
        ),
        (
            "cairn_storage_blob",
            "Bytes of live blob files (log entry payloads), by column family",
            |c| c.blob_bytes,
        ),
        (
            "cairn_storage_memtable",
            "Bytes in memtables, by column family",
            |c| c.memtable_bytes,
        ),
        (
            "cairn_storage_pending_compaction",
            "Bytes RocksDB estimates compactions still have to rewrite, by column family",
            |c| c.pending_compaction_bytes,
        ),
    ];
    for (name, help, value) in per_cf {
        let family: Family<ColumnFamilyLabel, Gauge> = Family::default();
        for c in &stats.column_families {
            family
                .get_or_create(&ColumnFamilyLabel { cf: c.name })
                .set(value(c) as i64);
        }
        registry.register_with_unit(name, help, Unit::Bytes, family);
    }
    let gauge = |v: u64| {
        let g: Gauge = Gauge::default();
        g.set(v as i64);
        g
    };
    registry.register_with_unit(
        "cairn_storage_wal",
        "Bytes of write-ahead log files",
        Unit::Bytes,
        gauge(stats.wal_bytes),
    );
    registry.register(
        "cairn_storage_writes_stopped",
        "1 while RocksDB stops writes (too many memtables or level-0 files)",
        gauge(u64::from(stats.writes_stopped)),
    );
    registry.register(
        "cairn_storage_delayed_write_rate_bytes_per_second",
        "The rate RocksDB slows writes to; 0 when it does not",
        gauge(stats.delayed_write_rate),
    );
    if let Some(seconds) = stats.stall_seconds {
        registry.register_with_unit(
            "cairn_storage_write_stall",
            "Time RocksDB has slowed or stopped writes since the broker started",
            Unit::Seconds,
            {
                let counter: Counter<f64> = Counter::default();
                counter.inc_by(seconds);
                counter
            },
        );
    }
}

/// What `/proc/self` says of this process.
#[derive(Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Threads.
    pub threads: i64,
    /// Resident memory, bytes.
    pub resident_bytes: i64,
    /// Open file descriptors.
    pub open_fds: i64,
}

impl ProcessStats {
    /// Parses `/proc/self/stat` and `/proc/self/status`; `None` for text
    /// that is not theirs.
    pub fn parse(stat: &str, status: &str, open_fds: i64) -> Option<Self> {
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())?;
        Some(Self {
            cpu_seconds: proc_stat::cpu_ticks(stat)? as f64 / proc_stat::TICKS_PER_SEC,
            // Field 20: the number of threads.
            threads: proc_stat::field(stat, 20)? as i64,
            resident_bytes: kib * 1024,
            open_fds,
        })
    }

    /// This process now; `None` where `/proc` is missing.
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
        Self::parse(&stat, &status, fds)
    }

    /// Registers the standard `process_*` metrics.
    pub fn register(&self, registry: &mut Registry) {
        let cpu: Counter<f64> = Counter::default();
        cpu.inc_by(self.cpu_seconds);
        registry.register_with_unit(
            "process_cpu",
            "Total user and system CPU time spent",
            Unit::Seconds,
            cpu,
        );
        let gauge = |v: i64| {
            let g: Gauge = Gauge::default();
            g.set(v);
            g
        };
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            gauge(self.resident_bytes),
        );
        registry.register(
            "process_open_fds",
            "Open file descriptors",
            gauge(self.open_fds),
        );
        registry.register("process_threads", "OS threads", gauge(self.threads));
    }
}

/// The media types of the exposition: OpenMetrics (what `prometheus-client`
/// writes and Prometheus asks for first) and Prometheus' text format for
/// every other scraper.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: OpenMetrics if the `Accept` header names it, else the
/// Prometheus text format.
pub async fn serve_metrics(
    State(core): State<Arc<Core>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let view = crate::admin::cluster_view(&core);
    let mut registry = Registry::default();
    cairn_common::metrics::metrics().register(&mut registry);
    register_cluster(
        &view,
        core.id(),
        core.config().metrics_per_partition,
        &mut registry,
    );
    let per_partition = core.config().metrics_per_partition;
    lag_metrics::register_follower_lags(
        &lag_metrics::follower_lags(&core),
        per_partition,
        &mut registry,
    );
    lag_metrics::register_group_lags(
        &lag_metrics::group_lags(&core),
        per_partition,
        &mut registry,
    );
    register_storage(&core.engine().disk_stats(), &mut registry);
    if let Some(process) = ProcessStats::read() {
        process.register(&mut registry);
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the metrics: {e}"),
        )
            .into_response();
    }
    let openmetrics = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let content_type = axum::http::header::CONTENT_TYPE;
    if openmetrics {
        ([(content_type, OPENMETRICS)], text).into_response()
    } else {
        ([(content_type, PROMETHEUS_TEXT)], prometheus_text(&text)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{BrokerView, LocalReplica, PartitionView};
    use prometheus_client::encoding::text::encode;

    fn partition(
        topic: &str,
        i: u32,
        leader: Option<u64>,
        isr: &[u64],
        local: bool,
    ) -> PartitionView {
        PartitionView {
            topic: topic.into(),
            partition: i,
            group: 100 + u64::from(i),
            leader,
            leader_epoch: leader.map(|_| 7),
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            local: local.then_some(LocalReplica {
                log_start_offset: 5,
                high_watermark: 42,
                size_bytes: 4096,
                quiescent: false,
                last_log_index: None,
            }),
            reassigning_to: None,
        }
    }

    fn view(controller: u64) -> ClusterView {
        let broker = |id, live| BrokerView {
            id,
            live,
            raft_addr: String::new(),
            kafka_addr: String::new(),
            admin_addr: String::new(),
            rack: None,
            controller_voter: true,
            last_heartbeat_ms_ago: None,
        };
        ClusterView {
            served_by: 1,
            controller: Some(controller),
            controller_term: 3,
            brokers: vec![broker(1, true), broker(2, true), broker(3, false)],
            partitions: vec![
                partition("orders", 0, Some(1), &[1, 2, 3], true),
                partition("orders", 1, Some(1), &[1, 2], true),
                partition("orders", 2, Some(2), &[2, 1], true),
                partition("orders", 3, None, &[], false),
            ],
        }
    }

    fn exposition(view: &ClusterView, me: u64, per_partition: bool) -> String {
        let mut registry = Registry::default();
        register_cluster(view, me, per_partition, &mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn a_leader_counts_what_it_leads_and_what_lacks_replicas() {
        let text = exposition(&view(2), 1, true);
        for line in [
            "cairn_broker_partitions_led 2",
            "cairn_broker_under_replicated_partitions 1",
            // Broker 1 is not the controller: offline partitions are the controller's count.
            "cairn_broker_offline_partitions 0",
            "cairn_broker_is_controller 0",
            "cairn_cluster_live_brokers 2",
            "cairn_partition_high_watermark{topic=\"orders\",partition=\"1\"} 42",
            "cairn_partition_log_start_offset{topic=\"orders\",partition=\"1\"} 5",
            "cairn_partition_size_bytes{topic=\"orders\",partition=\"1\"} 4096",
            "cairn_partition_leader{topic=\"orders\",partition=\"0\"} 1",
            "cairn_partition_leader{topic=\"orders\",partition=\"2\"} 0",
            "cairn_partition_leader_epoch{topic=\"orders\",partition=\"2\"} 7",
            "cairn_partition_in_sync_replicas{topic=\"orders\",partition=\"1\"} 2",
            "cairn_partition_under_replicated{topic=\"orders\",partition=\"1\"} 1",
            "cairn_partition_under_replicated{topic=\"orders\",partition=\"0\"} 0",
        ] {
            assert!(text.contains(line), "no `{line}` in:\n{text}");
        }
        // A partition without a local replica has no per-partition series here.
        assert!(!text.contains("partition=\"3\""), "{text}");
    }

    #[test]
    fn the_controller_counts_partitions_without_a_leader() {
        let text = exposition(&view(2), 2, true);
        assert!(text.contains("cairn_broker_offline_partitions 1"), "{text}");
        assert!(text.contains("cairn_broker_is_controller 1"), "{text}");
        assert!(text.contains("cairn_broker_partitions_led 1"), "{text}");
    }

    #[test]
    fn without_per_partition_series_only_the_totals_remain() {
        let text = exposition(&view(2), 1, false);
        assert!(text.contains("cairn_broker_partitions_led 2"), "{text}");
        assert!(!text.contains("cairn_partition_"), "{text}");
    }

    #[test]
    fn the_prometheus_text_names_counters_by_their_samples() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{api=\"Fetch\"} 2\n\
                  # HELP a_size Bytes.\n# TYPE a_size_bytes gauge\n# UNIT a_size_bytes bytes\na_size_bytes 7\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{api=\"Fetch\"} 2\n\
             # HELP a_size Bytes.\n# TYPE a_size_bytes gauge\na_size_bytes 7\n"
        );
    }

    #[test]
    fn storage_figures_are_labelled_by_column_family() {
        let stats = cairn_storage::DiskStats {
            column_families: vec![cairn_storage::ColumnFamilyStats {
                name: "log",
                sst_bytes: 10,
                blob_bytes: 2000,
                memtable_bytes: 30,
                pending_compaction_bytes: 40,
            }],
            wal_bytes: 500,
            writes_stopped: true,
            delayed_write_rate: 0,
            stall_seconds: Some(1.5),
        };
        let mut registry = Registry::default();
        register_storage(&stats, &mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "cairn_storage_blob_bytes{cf=\"log\"} 2000",
            "cairn_storage_pending_compaction_bytes{cf=\"log\"} 40",
            "cairn_storage_wal_bytes 500",
            "cairn_storage_writes_stopped 1",
            "cairn_storage_write_stall_seconds_total 1.5",
        ] {
            assert!(text.contains(line), "no `{line}` in:\n{text}");
        }
    }

    #[test]
    fn process_stats_come_from_proc() {
        let stat = "4242 (cairn (worker) 1) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 31 0 0 20 0 9 0 100 0 0";
        let status = "Name:\tcairn\nVmRSS:\t  20480 kB\nThreads:\t9\n";
        let p = ProcessStats::parse(stat, status, 17).unwrap();
        assert_eq!(
            p,
            ProcessStats {
                cpu_seconds: 2.81,
                threads: 9,
                resident_bytes: 20480 * 1024,
                open_fds: 17,
            }
        );
        assert_eq!(ProcessStats::parse("no parenthesis", status, 1), None);
        assert_eq!(ProcessStats::parse(stat, "Name:\tcairn\n", 1), None);
        // This process, for real.
        let me = ProcessStats::read().unwrap();
        assert!(
            me.resident_bytes > 0 && me.threads > 0 && me.open_fds > 0,
            "{me:?}"
        );
        let mut registry = Registry::default();
        me.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }
}
