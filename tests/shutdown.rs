//! SIGTERM stops a broker cleanly while clients write to it: the process
//! exits 0 within a stated bound, having joined every task it owns (each
//! long-running loop logs "task stopped"; the broker logs "broker stopped"
//! with no task aborted), and the rest of the cluster carries on.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::{ok, partitions, TestCluster};

const WAIT: Duration = Duration::from_secs(30);
/// The bound this test states for a clean stop under load: handing its led
/// groups over (at most 5 s, `shutdown_transfer_timeout_ms`), the broker's
/// own task-join deadlines (10 s for its loops, 10 s for helper tasks), then
/// closing the groups and syncing storage.
const STOP_BOUND: Duration = Duration::from_secs(30);
/// Every long-running loop the broker starts (see `crates/broker/src/node.rs`).
const LOOPS: [&str; 8] = [
    "raft listener",
    "registration",
    "reconcile",
    "heartbeat",
    "retention",
    "controller",
    "kafka listener",
    "admin listener",
];

#[test]
fn sigterm_under_load_exits_zero_with_every_task_joined() {
    let mut cluster = TestCluster::start_with_env(
        3,
        &[("RUST_LOG", "info,openraft=warn,cairn_broker::tasks=debug")],
    );
    cluster.wait_formed(1, &[1, 2, 3]);
    ok(&cluster.cli(1, &["topic", "create", "busy", "-p", "3", "-r", "3"]));
    cluster.wait_for("every partition led", WAIT, || {
        let view = cluster.view(1)?;
        let ps = partitions(&view, "busy");
        (ps.len() == 3 && ps.iter().all(|p| p["leader"].as_u64().is_some())).then_some(())
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap())
        .set("acks", "all")
        .set("message.timeout.ms", "60000")
        .create()
        .unwrap();
    let acked = Arc::new(AtomicUsize::new(0));
    let load = {
        let (producer, acked) = (producer.clone(), acked.clone());
        runtime.spawn(async move {
            for i in 0..100_000u32 {
                let value = format!("v{i}");
                let record = FutureRecord::<(), _>::to("busy").payload(&value);
                if producer.send(record, Duration::from_secs(60)).await.is_ok() {
                    acked.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    cluster.wait_for("the load to be running", WAIT, || {
        (acked.load(Ordering::Relaxed) >= 200).then_some(())
    });

    // Stop broker 2 while it serves produce requests and leads or follows every partition.
    let status = cluster
        .terminate(2, STOP_BOUND)
        .unwrap_or_else(|| panic!("broker 2 did not exit within {STOP_BOUND:?} of SIGTERM"));
    let log = std::fs::read_to_string(cluster.log_path(2)).unwrap();
    assert!(
        status.success(),
        "broker 2 exited with {status}; log tail:\n{}",
        tail(&log)
    );
    for task in LOOPS {
        assert!(
            log.lines()
                .any(|l| l.contains("task stopped") && l.contains(&format!("task=\"{task}\""))),
            "no 'task stopped' line for {task}; log tail:\n{}",
            tail(&log)
        );
    }
    let stopped = log
        .lines()
        .find(|l| l.contains("broker stopped"))
        .unwrap_or_else(|| panic!("no 'broker stopped' line; log tail:\n{}", tail(&log)));
    assert!(stopped.contains("aborted=0"), "{stopped}");

    // The remaining majority keeps accepting writes.
    let before = acked.load(Ordering::Relaxed);
    cluster.wait_for("writes after the stop", WAIT, || {
        (acked.load(Ordering::Relaxed) >= before + 200).then_some(())
    });
    load.abort();
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
