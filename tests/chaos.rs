//! `cairn chaos` end to end: a 3-broker cluster of real processes, acks=all
//! producers and a consumer, 60 s of seeded broker kills, pauses and network
//! partitions (when run as root with nft, as `.ci/run` is), healing, a final
//! read and the checker — which must find no anomaly. The same for 30 s with
//! the idempotent workload (client retries on, so a duplicate would show),
//! and for 30 s with the group workload (members of one consumer group
//! committing as they read, leaving and rejoining).
//! Then the workload alone against an existing cluster (`--bootstrap-server`).

mod support;

use std::process::Command;

fn can_partition() -> bool {
    // Listing tables needs what cutting links needs: nft and CAP_NET_ADMIN.
    Command::new("nft")
        .args(["list", "tables"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn thirty_seconds_of_faults_with_retrying_idempotent_producers_without_duplicates() {
    let faults = if can_partition() {
        "kill,pause,partition"
    } else {
        "kill,pause"
    };
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::cairn_bin())
        .args(["chaos", "--workload", "idempotent", "--partitions", "3"])
        .args(["--faults", faults, "--duration", "30s", "--interval", "5s"])
        .args(["--seed", "7", "--out"])
        .arg(out_dir.path())
        .output()
        .expect("run cairn chaos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chaos run failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Idempotent workload"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["anomalies"].as_array().unwrap().len(), 0, "{report}");
    assert!(report["ok"].as_u64().unwrap() > 500, "{report}");
}

#[test]
fn thirty_seconds_of_faults_under_a_committing_consumer_group_lose_no_commit() {
    let faults = if can_partition() {
        "kill,pause,partition"
    } else {
        "kill,pause"
    };
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::cairn_bin())
        .args(["chaos", "--workload", "group", "--partitions", "4"])
        .args(["--consumers", "3", "--producers", "2"])
        .args(["--faults", faults, "--duration", "30s", "--interval", "5s"])
        .args(["--seed", "11", "--out"])
        .arg(out_dir.path())
        .output()
        .expect("run cairn chaos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chaos run failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Group workload"), "{stdout}");
    for category in ["lost-commit", "duplicate-assignment", "commit-skip"] {
        assert!(stdout.contains(category), "{stdout}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["anomalies"].as_array().unwrap().len(), 0, "{report}");
    // The group did real work: members were assigned partitions (more than
    // once each: they leave and rejoin), read and committed.
    assert!(report["assignments"].as_u64().unwrap() > 3, "{report}");
    assert!(report["commits_ok"].as_u64().unwrap() > 20, "{report}");
    let history = std::fs::read_to_string(out_dir.path().join("history.jsonl")).unwrap();
    assert!(history.lines().any(|l| l.contains("\"type\":\"poll\"")));
    assert!(history
        .lines()
        .any(|l| l.contains("\"type\":\"committed_read\"")));
}

#[test]
fn sixty_seconds_of_kills_pauses_and_partitions_without_anomalies() {
    let faults = if can_partition() {
        "kill,pause,partition"
    } else {
        eprintln!("not root or no nft: running kills and pauses only");
        "kill,pause"
    };
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::cairn_bin())
        .args([
            "chaos",
            "--nodes",
            "3",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ])
        .args([
            "--faults",
            faults,
            "--duration",
            "60s",
            "--interval",
            "5s",
            "--seed",
            "42",
        ])
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .expect("run cairn chaos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chaos run failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("seed 42"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["anomalies"].as_array().unwrap().len(), 0, "{report}");
    // The run did real work under faults: thousands of acknowledged sends.
    assert!(report["ok"].as_u64().unwrap() > 1000, "{report}");
    let history = std::fs::read_to_string(out_dir.path().join("history.jsonl")).unwrap();
    assert!(history
        .lines()
        .any(|l| l.contains("\"type\":\"final_read\"")));
    // Faults were applied: the schedule names them.
    for fault in faults.split(',') {
        assert!(stdout.contains(&format!("healed: {fault}")), "{stdout}");
    }
}

#[test]
fn the_workload_alone_runs_against_an_existing_cluster() {
    let cluster = support::TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    let out = Command::new(support::cairn_bin())
        .args(["chaos", "--bootstrap-server", &cluster.bootstrap()])
        .args(["--partitions", "2", "--replication-factor", "3"])
        .args(["--duration", "8s", "--seed", "9", "--producers", "2"])
        .output()
        .expect("run cairn chaos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("no anomalies (seed 9)"), "{stdout}");
    // It made its own topic on the cluster.
    let topics = cluster.cli(1, &["topic", "list"]);
    let topics = String::from_utf8_lossy(&topics.stdout);
    assert!(topics.contains("cairn-chaos-9"), "{topics}");

    // Faults need a cluster of the run's own: refused with a clear message.
    let out = Command::new(support::cairn_bin())
        .args(["chaos", "--bootstrap-server", &cluster.bootstrap()])
        .args(["--faults", "kill"])
        .output()
        .expect("run cairn chaos");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--faults needs a cluster"), "{stderr}");
}
