//! A rolling restart: each of 3 brokers in turn gets SIGTERM and comes back,
//! while a librdkafka acks=all producer sends steadily. Each broker hands the
//! groups it leads to caught-up replicas before it stops (its log says how
//! many, and that none was left to an election); no send fails; every
//! acknowledged message is in the topic. Each partition's longest gap
//! between two acknowledgements is printed (a figure for the notes, not a
//! pass mark: the machines are shared).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use support::{ok, TestCluster};

const TOPIC: &str = "rolling";

#[test]
fn a_rolling_sigterm_restart_hands_leadership_over_and_fails_no_send() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 6, 3);
    let bootstrap = cluster.bootstrap();
    let mut producer = Command::new("python3")
        .arg(format!(
            "{}/tests/python/steady_producer.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args([&bootstrap, TOPIC])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    std::thread::sleep(Duration::from_secs(3));
    for id in 1..=3u64 {
        let status = cluster
            .terminate(id, Duration::from_secs(30))
            .expect("SIGTERM stops the broker");
        assert!(status.success(), "broker {id} exited with {status}");
        let log = std::fs::read_to_string(cluster.log_path(id)).unwrap();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("leadership handed over before stopping"))
            .unwrap_or_else(|| panic!("broker {id} logged no hand-off:\n{log}"));
        let why: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("not handed over"))
            .collect();
        assert!(
            line.contains("kept=0"),
            "broker {id}: {line}\n{}",
            why.join("\n")
        );
        cluster.spawn(id);
        cluster.wait_formed(1 + id % 3, &[1, 2, 3]);
        // Every partition led again before the next broker goes.
        cluster.wait_for("every partition led", Duration::from_secs(30), || {
            let view = cluster.view(1 + id % 3)?;
            let ps = support::partitions(&view, TOPIC);
            (ps.len() == 6 && ps.iter().all(|p| p["leader"].as_u64().is_some())).then_some(())
        });
        std::thread::sleep(Duration::from_secs(2));
    }
    writeln!(producer.stdin.take().unwrap(), "stop").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(producer.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(producer.wait().unwrap().success(), "producer: {line}");
    let report: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    println!("rolling restart under an acks=all producer: {report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["unflushed"], 0, "{report}");
    let sent = report["sent"].as_u64().unwrap();
    assert_eq!(report["acked"].as_u64(), Some(sent), "{report}");
    assert!(sent > 1000, "{report}");
    // Every message is there, read by a librdkafka consumer. (This producer
    // is not idempotent: a retried send may be there twice.)
    let out = Command::new(support::cairn_bin())
        .args([
            "consume",
            TOPIC,
            "--from-beginning",
            "--idle-timeout",
            "10s",
            "--format",
            "%v",
        ])
        .env("CAIRN_BOOTSTRAP", &bootstrap)
        .output()
        .unwrap();
    let read: BTreeSet<String> = ok(&out).lines().map(str::to_string).collect();
    let expected: BTreeSet<String> = (0..sent).map(|i| format!("m{i}")).collect();
    assert_eq!(read.len(), expected.len(), "{report}");
    assert!(read == expected, "{report}");
}
