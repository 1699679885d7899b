//! `cairn chaos` end to end: a 3-broker cluster of real processes, acks=all
//! producers and a consumer, 60 s of seeded broker kills and pauses, healing,
//! a final read and the checker — which must find no anomaly.

mod support;

use std::process::Command;

#[test]
fn sixty_seconds_of_kills_and_pauses_without_anomalies() {
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
            "kill,pause",
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
    assert!(
        stdout.contains("Kill broker") || stdout.contains("Pause broker"),
        "{stdout}"
    );
}
