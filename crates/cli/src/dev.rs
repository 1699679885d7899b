//! `cairn dev`: a local cluster of N brokers as child processes on fixed
//! ports (broker i: Kafka 9091+i, Raft 19091+i, admin 9643+i), data under
//! `--data-dir` (reused on the next start), logs in `DATA_DIR/broker-i.log`.
//! Ctrl-C (or SIGTERM) stops every broker with SIGTERM and waits for it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Flags of `cairn dev`.
#[derive(Args, Debug)]
pub struct DevArgs {
    /// Number of brokers.
    #[arg(long, default_value_t = 3, env = "CAIRN_DEV_NODES")]
    nodes: u64,
    /// Where the brokers keep their data and logs.
    #[arg(long, default_value = ".cairn-dev", env = "CAIRN_DEV_DATA_DIR")]
    data_dir: PathBuf,
    /// Metadata group voters: the first N brokers (at most 3 by default).
    #[arg(long, env = "CAIRN_DEV_CONTROLLERS")]
    controllers: Option<u64>,
}

/// The ports of dev broker `id` (1-based): Kafka, Raft, admin.
pub fn dev_ports(id: u64) -> (u64, u64, u64) {
    (9091 + id, 19091 + id, 9643 + id)
}

/// Waits until broker 1's admin API names a controller and reports all
/// `nodes` brokers live; fails early if a broker exits.
fn wait_until_ready(
    children: &mut [(u64, Child)],
    nodes: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}/v1/cluster", dev_ports(1).2);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        for (id, child) in children.iter_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("broker {id} exited ({status})");
            }
        }
        let view: Option<serde_json::Value> = http
            .get(&url)
            .send()
            .ok()
            .and_then(|r| r.error_for_status().ok())
            .and_then(|r| r.json().ok());
        if let Some(view) = view {
            let live = view["brokers"]
                .as_array()
                .map_or(0, |b| b.iter().filter(|b| b["live"] == true).count());
            if view["controller"].is_u64() && live as u64 == nodes {
                return Ok(());
            }
        }
        if std::time::Instant::now() > deadline {
            bail!("no controller with {nodes} live brokers after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What a new user can type next, once the cluster is ready: every line a
/// command that works against the dev cluster's default addresses.
fn next_steps(cairn: &str) -> String {
    let kafka = format!("127.0.0.1:{}", dev_ports(1).0);
    format!(
        "\ncluster ready. Try, in another terminal:\n\
         \x20 {cairn} topic create trucks --partitions 6 --replication-factor 3\n\
         \x20 printf 'hello\\nworld\\n' | {cairn} produce trucks --key truck_42 --acks all\n\
         \x20 {cairn} consume trucks --from-beginning --idle-timeout 5s\n\
         \x20 {cairn} cluster status\n\
         \x20 kcat -b {kafka} -L\n\n"
    )
}

/// Runs `cairn dev`.
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    if args.nodes == 0 || args.nodes > 100 {
        bail!("--nodes {} is out of range (1 to 100)", args.nodes);
    }
    let controllers = args.controllers.unwrap_or(args.nodes.min(3));
    if controllers == 0 || controllers > args.nodes {
        bail!(
            "--controllers {controllers} must be between 1 and --nodes ({})",
            args.nodes
        );
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the cairn executable")?;
    let seeds: Vec<String> = (1..=args.nodes)
        .map(|i| format!("{i}@127.0.0.1:{}", dev_ports(i).1))
        .collect();
    let voters: Vec<String> = (1..=controllers).map(|i| i.to_string()).collect();
    let mut children: Vec<(u64, Child)> = Vec::new();
    println!(
        "{:<7} {:<8} {:<16} {:<17} {:<16} LOG",
        "BROKER", "PID", "KAFKA", "RAFT", "ADMIN"
    );
    for id in 1..=args.nodes {
        let (kafka, raft, admin) = dev_ports(id);
        let dir = args.data_dir.join(format!("broker-{id}"));
        let log_path = args.data_dir.join(format!("broker-{id}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open log {}", log_path.display()))?;
        let child = Command::new(&exe)
            .arg("broker")
            .args(["--id", &id.to_string()])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--raft-addr", &format!("127.0.0.1:{raft}")])
            .args(["--kafka-addr", &format!("127.0.0.1:{kafka}")])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .args(["--seeds", &seeds.join(",")])
            .args(["--controller-voters", &voters.join(",")])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start broker {id}"))?;
        println!(
            "{:<7} {:<8} {:<16} {:<17} {:<16} {}",
            id,
            child.id(),
            format!("127.0.0.1:{kafka}"),
            format!("127.0.0.1:{raft}"),
            format!("127.0.0.1:{admin}"),
            log_path.display()
        );
        children.push((id, child));
    }
    match wait_until_ready(&mut children, args.nodes, Duration::from_secs(60)) {
        Ok(()) => print!("{}", next_steps(&exe.display().to_string())),
        Err(e) => eprintln!("cluster not ready yet: {e}; `cairn cluster status` shows its state"),
    }
    println!("press Ctrl-C to stop every broker");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut ticker = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = term.recv() => return anyhow::Ok(()),
                _ = int.recv() => return anyhow::Ok(()),
                _ = ticker.tick() => {}
            }
            for (id, child) in children.iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    eprintln!(
                        "broker {id} exited ({status}); see {}/broker-{id}.log",
                        args.data_dir.display()
                    );
                }
            }
            children.retain_mut(|(_, c)| matches!(c.try_wait(), Ok(None)));
            if children.is_empty() {
                bail!("every broker exited");
            }
        }
    })?;
    println!("stopping {} brokers", children.len());
    for (_, child) in &children {
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    }
    for (id, mut child) in children {
        let status = child.wait()?;
        println!("broker {id} stopped ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// Every `cairn ...` command the guide prints parses as a real command line.
    #[test]
    fn next_steps_are_valid_commands() {
        let guide = super::next_steps("cairn");
        let commands: Vec<Vec<&str>> = guide
            .lines()
            .map(|l| l.rsplit('|').next().unwrap_or(l).trim())
            .filter(|l| l.starts_with("cairn "))
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(commands.len(), 4, "guide:\n{guide}");
        for argv in commands {
            if let Err(e) = crate::Cli::try_parse_from(&argv) {
                panic!("`{}` does not parse: {e}", argv.join(" "));
            }
        }
        assert!(guide.contains("kcat -b 127.0.0.1:9092 -L"));
    }
}
