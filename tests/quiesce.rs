//! Quiescence end to end, with real brokers: idle partitions turn their Raft
//! heartbeats and election timers off on every replica, a write wakes its
//! partition and reaches every replica, and partitions whose leader is
//! SIGKILLed while quiescent still elect new leaders and take writes.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{cairn_bin, ok, partitions, TestCluster};

const WAIT: Duration = Duration::from_secs(30);
const TOPIC: &str = "idle";
const PARTITIONS: usize = 6;

/// Every replica of every partition of TOPIC on `brokers` is quiescent (each
/// broker reports its own replicas under `local`).
fn all_quiescent(cluster: &TestCluster, brokers: &[u64]) -> Option<()> {
    for &id in brokers {
        let view = cluster.view(id)?;
        let ps = partitions(&view, TOPIC);
        let quiet = ps.len() == PARTITIONS && ps.iter().all(|p| p["local"]["quiescent"] == true);
        if !quiet {
            return None;
        }
    }
    Some(())
}

fn produce(cluster: &TestCluster, partition: u32, lines: &[String]) {
    let mut child = Command::new(cairn_bin())
        .args(["produce", TOPIC, "--partition", &partition.to_string()])
        .args(["--bootstrap-server", &cluster.bootstrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cairn produce");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    ok(&child.wait_with_output().unwrap());
}

fn local(view: &Value, partition: u64) -> Value {
    partitions(view, TOPIC)
        .into_iter()
        .find(|p| p["partition"] == partition)
        .map(|p| p["local"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn idle_partitions_quiesce_wake_on_writes_and_fail_over() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    ok(&cluster.cli(
        1,
        &[
            "topic",
            "create",
            TOPIC,
            "-p",
            &PARTITIONS.to_string(),
            "-r",
            "3",
        ],
    ));
    cluster.wait_for("every replica to quiesce", WAIT, || {
        all_quiescent(&cluster, &[1, 2, 3])
    });

    // A write to a quiescent partition is committed and reaches every replica.
    let first: Vec<String> = (0..10).map(|i| format!("first-{i}")).collect();
    produce(&cluster, 0, &first);
    for id in [1, 2, 3] {
        cluster.wait_for(&format!("broker {id} to hold the 10 records"), WAIT, || {
            (local(&cluster.view(id)?, 0)["high_watermark"] == 10).then_some(())
        });
    }
    // ... and the partition quiesces again once idle.
    cluster.wait_for("every replica to quiesce again", WAIT, || {
        all_quiescent(&cluster, &[1, 2, 3])
    });

    // SIGKILL the broker leading partition 0 while everything is quiescent:
    // every partition it led gets a new leader among the survivors.
    let view = cluster.view(1).unwrap();
    let victim = partitions(&view, TOPIC)
        .into_iter()
        .find(|p| p["partition"] == 0)
        .and_then(|p| p["leader"].as_u64())
        .unwrap();
    let led: Vec<u64> = partitions(&view, TOPIC)
        .into_iter()
        .filter(|p| p["leader"] == victim)
        .map(|p| p["partition"].as_u64().unwrap())
        .collect();
    let survivors: Vec<u64> = [1, 2, 3].into_iter().filter(|&b| b != victim).collect();
    let killed = Instant::now();
    cluster.kill(victim);
    cluster.wait_for(
        "new leaders for the killed broker's partitions",
        WAIT,
        || {
            let v = cluster.view(survivors[0])?;
            partitions(&v, TOPIC)
                .iter()
                .all(|p| p["leader"].as_u64().is_some_and(|l| survivors.contains(&l)))
                .then_some(())
        },
    );
    eprintln!(
        "{} quiescent partitions led by broker {victim} moved {:?} after SIGKILL",
        led.len(),
        killed.elapsed()
    );

    // Every partition takes writes, and every record reads back in order.
    let mut expected = first.clone();
    for p in 0..PARTITIONS as u32 {
        let lines: Vec<String> = (0..5).map(|i| format!("after-{p}-{i}")).collect();
        produce(&cluster, p, &lines);
        if p == 0 {
            expected.extend(lines);
        }
    }
    let out = ok(&Command::new(cairn_bin())
        .args(["consume", TOPIC, "--partition", "0", "--from-beginning"])
        .args(["--max-messages", "15", "--idle-timeout", "10s"])
        .args(["--bootstrap-server", &cluster.bootstrap()])
        .output()
        .unwrap());
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, expected.iter().map(String::as_str).collect::<Vec<_>>());

    // The restarted broker catches up and its replicas quiesce with the rest.
    cluster.spawn(victim);
    cluster.wait_for("the restarted broker's replicas to catch up", WAIT, || {
        (local(&cluster.view(victim)?, 0)["high_watermark"] == 15).then_some(())
    });
    cluster.wait_for("every replica to quiesce after the restart", WAIT, || {
        all_quiescent(&cluster, &[1, 2, 3])
    });
}
