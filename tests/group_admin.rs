//! `cairn group reset-offsets` and `cairn group delete` against a broker
//! started by the test, with a real librdkafka group member: a plan that
//! commits nothing, every kind of target, refusals while the group has a
//! member, deleting the group, and bad input named in the error.

mod support;

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use support::{fails, ok, TestCluster};

const PER_PARTITION: i64 = 50;

fn cli(bootstrap: &str, args: &[&str]) -> std::process::Output {
    support::cli_with_env(args, &[("CAIRN_BOOTSTRAP", bootstrap)])
}

/// The group's committed offset per partition of `orders`, from `cairn group describe`.
fn committed(bootstrap: &str, group: &str) -> Vec<(i64, i64)> {
    support::group_offsets(&support::describe_group(bootstrap, group))
        .into_iter()
        .map(|(partition, committed, _)| (partition, committed))
        .collect()
}

/// `cairn group reset-offsets` with `args`, its JSON plan as (partition, current, new).
fn reset(bootstrap: &str, args: &[&str]) -> Vec<(i64, Option<i64>, i64)> {
    let mut all = vec!["group", "reset-offsets", "g1", "--output", "json"];
    all.extend_from_slice(args);
    let out = ok(&cli(bootstrap, &all));
    let v: Value = serde_json::from_str(&out).expect("json");
    let mut plan: Vec<(i64, Option<i64>, i64)> = v
        .as_array()
        .expect("plan")
        .iter()
        .map(|r| {
            (
                r["partition"].as_i64().unwrap(),
                r["current"].as_i64(),
                r["new"].as_i64().unwrap(),
            )
        })
        .collect();
    plan.sort();
    plan
}

/// A member of group `g1` subscribed to `orders`, polled until it has partitions.
fn member(bootstrap: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "g1")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["orders"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while consumer.assignment().unwrap().count() == 0 {
        assert!(Instant::now() < deadline, "the member never got partitions");
        let _ = consumer.poll(Duration::from_millis(100));
    }
    consumer
}

#[test]
fn reset_offsets_and_delete_a_group_with_every_target_and_refusal() {
    let cluster = TestCluster::start(1);
    cluster.wait_formed(1, &[1]);
    ok(&cluster.cli(1, &["topic", "create", "orders", "-p", "2", "-r", "1"]));
    let bootstrap = cluster.bootstrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for p in 0..2 {
            for i in 0..PER_PARTITION {
                let value = format!("{p}-{i}");
                producer
                    .send(
                        FutureRecord::<(), _>::to("orders")
                            .payload(&value)
                            .partition(p),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap_or_else(|(e, _)| panic!("send: {e}"));
            }
        }
    });

    // A member reads everything and commits, then leaves.
    {
        let consumer = member(&bootstrap);
        let mut read = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while read < 2 * PER_PARTITION && Instant::now() < deadline {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                read += 1;
            }
        }
        assert_eq!(read, 2 * PER_PARTITION);
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    }
    let end = vec![(0, PER_PARTITION), (1, PER_PARTITION)];
    assert_eq!(committed(&bootstrap, "g1"), end);

    // A dry run commits nothing.
    let plan = reset(
        &bootstrap,
        &["--topic", "orders", "--to-earliest", "--dry-run"],
    );
    assert_eq!(
        plan,
        vec![(0, Some(PER_PARTITION), 0), (1, Some(PER_PARTITION), 0)]
    );
    assert_eq!(committed(&bootstrap, "g1"), end);
    let table = ok(&cli(
        &bootstrap,
        &[
            "group",
            "reset-offsets",
            "g1",
            "--topic",
            "orders",
            "--to-earliest",
            "--dry-run",
        ],
    ));
    assert!(table.contains("dry run"), "{table}");
    assert_eq!(committed(&bootstrap, "g1"), end);

    // Every target, committed (the default; `--execute` is accepted).
    reset(
        &bootstrap,
        &["--topic", "orders", "--to-earliest", "--execute"],
    );
    assert_eq!(committed(&bootstrap, "g1"), vec![(0, 0), (1, 0)]);
    reset(&bootstrap, &["--topic", "orders:1", "--shift-by", "10"]);
    assert_eq!(committed(&bootstrap, "g1"), vec![(0, 0), (1, 10)]);
    reset(
        &bootstrap,
        &["--topic", "orders:1", "--shift-by", "-25", "--execute"],
    );
    assert_eq!(committed(&bootstrap, "g1"), vec![(0, 0), (1, 0)]);
    reset(
        &bootstrap,
        &["--all-topics", "--to-offset", "20", "--execute"],
    );
    assert_eq!(committed(&bootstrap, "g1"), vec![(0, 20), (1, 20)]);
    reset(
        &bootstrap,
        &["--topic", "orders:0", "--to-offset", "9999", "--execute"],
    );
    assert_eq!(
        committed(&bootstrap, "g1"),
        vec![(0, PER_PARTITION), (1, 20)]
    );
    // Every record was written before now, none after the year 3000.
    reset(
        &bootstrap,
        &[
            "--topic",
            "orders",
            "--to-datetime",
            "2000-01-01T00:00:00Z",
            "--execute",
        ],
    );
    assert_eq!(committed(&bootstrap, "g1"), vec![(0, 0), (1, 0)]);
    reset(
        &bootstrap,
        &[
            "--topic",
            "orders",
            "--to-datetime",
            "3000-01-01T00:00:00Z",
            "--execute",
        ],
    );
    assert_eq!(committed(&bootstrap, "g1"), end);
    reset(
        &bootstrap,
        &["--topic", "orders", "--to-latest", "--execute"],
    );
    assert_eq!(committed(&bootstrap, "g1"), end);

    // Bad input: named in the error, nothing committed.
    let reset_err = |args: &[&str]| {
        let mut all = vec!["group", "reset-offsets", "g1"];
        all.extend_from_slice(args);
        fails(&cli(&bootstrap, &all))
    };
    assert!(reset_err(&["--topic", "orders", "--to-earliest", "--to-latest"]).contains("only one"));
    assert!(reset_err(&[
        "--topic",
        "orders",
        "--to-earliest",
        "--dry-run",
        "--execute"
    ])
    .contains("--dry-run"));
    assert!(reset_err(&["--topic", "orders"]).contains("--to-earliest"));
    assert!(reset_err(&["--to-earliest"]).contains("--topic"));
    assert!(reset_err(&["--topic", "nope", "--to-earliest"]).contains("'nope' does not exist"));
    assert!(reset_err(&["--topic", "orders:7", "--to-earliest"]).contains("no partition 7"));
    assert!(reset_err(&["--topic", "orders", "--to-datetime", "soon"]).contains("'soon'"));
    assert_eq!(committed(&bootstrap, "g1"), end);

    // While the group has a member: both refused.
    {
        let _active = member(&bootstrap);
        let refused = reset_err(&["--topic", "orders", "--to-earliest"]);
        assert!(refused.contains("active member"), "{refused}");
        let refused = fails(&cli(&bootstrap, &["group", "delete", "g1"]));
        assert!(refused.contains("still has members"), "{refused}");
    }
    assert_eq!(committed(&bootstrap, "g1"), end);

    // Once it left: deleted, offsets and all.
    let deleted = ok(&cli(&bootstrap, &["group", "delete", "g1"]));
    assert!(deleted.contains("deleted group 'g1'"), "{deleted}");
    let list = ok(&cli(&bootstrap, &["group", "list"]));
    assert!(!list.contains("g1 "), "{list}");
    let again = fails(&cli(&bootstrap, &["group", "delete", "g1"]));
    assert!(again.contains("does not exist"), "{again}");
}
