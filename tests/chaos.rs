//! `cairn chaos` end to end: a 3-broker cluster of real processes, acks=all
//! producers and a consumer, 60 s of seeded broker kills, pauses and network
//! partitions (when run as root with nft, as `.ci/run` is), healing, a final
//! read and the checker — which must find no anomaly. The same for 30 s with
//! the idempotent workload (client retries on, so a duplicate would show),
//! for 30 s with the group workload (members of one consumer group
//! committing as they read, leaving and rejoining), and for 30 s with the
//! transactional workload (transactions over several partitions, some
//! aborted, read by a read_committed consumer: no aborted read, no
//! transaction seen in part, no committed record lost).
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

/// Every fault this machine can apply: partitions need root and nft.
fn faults() -> &'static str {
    if can_partition() {
        "kill,pause,partition"
    } else {
        eprintln!("not root or no nft: running kills and pauses only");
        "kill,pause"
    }
}

/// A finished chaos run: its stdout, report and history.
struct Run {
    stdout: String,
    report: serde_json::Value,
    history: String,
}

/// Runs `cairn chaos ARGS --faults F --interval 5s --out DIR`, asserts that it
/// succeeded and found no anomaly, and returns what it wrote.
fn chaos(args: &[&str], faults: &str) -> Run {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::cairn_bin())
        .arg("chaos")
        .args(args)
        .args(["--faults", faults, "--interval", "5s", "--out"])
        .arg(out_dir.path())
        .output()
        .expect("run cairn chaos");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "chaos run failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out_dir.path().join(name)).unwrap();
    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(report["anomalies"].as_array().unwrap().len(), 0, "{report}");
    Run {
        stdout,
        report,
        history: read("history.jsonl"),
    }
}

fn has_event(history: &str, kind: &str) -> bool {
    history
        .lines()
        .any(|l| l.contains(&format!("\"type\":\"{kind}\"")))
}

#[test]
fn thirty_seconds_of_faults_with_retrying_idempotent_producers_without_duplicates() {
    let run = chaos(
        &[
            "--workload",
            "idempotent",
            "--partitions",
            "3",
            "--duration",
            "30s",
            "--seed",
            "7",
        ],
        faults(),
    );
    assert!(run.stdout.contains("Idempotent workload"), "{}", run.stdout);
    assert!(run.report["ok"].as_u64().unwrap() > 500, "{}", run.report);
}

#[test]
fn thirty_seconds_of_faults_under_transactions_without_aborted_reads_or_partial_transactions() {
    let run = chaos(
        &[
            "--workload",
            "txn",
            "--partitions",
            "4",
            "--producers",
            "3",
            "--duration",
            "30s",
            "--seed",
            "13",
        ],
        faults(),
    );
    assert!(run.stdout.contains("Txn workload"), "{}", run.stdout);
    let txns = &run.report["txns"];
    assert!(txns[0].as_u64().unwrap() > 50, "committed: {}", run.report);
    assert!(txns[1].as_u64().unwrap() > 5, "aborted: {}", run.report);
    assert!(has_event(&run.history, "txn"), "no transactions recorded");
}

#[test]
fn thirty_seconds_of_faults_under_a_committing_consumer_group_lose_no_commit() {
    let run = chaos(
        &[
            "--workload",
            "group",
            "--partitions",
            "4",
            "--consumers",
            "3",
            "--producers",
            "2",
            "--duration",
            "30s",
            "--seed",
            "11",
        ],
        faults(),
    );
    assert!(run.stdout.contains("Group workload"), "{}", run.stdout);
    for category in ["lost-commit", "duplicate-assignment", "commit-skip"] {
        assert!(run.stdout.contains(category), "{}", run.stdout);
    }
    // The group did real work: members were assigned partitions (more than
    // once each: they leave and rejoin), read and committed.
    assert!(
        run.report["assignments"].as_u64().unwrap() > 3,
        "{}",
        run.report
    );
    assert!(
        run.report["commits_ok"].as_u64().unwrap() > 20,
        "{}",
        run.report
    );
    assert!(has_event(&run.history, "poll"));
    assert!(has_event(&run.history, "committed_read"));
}

#[test]
fn sixty_seconds_of_kills_pauses_and_partitions_without_anomalies() {
    let faults = faults();
    let run = chaos(
        &[
            "--nodes",
            "3",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
            "--duration",
            "60s",
            "--seed",
            "42",
        ],
        faults,
    );
    assert!(run.stdout.contains("seed 42"), "{}", run.stdout);
    // The run did real work under faults: thousands of acknowledged sends.
    assert!(run.report["ok"].as_u64().unwrap() > 1000, "{}", run.report);
    assert!(has_event(&run.history, "final_read"));
    // Faults were applied: the schedule names them.
    for fault in faults.split(',') {
        assert!(
            run.stdout.contains(&format!("healed: {fault}")),
            "{}",
            run.stdout
        );
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
