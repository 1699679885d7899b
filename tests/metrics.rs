//! `GET /metrics` of real brokers, read by the Prometheus project's parsers
//! (`prometheus_client` from PyPI: OpenMetrics, which Prometheus asks for,
//! and the Prometheus text format every other scraper gets) and checked by
//! `promtool check metrics`: request counters and latency histograms rise
//! with a workload, the partitions' offsets match what was produced, the
//! storage and process metrics are there, a read past the end is counted
//! as a Fetch error, the shipped Grafana dashboard's queries parse and read
//! only metrics that exist, and a killed follower shows up as
//! under-replicated on the leaders within the session timeout.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{cairn_bin, run_client, TestCluster};

const TOPIC: &str = "metered";
const GROUP: &str = "metered-readers";
const MESSAGES: usize = 200;

/// One broker's exposition: every sample ("name{label=value,...}" with
/// labels sorted) and the raw text.
struct Scrape {
    content_type: String,
    samples: BTreeMap<String, f64>,
    /// The Prometheus text format of the same, and its content type and
    /// sample count.
    text_content_type: String,
    text_samples: usize,
    text: String,
}

impl Scrape {
    fn of(cluster: &TestCluster, id: u64) -> Self {
        let url = format!("http://{}/metrics", cluster.admin(id));
        let out = run_client("python3", "python/metrics_scrape.py", &[&url]);
        let v: Value = serde_json::from_str(&out).expect("the scraper prints JSON");
        Self {
            content_type: v["content_type"].as_str().unwrap_or_default().to_string(),
            samples: v["samples"]
                .as_object()
                .expect("samples")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_f64().expect("numeric sample")))
                .collect(),
            text_content_type: v["text_content_type"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            text_samples: v["text_samples"].as_u64().unwrap_or_default() as usize,
            text: v["text"].as_str().unwrap_or_default().to_string(),
        }
    }

    /// The sample `key`, 0 if the broker has none.
    fn get(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or(0.0)
    }

    /// The sum of every sample named `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &str) -> f64 {
        self.samples
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains(labels))
            .map(|(_, v)| v)
            .sum()
    }
}

fn scrape_all(cluster: &TestCluster, ids: &[u64]) -> Vec<Scrape> {
    ids.iter().map(|&id| Scrape::of(cluster, id)).collect()
}

fn total(scrapes: &[Scrape], name: &str, labels: &str) -> f64 {
    scrapes.iter().map(|s| s.sum(name, labels)).sum()
}

