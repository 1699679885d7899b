//! End-to-end tests of the control plane with real `cairn broker` processes:
//! cluster formation, topic creation with replicated partition groups,
//! controller and partition-leader failover after SIGKILL, rejoin after
//! restart, clean SIGTERM shutdown, topic deletion, and CLI errors.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{broker, fails, ids, ok, partitions, TestCluster};

const WAIT: Duration = Duration::from_secs(30);

/// Every partition of `topic` has a leader and an ISR equal to `isr`, as broker `via` sees it.
fn all_led_with_isr(
    cluster: &TestCluster,
    via: u64,
    topic: &str,
    count: usize,
    isr: &[u64],
) -> Option<Value> {
    let view = cluster.view(via)?;
    let ps = partitions(&view, topic);
    let good = ps.len() == count
        && ps
            .iter()
            .all(|p| p["leader"].as_u64().is_some() && ids(&p["isr"]) == isr);
    good.then_some(view)
}

#[test]
fn three_brokers_replicate_topics_and_survive_kills() {
    let mut cluster = TestCluster::start(3);
    let view = cluster.wait_formed(1, &[1, 2, 3]);
    assert!(view["controller_term"].as_u64().unwrap() >= 1);

    // A topic with 6 partitions and RF 3: every partition gets a leader and a full ISR.
    let out = ok(&cluster.cli(
        1,
        &[
            "topic",
            "create",
            "trucks",
            "--partitions",
            "6",
            "--replication-factor",
            "3",
        ],
    ));
    assert!(out.contains("created topic trucks"), "{out}");
    let view = cluster.wait_for("6 partitions led with ISR [1,2,3]", WAIT, || {
        all_led_with_isr(&cluster, 1, "trucks", 6, &[1, 2, 3])
    });
    let mut led_by = std::collections::BTreeMap::<u64, usize>::new();
    for p in partitions(&view, "trucks") {
        assert_eq!(ids(&p["replicas"]), vec![1, 2, 3]);
        assert!(p["leader_epoch"].as_u64().unwrap() >= 1);
        *led_by.entry(p["leader"].as_u64().unwrap()).or_default() += 1;
    }
    // Preferred leaders are spread by placement and start the groups, so
    // every broker leads some partitions.
    assert_eq!(led_by.len(), 3, "leaders not spread: {led_by:?}");
    // Every broker learns the same leaders (dissemination).
    for id in [2, 3] {
        cluster.wait_for(&format!("broker {id} to agree on leaders"), WAIT, || {
            let other = all_led_with_isr(&cluster, id, "trucks", 6, &[1, 2, 3])?;
            let mine = cluster.view(1)?;
            let leaders = |v: &Value| {
                partitions(v, "trucks")
                    .iter()
                    .map(|p| p["leader"].clone())
                    .collect::<Vec<_>>()
            };
            (leaders(&other) == leaders(&mine)).then_some(())
        });
    }

    // The JSON status has the documented shape.
    let status: Value = serde_json::from_str(&ok(
        &cluster.cli(2, &["cluster", "status", "--output", "json"])
    ))
    .unwrap();
    assert!(status["controller"].as_u64().is_some());
    assert_eq!(status["brokers"].as_array().unwrap().len(), 3);
    for field in [
        "topic",
        "partition",
        "leader",
        "leader_epoch",
        "replicas",
        "isr",
    ] {
        assert!(
            !status["partitions"][0][field].is_null(),
            "missing {field} in {status}"
        );
    }
    let table = ok(&cluster.cli(3, &["cluster", "status"]));
    assert!(
        table.contains("controller:") && table.contains("trucks"),
        "{table}"
    );

    // Describe shows Kafka's defaults.
    let described = ok(&cluster.cli(1, &["topic", "describe", "trucks"]));
    assert!(
        described.contains("retention.ms") && described.contains("604800000"),
        "{described}"
    );

    // SIGKILL the controller: a new one is elected and the topic is still describable.
    let old_controller = view["controller"].as_u64().unwrap();
    cluster.kill(old_controller);
    let survivor = [1, 2, 3]
        .into_iter()
        .find(|&b| b != old_controller)
        .unwrap();
    cluster.wait_for("a new controller", WAIT, || {
        let v = cluster.view(survivor)?;
        let c = v["controller"].as_u64()?;
        (c != old_controller).then_some(c)
    });
    ok(&cluster.cli(survivor, &["topic", "describe", "trucks"]));
    // Partitions it led move to live replicas; ISR shrinks to the two survivors.
    let live: Vec<u64> = [1, 2, 3]
        .into_iter()
        .filter(|&b| b != old_controller)
        .collect();
    let killed_at = Instant::now();
    cluster.wait_for("leaders to move off the killed broker", WAIT, || {
        let v = all_led_with_isr(&cluster, survivor, "trucks", 6, &live)?;
        partitions(&v, "trucks")
            .iter()
            .all(|p| p["leader"].as_u64() != Some(old_controller))
            .then_some(())
    });
    eprintln!(
        "leadership of every partition moved {:?} after SIGKILL (incl. session timeout for ISR)",
        killed_at.elapsed()
    );
    cluster.wait_for("the killed broker to be shown offline", WAIT, || {
        let v = cluster.view(survivor)?;
        (broker(&v, old_controller)?["live"] == false).then_some(())
    });

    // Restarted with the same data, it rejoins: live again, ISR back to 3.
    cluster.spawn(old_controller);
    cluster.wait_for("the restarted broker to rejoin every ISR", WAIT, || {
        let v = all_led_with_isr(&cluster, survivor, "trucks", 6, &[1, 2, 3])?;
        (broker(&v, old_controller)?["live"] == true).then_some(())
    });

    // Deleting the topic stops every partition group on every broker.
    ok(&cluster.cli(1, &["topic", "delete", "trucks"]));
    for id in [1, 2, 3] {
        cluster.wait_for(
            &format!("broker {id} to stop the deleted topic's groups"),
            WAIT,
            || {
                let health = cluster.get(id, "/health")?;
                (health["partition_groups"] == 0).then_some(())
            },
        );
    }
    let err = fails(&cluster.cli(2, &["topic", "describe", "trucks"]));
    assert!(err.contains("topic 'trucks' does not exist"), "{err}");
}

