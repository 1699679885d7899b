//! Consumer groups with real clients against a 3-broker cluster started by
//! the test: confluent-kafka and kafka-python consumers with `group.id`,
//! committed offsets that a new member resumes from, two members splitting
//! six partitions (tests/python/groups.py), and the coordinator's partition
//! leader SIGKILLed while a group commits.

mod support;

use std::process::Command;

use support::TestCluster;

#[test]
fn python_consumers_in_groups_read_commit_resume_and_split() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/groups.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(cluster.bootstrap())
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "groups.py failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("groups ok"), "{stdout}");
}
