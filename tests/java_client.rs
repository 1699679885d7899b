//! The Apache Kafka Java client (kafka-clients 3.9.1, the reference client;
//! its jars are installed by scripts/setup.sh from a PyPI wheel) against a
//! 3-broker cluster: a consumer group reads every record once and commits, a
//! new member resumes at the commits, and the Admin client lists, describes
//! and reads the group's offsets (tests/java/GroupConsumer.java); the Admin
//! client's topic, config, partition, record, log dir and ACL calls and the
//! default producer auto-creating its topic (tests/java/AdminProbe.java).

mod support;

use std::process::Command;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::{java_classpath, ok, TestCluster};

const RECORDS: usize = 600;

#[test]
fn java_consumer_group_reads_commits_resumes_and_admin_sees_it() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    ok(&cluster.cli(1, &["topic", "create", "orders", "-p", "6", "-r", "3"]));
    let bootstrap = cluster.bootstrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .create()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for i in 0..RECORDS {
            let key = format!("k{}", i % 37);
            let value = format!("order-{i}");
            producer
                .send(
                    FutureRecord::to("orders").key(&key).payload(&value),
                    Duration::from_secs(30),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("send {i}: {e}"));
        }
    });

    let program = format!(
        "{}/tests/java/GroupConsumer.java",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new("java")
        .args(["-cp", &java_classpath(), &program])
        .args([&bootstrap, "orders", "java-group", &RECORDS.to_string()])
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "GroupConsumer.java failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("java read 600 from 6 partitions"),
        "{stdout}"
    );
    assert!(
        stdout.contains("java resumed at the commits on 6 partitions"),
        "{stdout}"
    );
    assert!(
        stdout.contains("java admin: group java-group Empty, committed 600"),
        "{stdout}"
    );
}

#[test]
fn java_admin_client_and_default_producer_work_against_cairn() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    let program = format!("{}/tests/java/AdminProbe.java", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("java")
        .args(["-cp", &java_classpath(), &program, &cluster.bootstrap()])
        .output()
        .expect("run java (a JDK 17+ is needed; scripts/setup.sh installs one)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "AdminProbe.java failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "java admin: cluster of 3 brokers",
        "manual assignment kept",
        "altered retention.ms",
        "grew java-admin to 4 partitions",
        "java producer: 10 records to java-auto, which it created",
        "deleteRecords (log start 4)",
        "describeLogDirs of 3 brokers",
        "electLeaders PREFERRED (one partition, then all)",
        "describeAcls -> SecurityDisabledException",
        "deleted the topics",
    ] {
        assert!(stdout.contains(line), "missing '{line}' in:\n{stdout}");
    }
}