#[test]
fn one_broker_cluster_with_rf1_and_clean_restart() {
    let mut cluster = TestCluster::start(1);
    cluster.wait_formed(1, &[1]);
    ok(&cluster.cli(
        1,
        &[
            "topic",
            "create",
            "solo",
            "-p",
            "2",
            "-r",
            "1",
            "--config",
            "retention.ms=60000",
        ],
    ));
    cluster.wait_for("both partitions led by broker 1", WAIT, || {
        all_led_with_isr(&cluster, 1, "solo", 2, &[1])
    });
    let json: Value = serde_json::from_str(&ok(
        &cluster.cli(1, &["topic", "describe", "solo", "--output", "json"])
    ))
    .unwrap();
    assert_eq!(json["configs"]["retention.ms"]["value"], "60000");
    assert_eq!(json["configs"]["retention.ms"]["is_default"], false);

    // SIGTERM: a clean, prompt, successful exit.
    let status = cluster
        .terminate(1, Duration::from_secs(15))
        .expect("broker exits on SIGTERM");
    assert!(status.success(), "exit status {status}");
    // A restart resumes with the topic and its partition groups.
    cluster.spawn(1);
    cluster.wait_for("partitions led again after restart", WAIT, || {
        all_led_with_isr(&cluster, 1, "solo", 2, &[1])
    });
    let log = std::fs::read_to_string(cluster.log_path(1)).unwrap();
    assert!(log.contains("broker stopped"), "clean shutdown not logged");
    assert!(
        log.contains("fresh=false"),
        "restart did not reopen stored groups"
    );
}

