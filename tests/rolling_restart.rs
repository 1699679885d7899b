//! A rolling restart: each of 3 brokers in turn gets SIGTERM and comes back,
//! while a librdkafka acks=all producer sends steadily. Each broker hands the
//! groups it leads to caught-up replicas before it stops (its log says how
//! many, and that none was left to an election); no send fails; every
//! acknowledged message is in the topic. Each partition's longest gap
//! between two acknowledgements is printed (a figure for the notes, not a
//! pass mark: the machines are shared).

mod support;

use std::time::Duration;

use support::TestCluster;

const TOPIC: &str = "rolling";

#[test]
fn a_rolling_sigterm_restart_hands_leadership_over_and_fails_no_send() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 6, 3);
    let bootstrap = cluster.bootstrap();
    let producer = support::SteadyProducer::start(&bootstrap, TOPIC);
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
    let report = producer.stop_and_check();
    println!("rolling restart under an acks=all producer: {report}");
    assert!(report["sent"].as_u64().unwrap() > 1000, "{report}");
}