/// Sends MESSAGES lines through `cairn produce` (acks=all, round robin).
fn produce(cluster: &TestCluster) {
    let mut child = Command::new(cairn_bin())
        .args(["produce", TOPIC, "--acks", "all"])
        .args(["--bootstrap-server", &cluster.bootstrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cairn produce");
    let mut stdin = child.stdin.take().expect("stdin");
    for i in 0..MESSAGES {
        writeln!(stdin, "message {i}").expect("write a line");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("cairn produce");
    assert!(
        out.status.success(),
        "cairn produce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `promtool check metrics` on `text`: it exits 0 and reports no problem.
fn promtool_finds_nothing(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/setup.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics: {report}\n--- exposition ---\n{text}"
    );
}

/// Every PromQL expression of the shipped Grafana dashboard.
fn dashboard_queries() -> Vec<String> {
    let path = format!("{}/config/grafana/cairn.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(String::from))
        .collect();
    assert!(queries.len() >= 20, "{} queries", queries.len());
    queries
}

/// The metric names a query reads (`cairn_*` and `process_*` words).
fn metric_names(query: &str) -> Vec<String> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("cairn_") || w.starts_with("process_"))
        .map(String::from)
        .collect()
}

/// The dashboard's queries parse (`promtool check rules` on a rule file
/// that records each) and name only metrics the brokers expose (`text`,
/// their Prometheus text format); `config/prometheus.yml` is a valid config.
fn dashboard_matches_the_exposition(text: &str) {
    let queries = dashboard_queries();
    for q in &queries {
        for name in metric_names(q) {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "the dashboard's `{q}` reads {name}, which /metrics does not have"
            );
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("dashboard-rules.yml");
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        let quoted = serde_json::to_string(q).expect("a JSON string is a YAML string");
        yaml.push_str(&format!(
            "      - record: cairn:dashboard_{i}\n        expr: {quoted}\n"
        ));
    }
    std::fs::write(&rules, yaml).expect("write the rule file");
    let config = format!("{}/config/prometheus.yml", env!("CARGO_MANIFEST_DIR"));
    for args in [
        vec!["check", "rules", rules.to_str().expect("utf-8 path")],
        vec!["check", "config", config.as_str()],
    ] {
        let out = Command::new("promtool")
            .args(&args)
            .output()
            .expect("promtool (Debian's prometheus package)");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn metrics_follow_a_workload_and_a_lost_follower() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 3, 3);

    let before = scrape_all(&cluster, &[1, 2, 3]);
    for s in &before {
        assert!(
            s.content_type.starts_with("application/openmetrics-text"),
            "content type {}",
            s.content_type
        );
        assert!(
            s.text_content_type.starts_with("text/plain; version=0.0.4"),
            "content type {}",
            s.text_content_type
        );
    }
    produce(&cluster);

    // Every replica applies what was produced: each broker's partitions of
    // the topic add up to MESSAGES.
    cluster.wait_for(
        "every broker's high watermarks of the topic summing to the messages sent",
        Duration::from_secs(30),
        || {
            scrape_all(&cluster, &[1, 2, 3])
                .iter()
                .all(|s| {
                    s.sum("cairn_partition_high_watermark", &format!("topic={TOPIC}"))
                        == MESSAGES as f64
                })
                .then_some(())
        },
    );
    // A read past the end: the leader answers OFFSET_OUT_OF_RANGE, counted
    // as a Fetch error.
    let out = Command::new(cairn_bin())
        .args(["consume", TOPIC, "--partition", "0", "--offset", "1000000"])
        .args([
            "--idle-timeout",
            "2s",
            "--bootstrap-server",
            &cluster.bootstrap(),
        ])
        .output()
        .expect("run cairn consume");
    assert!(
        out.status.success(),
        "cairn consume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A consumer group reads part of the topic and commits: its coordinator
    // reports its members (none once it left) and its lag.
    let out = Command::new(cairn_bin())
        .args(["consume", TOPIC, "--group", GROUP, "--from-beginning"])
        .args(["--max-messages", "50", "--idle-timeout", "10s"])
        .args(["--bootstrap-server", &cluster.bootstrap()])
        .output()
        .expect("run cairn consume");
    assert!(
        out.status.success(),
        "cairn consume --group: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = scrape_all(&cluster, &[1, 2, 3]);
    assert!(
        total(&after, "cairn_kafka_errors_total", "error=OffsetOutOfRange") >= 1.0,
        "no Fetch error counted"
    );
    let rose = |name: &str, labels: &str| {
        let (b, a) = (total(&before, name, labels), total(&after, name, labels));
        assert!(a > b, "{name}{{{labels}}} did not rise: {b} -> {a}");
    };
    rose("cairn_kafka_requests_total", "api=Produce");
    rose("cairn_kafka_request_duration_seconds_count", "api=Produce");
    rose("cairn_kafka_produce_duration_seconds_count", "acks=all");
    rose("cairn_kafka_requests_total", "api=Metadata");
    rose("cairn_kafka_received_bytes_total", "");
    rose("cairn_kafka_sent_bytes_total", "");
    // Errors of every API are counted, not only Produce's and Fetch's: a
    // group consumer's first JoinGroup is answered MEMBER_ID_REQUIRED (KIP-394).
    assert!(
        total(
            &after,
            "cairn_kafka_errors_total",
            "api=JoinGroup,error=MemberIdRequired"
        ) >= 1.0,
        "no JoinGroup error counted"
    );
    rose("cairn_kafka_produced_bytes_total", "");
    rose("cairn_kafka_fetched_bytes_total", "");
    // Raft: the topic's partitions elected leaders, entries went to peers,
    // acks=all writes were committed and appends made durable.
    assert!(total(&after, "cairn_raft_elections_won_total", "") >= 3.0);
    assert!(
        total(&after, "cairn_raft_elections_started_total", "")
            >= total(&after, "cairn_raft_elections_won_total", ""),
        "more elections won than stood in"
    );
    assert!(total(&after, "cairn_raft_term_changes_total", "") >= 3.0);
    rose("cairn_raft_sent_entries_total", "peer=");
    rose("cairn_raft_sent_bytes_total", "peer=");
    rose("cairn_raft_commit_duration_seconds_count", "");
    rose("cairn_raft_append_duration_seconds_count", "");
    // Each partition's leader reports its two followers' lag.
    assert_eq!(
        after
            .iter()
            .map(|s| s
                .samples
                .keys()
                .filter(|k| k.starts_with("cairn_partition_follower_lag_entries{")
                    && k.contains(&format!("topic={TOPIC}")))
                .count())
            .sum::<usize>(),
        6
    );
    for s in &after {
        assert!(s
            .samples
            .contains_key("cairn_raft_follower_lag_entries_max{}"));
    }
    // The group's lag, on its coordinator, is each committed partition's
    // high watermark (all MESSAGES are in) minus its committed offset.
    let detail = cluster
        .get(1, &format!("/v1/groups/{GROUP}"))
        .expect("the group");
    let committed: Vec<(i64, i64)> = detail["offsets"]
        .as_array()
        .expect("offsets")
        .iter()
        .map(|o| {
            (
                o["partition"].as_i64().unwrap(),
                o["committed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(!committed.is_empty(), "{detail}");
    let high_watermarks = &after[0];
    let mut expected_total = 0.0;
    for (partition, offset) in &committed {
        let hw = high_watermarks.get(&format!(
            "cairn_partition_high_watermark{{partition={partition},topic={TOPIC}}}"
        ));
        let lag = total(
            &after,
            "cairn_group_lag",
            &format!("group={GROUP},partition={partition},topic={TOPIC}"),
        );
        assert_eq!(lag, hw - *offset as f64, "partition {partition}");
        expected_total += lag;
    }
    assert_eq!(
        total(&after, "cairn_group_total_lag", &format!("group={GROUP}")),
        expected_total
    );
    assert_eq!(
        total(&after, "cairn_group_members", &format!("group={GROUP}")),
        0.0
    );
    assert_eq!(
        after
            .iter()
            .filter(|s| s
                .samples
                .contains_key(&format!("cairn_group_members{{group={GROUP}}}")))
            .count(),
        1,
        "one coordinator reports the group"
    );
    // Every replica fsyncs its appends (log_fsync is on by default).
    rose("cairn_storage_fsync_duration_seconds_count", "");
    rose("cairn_storage_appends_per_fsync_count", "");
    // Each partition has one leader among the three brokers, and each
    // broker hosts a replica of every partition.
    let topic = format!("topic={TOPIC}");
    assert_eq!(total(&after, "cairn_partition_leader", &topic), 3.0);
    assert!(total(&after, "cairn_broker_partitions_led", "") >= 3.0);
    for s in &after {
        assert_eq!(s.sum("cairn_partition_replicas", &topic), 9.0);
        assert_eq!(s.sum("cairn_partition_in_sync_replicas", &topic), 9.0);
        assert_eq!(
            s.sum(
                "cairn_partition_under_replicated",
                &format!("topic={TOPIC}")
            ),
            0.0
        );
        assert!(s.get("process_cpu_seconds_total{}") > 0.0);
        assert!(s.get("process_resident_memory_bytes{}") > 0.0);
        assert!(s.get("process_open_fds{}") > 0.0);
        // The data is on disk somewhere: WAL, memtable, SST or blob files.
        assert!(s.get("cairn_storage_wal_bytes{}") > 0.0, "no WAL bytes");
        assert_eq!(s.get("cairn_storage_writes_stopped{}"), 0.0);
        // Nothing stalls this small workload, and the stall time says so.
        assert_eq!(
            s.samples.get("cairn_storage_write_stall_seconds_total{}"),
            Some(&0.0)
        );
        assert_eq!(s.get("cairn_cluster_live_brokers{}"), 3.0);
        // The same samples in the Prometheus text format (the gauges of a
        // second scrape may differ, but not the set of series).
        assert_eq!(s.text_samples, s.samples.len(), "{}", s.text);
        promtool_finds_nothing(&s.text);
    }
    assert_eq!(
        total(&after, "cairn_broker_is_controller", ""),
        1.0,
        "one controller"
    );
    // A family without series (no error yet on that broker) is left out of
    // its exposition, so the dashboard is matched against all three.
    let texts: Vec<&str> = after.iter().map(|s| s.text.as_str()).collect();
    dashboard_matches_the_exposition(&texts.concat());

    // A follower dies: the leaders of the topic's partitions report them
    // under-replicated once the ISR shrinks (the session timeout).
    let leaders: Vec<u64> = [1, 2, 3]
        .into_iter()
        .filter(|&id| {
            after[id as usize - 1].sum("cairn_partition_leader", &format!("topic={TOPIC}")) > 0.0
        })
        .collect();
    // A follower of every partition if one broker leads none, else any.
    let victim = (1..=3u64).find(|id| !leaders.contains(id)).unwrap_or(3);
    cluster.kill(victim);
    let survivors: Vec<u64> = (1..=3).filter(|&id| id != victim).collect();
    cluster.wait_for(
        "the surviving leaders reporting under-replicated partitions",
        Duration::from_secs(30),
        || {
            let now = scrape_all(&cluster, &survivors);
            let under = total(&now, "cairn_broker_under_replicated_partitions", "");
            let flagged = now
                .iter()
                .map(|s| {
                    s.sum(
                        "cairn_partition_under_replicated",
                        &format!("topic={TOPIC}"),
                    )
                })
                .fold(0.0, f64::max);
            (under >= 3.0 && flagged == 3.0).then_some(())
        },
    );
}
