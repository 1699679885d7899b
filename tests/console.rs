//! The web console in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`, driven by Selenium from PyPI through
//! `tests/python/console_browser.py`) loads the page from a broker of a
//! 3-broker cluster while a producer runs, sees the live brokers, the
//! charts, a topic's partitions and a consumer group's lag; the test kills a
//! broker and the page shows it offline and the partitions
//! under-replicated; then the page creates a topic, is refused a duplicate,
//! alters a config, trims a partition and deletes the topic, each behind
//! its confirmation. What the page showed is checked against the admin
//! API. `cairn cluster status` and `cairn top`, which read the same
//! statistics, are run alongside. The screenshots of the overview and the
//! topic page land in `docs/console/`, linked from the README.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{cairn_bin, ok, partitions, SteadyProducer, TestCluster};

const TOPIC: &str = "console-orders";
const GROUP: &str = "console-readers";
const VICTIM: u64 = 3;

/// `GET path` on broker 1's admin listener: status, content type, body.
fn fetch(cluster: &TestCluster, path: &str) -> (u16, String, String) {
    let response = reqwest::blocking::get(format!("http://{}{path}", cluster.admin(1)))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.text().unwrap_or_default())
}

/// Runs the browser script; kills [`VICTIM`] when it asks; returns its report.
fn drive_the_console(cluster: &mut TestCluster, shots: &std::path::Path) -> Value {
    let script = format!(
        "{}/tests/python/console_browser.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let url = format!("http://{}/", cluster.admin(1));
    let mut child = Command::new("python3")
        .arg(&script)
        .args([&url, TOPIC, GROUP, &VICTIM.to_string()])
        .arg(shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().unwrap();
    let mut last = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.expect("the script's output");
        if line == "kill" {
            cluster.kill(VICTIM);
            writeln!(stdin, "killed").unwrap();
        } else {
            last = line;
        }
    }
    let out = child.wait_with_output().expect("the browser script");
    assert!(
        out.status.success(),
        "console_browser.py failed: {last}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 10_000)
}

#[test]
fn the_console_shows_the_cluster_and_acts_on_it() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 3, 3);

    // The page and its assets come from the binary.
    let (status, content_type, body) = fetch(&cluster, "/");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("/console/app.js"), "{body}");
    let (status, content_type, _) = fetch(&cluster, "/console/app.js");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    let (status, content_type, _) = fetch(&cluster, "/console/style.css");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/css; charset=utf-8")
    );

    // Traffic for the charts, and a group with committed offsets that
    // falls behind as the producer goes on.
    let producer = SteadyProducer::start(&cluster.bootstrap(), TOPIC);
    ok(&Command::new(cairn_bin())
        .args(["consume", TOPIC, "--group", GROUP, "--from-beginning"])
        .args(["--max-messages", "50", "--idle-timeout", "20s"])
        .args(["--bootstrap-server", &cluster.bootstrap()])
        .output()
        .expect("cairn consume"));

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/console");
    let report = drive_the_console(&mut cluster, &shots);

    // `cairn cluster status` prints the same throughput per broker: the
    // producer still runs, so a live broker's produce column is not zero.
    let status = ok(&cluster.cli(1, &["cluster", "status"]));
    let produce_cells: Vec<String> = status
        .lines()
        .skip_while(|l| !l.starts_with("BROKER"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let cells: Vec<&str> = l
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (cells.get(1) == Some(&"live")).then(|| cells.get(8).unwrap_or(&"").to_string())
        })
        .collect();
    assert_eq!(produce_cells.len(), 2, "{status}");
    assert!(
        produce_cells.iter().all(|c| c.ends_with("/s"))
            && produce_cells.iter().any(|c| c != "0 B/s"),
        "{status}"
    );
    // `cairn top` ranks the partitions by their growth over an interval.
    let top = ok(&cluster.cli(1, &["top", "--once", "--interval", "2s"]));
    let growing: Vec<u64> = top
        .lines()
        .filter(|l| l.starts_with(TOPIC))
        .filter_map(|l| l.split_whitespace().nth(3)?.parse().ok())
        .collect();
    assert!(
        !growing.is_empty() && growing.iter().any(|&m| m > 0),
        "{top}"
    );
    let sent = producer.stop();
    assert!(sent["acked"].as_u64().unwrap_or_default() > 0, "{sent}");

    // Before the kill: three live brokers, one controller, the charts.
    assert_eq!(
        report["brokers"],
        serde_json::json!(["live", "live", "live"])
    );
    assert_eq!(report["controller_rows"], 1, "{report}");
    assert_eq!(report["charts"], 4, "{report}");
    // The topic's partitions as the page showed them: every one led by one
    // of its replicas, with records.
    let shown = report["partitions"].as_array().expect("partitions");
    assert_eq!(shown.len(), 3, "{report}");
    for p in shown {
        let replicas: Vec<u64> = p["replicas"]
            .as_str()
            .unwrap()
            .split(", ")
            .map(|r| r.parse().unwrap())
            .collect();
        assert_eq!(replicas.len(), 3, "{p}");
        assert!(replicas.contains(&p["leader"].as_u64().unwrap()), "{p}");
        assert!(p["high_watermark"].as_u64().unwrap() > 0, "{p}");
    }
    // The group's lag is the high watermark minus the committed offset.
    let offsets = report["group_offsets"].as_array().expect("group offsets");
    assert!(!offsets.is_empty(), "{report}");
    let mut committed = 0;
    for o in offsets {
        assert_eq!(o["topic"], TOPIC, "{o}");
        let (c, hw, lag) = (
            o["committed"].as_i64().unwrap(),
            o["high_watermark"].as_i64().unwrap(),
            o["lag"].as_i64().unwrap(),
        );
        assert_eq!(lag, (hw - c).max(0), "{o}");
        committed += c;
    }
    assert!(committed >= 50, "50 messages were consumed: {report}");

    // After the kill: the victim offline, every partition under-replicated.
    assert_eq!(report["victim"], "offline");
    assert_eq!(report["under_replicated_rows"], 3, "{report}");

    // The actions and what the page said about them.
    assert!(
        report["created"].as_str().unwrap().ends_with("done"),
        "{report}"
    );
    let duplicate = report["duplicate"].as_str().unwrap();
    assert!(duplicate.contains("TOPIC_ALREADY_EXISTS"), "{duplicate}");
    assert_eq!(
        report["retention"],
        serde_json::json!(["3600000", "override"])
    );
    assert_eq!(report["enabled_before_typing"], false, "{report}");
    assert!(
        report["deleted"].as_str().unwrap().ends_with("done"),
        "{report}"
    );
    let empty = Vec::new();
    let errors = report["console_errors"].as_array().unwrap_or(&empty);
    assert!(errors.is_empty(), "JavaScript errors: {errors:?}");

    // The admin API agrees: the topic made in the browser is gone, and the
    // trim moved partition 0's log start on the replicas that are left.
    let topics = cluster.get(1, "/v1/topics").expect("topics");
    let names: Vec<&str> = topics
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|name| !name.starts_with("__"))
        .collect();
    assert_eq!(names, [TOPIC]);
    let target = report["trimmed_to"].as_u64().expect("trimmed_to");
    assert_eq!(report["log_start"].as_u64(), Some(target));
    for id in [1, 2] {
        cluster.wait_for(
            &format!("broker {id}'s replica of {TOPIC}-0 trimmed to {target}"),
            Duration::from_secs(30),
            || {
                let view = cluster.view(id)?;
                let p0 = partitions(&view, TOPIC)
                    .into_iter()
                    .find(|p| p["partition"] == 0)?
                    .clone();
                (p0["local"]["log_start_offset"].as_u64() == Some(target)).then_some(())
            },
        );
    }

    for shot in ["overview.png", "topic.png"] {
        assert!(is_png(&shots.join(shot)), "no screenshot {shot}");
    }
}
