//! `cairn chaos`: a Jepsen-style run against a cluster of its own — acks=all
//! producers and a consumer under a seeded schedule of broker kills, pauses
//! and network partitions, then a final read and the checker — or the
//! workload alone against an existing cluster. Exits non-zero on any anomaly.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use cairn_chaos::checker::CATEGORIES;
use cairn_chaos::run::{ChaosConfig, Fault, Workload};
use cairn_chaos::{check, History};

use crate::clients::parse_duration;

/// Flags of `cairn chaos`.
#[derive(Args, Debug)]
pub struct ChaosArgs {
    /// Brokers in the cluster the run starts.
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Partitions of the workload topic.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Replication factor of the workload topic.
    #[arg(long, default_value_t = 3)]
    replication_factor: u32,
    /// Faults to mix, comma-separated: kill, pause, partition (partition
    /// needs root and nft; without them the run says so and goes on without
    /// it), membership (partition moves and leadership transfers beside the
    /// other faults; wants more brokers than the replication factor).
    /// Default: kill, pause, partition; none with --bootstrap-server.
    #[arg(long)]
    faults: Option<String>,
    /// Run only the workload and the checker (no faults) against this
    /// existing cluster, on a new topic `cairn-chaos-<seed>`.
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// How long faults are applied, e.g. 120s.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Time between nemesis steps (a fault, then its healing).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    interval: Duration,
    /// Seed of the fault schedule (printed at start; pass it to replay).
    #[arg(long)]
    seed: Option<u64>,
    /// Concurrent producers.
    #[arg(long, default_value_t = 4)]
    producers: usize,
    /// The workload: `plain` (acks=all producers without client retries, one
    /// consumer reading every partition), `idempotent` (client retries on,
    /// enable.idempotence=true; a retry must never write a value twice) or
    /// `group` (plain producers; --consumers members of one consumer group
    /// that commit as they read and leave and rejoin every 10–30 s; checked
    /// for lost commits, duplicate assignments and commits past unread
    /// records) or `txn` (transactional producers, 1–4 sends to random
    /// partitions per transaction, a fifth of them aborted; a
    /// read_committed consumer; checked for aborted reads (G1a) and
    /// transactions seen in part).
    #[arg(long, default_value = "plain")]
    workload: Workload,
    /// Members of the consumer group (group workload).
    #[arg(long, default_value_t = 3)]
    consumers: usize,
    /// Directory for history.jsonl, report.json and the brokers' data and logs.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `cairn chaos`.
pub fn run(args: ChaosArgs) -> anyhow::Result<()> {
    if args.bootstrap_server.is_some() && args.faults.is_some() {
        bail!("--faults needs a cluster of the run's own: with --bootstrap-server only the workload runs (no faults)");
    }
    let faults_arg = match (&args.faults, &args.bootstrap_server) {
        (Some(f), _) => f.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => "kill,pause,partition".into(),
    };
    let faults: Vec<Fault> = faults_arg
        .split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            f.parse()
                .map_err(|e: String| anyhow::anyhow!("--faults: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    if args.bootstrap_server.is_none()
        && (args.nodes < args.replication_factor as u64 || args.nodes == 0)
    {
        bail!(
            "--nodes {} must be at least --replication-factor {}",
            args.nodes,
            args.replication_factor
        );
    }
    if args.workload == Workload::Group && args.consumers == 0 {
        bail!("--consumers 0: the group workload needs at least one group member");
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let (dir, _temp) = match &args.out {
        Some(out) => {
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            (out.clone(), None)
        }
        None => {
            let t = tempfile::tempdir().context("cannot create a temp dir")?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    match &args.bootstrap_server {
        Some(b) => println!(
            "chaos: seed {seed}, workload only against {b}, {} partitions (RF {}) for {:?}",
            args.partitions, args.replication_factor, args.duration
        ),
        None => println!(
            "chaos: seed {seed}, {:?} workload, {} brokers, {} partitions (RF {}), faults {:?} every {:?} for {:?}",
            args.workload,
            args.nodes,
            args.partitions,
            args.replication_factor,
            faults,
            args.interval,
            args.duration
        ),
    }
    let config = ChaosConfig {
        workload: args.workload,
        bin: std::env::current_exe().context("cannot find the cairn executable")?,
        nodes: args.nodes,
        partitions: args.partitions,
        replication_factor: args.replication_factor,
        faults,
        duration: args.duration,
        interval: args.interval,
        seed,
        producers: args.producers,
        consumers: args.consumers,
        dir: dir.clone(),
        bootstrap: args.bootstrap_server.clone(),
    };
    let events = cairn_chaos::run::run(&config, |line| println!("{line}"))
        .map_err(|e| anyhow::anyhow!("chaos run failed: {e}"))?;
    let mut history_file = std::fs::File::create(dir.join("history.jsonl"))?;
    for e in &events {
        writeln!(history_file, "{}", serde_json::to_string(e)?)?;
    }
    let history = History::from_events(events);
    let report = check(&history);
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;

    println!(
        "\nsends: {} ok, {} failed, {} unknown",
        report.ok, report.fail, report.info
    );
    if args.workload == Workload::Txn {
        println!(
            "transactions: {} committed, {} aborted, {} unknown",
            report.txns[0], report.txns[1], report.txns[2]
        );
    }
    if args.workload == Workload::Group {
        println!(
            "commits: {} acknowledged, {} refused, {} unknown; {} assignments",
            report.commits_ok, report.commits_failed, report.commits_unknown, report.assignments
        );
    }
    println!("\n{:<22} COUNT", "ANOMALY");
    for category in CATEGORIES {
        println!("{category:<22} {}", report.count(category));
    }
    println!("\n{:<10} LONGEST UNAVAILABLE", "PARTITION");
    for (p, ns) in &report.longest_unavailable_ns {
        println!("{p:<10} {:.2}s", *ns as f64 / 1e9);
    }
    for a in report.anomalies.iter().take(10) {
        println!("  {} (partition {}): {}", a.kind, a.partition, a.detail);
    }
    if args.out.is_some() {
        println!("\nhistory and report in {}", dir.display());
    }
    if !report.is_valid() {
        bail!("{} anomalies found (seed {seed})", report.anomalies.len());
    }
    println!("no anomalies (seed {seed})");
    Ok(())
}