#[test]
fn admin_errors_name_the_problem() {
    let cluster = TestCluster::start(2);
    cluster.wait_formed(1, &[1, 2]);
    let err = fails(&cluster.cli(1, &["topic", "create", "big", "-p", "1", "-r", "3"]));
    assert!(
        err.contains("replication factor 3 is larger than the 2 live brokers"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");

    ok(&cluster.cli(2, &["topic", "create", "dup", "-p", "1", "-r", "2"]));
    let err = fails(&cluster.cli(1, &["topic", "create", "dup", "-p", "1", "-r", "2"]));
    assert!(err.contains("topic 'dup' already exists"), "{err}");

    let err = fails(&cluster.cli(1, &["topic", "delete", "nope"]));
    assert!(err.contains("topic 'nope' does not exist"), "{err}");

    let err = fails(&cluster.cli(
        1,
        &["topic", "create", "cfg", "--config", "retention.ms=soon"],
    ));
    assert!(err.contains("retention.ms='soon'"), "{err}");

    let err = fails(&cluster.cli(1, &["topic", "create", "bad/name"]));
    assert!(err.contains("'bad/name'"), "{err}");

    // Nothing listens on a fresh port: the CLI says the broker is unreachable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = std::process::Command::new(support::cairn_bin())
        .args(["cluster", "status", "--admin", &closed.to_string()])
        .output()
        .unwrap();
    let err = fails(&out);
    assert!(
        err.contains("broker unreachable") && err.contains(&closed.to_string()),
        "{err}"
    );
}

#[test]
fn invalid_broker_config_exits_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(support::cairn_bin())
            .arg("broker")
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let err = fails(&run(&["--seeds", "1@127.0.0.1:1,x@y"]));
    assert!(err.contains("--seeds") && err.contains("'x'"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let err = fails(&run(&["--kafka-addr", "localhost"]));
    assert!(err.contains("kafka_addr 'localhost'"), "{err}");
    let err = fails(&run(&["--controller-voters", "1,7"]));
    assert!(err.contains("controller voter 7 is not in seeds"), "{err}");
    let config = dir.path().join("broker.toml");
    std::fs::write(&config, "id = 1\nretention = 5\n").unwrap();
    let err = fails(&run(&["--config", config.to_str().unwrap()]));
    assert!(
        err.contains("broker.toml") && err.contains("retention"),
        "{err}"
    );
}

#[test]
fn non_voter_brokers_follow_metadata_as_learners_and_host_replicas() {
    // Voters 1,2,3; brokers 4 and 5 register at the same moment and must both
    // become learners (openraft takes one membership change at a time).
    let cluster = TestCluster::start(5);
    let view = cluster.wait_formed(4, &[1, 2, 3, 4, 5]);
    cluster.wait_formed(5, &[1, 2, 3, 4, 5]);
    assert_eq!(broker(&view, 4).unwrap()["controller_voter"], false);
    assert_eq!(broker(&view, 5).unwrap()["controller_voter"], false);
    assert_eq!(broker(&view, 1).unwrap()["controller_voter"], true);
    ok(&cluster.cli(5, &["topic", "create", "five", "-p", "5", "-r", "5"]));
    cluster.wait_for(
        "5 partitions with ISR [1..5] seen from a learner",
        WAIT,
        || all_led_with_isr(&cluster, 5, "five", 5, &[1, 2, 3, 4, 5]),
    );

    // Garbage on the Raft port closes that connection; the broker keeps serving.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", cluster.brokers[&4].raft)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&[0xff; 64]).unwrap();
    let mut buf = [0u8; 16];
    assert!(
        matches!(s.read(&mut buf), Ok(0) | Err(_)),
        "garbage must close the connection"
    );
    assert_eq!(cluster.get(4, "/health").unwrap()["status"], "ok");
    cluster.wait_for("the cluster to stay healthy", WAIT, || {
        all_led_with_isr(&cluster, 1, "five", 5, &[1, 2, 3, 4, 5])
    });
}
