//! A cluster of real `cairn broker` processes for chaos runs: free loopback
//! ports, data in a temp dir, and the faults a nemesis applies — SIGKILL,
//! SIGSTOP/SIGCONT, restart on the same data.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// One broker.
#[derive(Debug)]
pub struct Broker {
    /// Broker id.
    pub id: u64,
    /// Kafka port.
    pub kafka: u16,
    /// Raft port.
    pub raft: u16,
    /// Admin port.
    pub admin: u16,
    child: Option<Child>,
    paused: bool,
}

/// The cluster.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    seeds: String,
    voters: String,
    /// Brokers by id.
    pub brokers: BTreeMap<u64, Broker>,
    http: reqwest::blocking::Client,
}

/// Reserves `n` distinct free loopback ports below Linux's ephemeral range
/// (32768+), so that no outgoing connection can take one between the
/// reservation and the broker's bind. The listeners are held until every port
/// is chosen, and a port handed out once in this process (tests run clusters
/// in parallel threads) is never handed out again.
pub fn free_ports(n: usize) -> Vec<u16> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = u64::from(std::process::id()) ^ now.as_nanos() as u64;
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let mut x = seed
            ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        let port = 20_000 + (x % 12_000) as u16;
        if given.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
            ports.push(port);
            given.push(port);
        }
    }
    ports
}

/// The `--seeds` and `--controller-voters` values of a local cluster whose
/// brokers have these (id, Raft port) pairs; the first three are voters.
pub fn cluster_args(raft_ports: &[(u64, u16)]) -> (String, String) {
    let seeds = raft_ports
        .iter()
        .map(|(id, port)| format!("{id}@127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let voters = raft_ports
        .iter()
        .take(3)
        .map(|(id, _)| id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    (seeds, voters)
}

/// The command that runs broker `b` of a local test cluster on loopback,
/// with short heartbeats and sessions so that faults are noticed quickly.
pub fn broker_command(bin: &Path, b: &Broker, data: &Path, seeds: &str, voters: &str) -> Command {
    let mut command = Command::new(bin);
    command
        .arg("broker")
        .args(["--id", &b.id.to_string()])
        .arg("--data-dir")
        .arg(data)
        .args(["--raft-addr", &format!("127.0.0.1:{}", b.raft)])
        .args(["--kafka-addr", &format!("127.0.0.1:{}", b.kafka)])
        .args(["--admin-addr", &format!("127.0.0.1:{}", b.admin)])
        .args(["--seeds", seeds, "--controller-voters", voters])
        .args([
            "--heartbeat-interval-ms",
            "200",
            "--session-timeout-ms",
            "2000",
        ])
        .stdin(Stdio::null());
    command
}

impl Broker {
    /// A broker with these ports that is not running yet.
    pub fn new(id: u64, kafka: u16, raft: u16, admin: u16) -> Self {
        Broker {
            id,
            kafka,
            raft,
            admin,
            child: None,
            paused: false,
        }
    }

    /// The running process, if any.
    pub fn child(&self) -> Option<&Child> {
        self.child.as_ref()
    }

    /// Records a started process.
    pub fn set_child(&mut self, child: Child) {
        self.child = Some(child);
        self.paused = false;
    }

    /// Takes the process out (to wait for it after a signal).
    pub fn take_child(&mut self) -> Option<Child> {
        self.child.take()
    }
}

impl Cluster {
    /// Starts `n` brokers of `bin` with data under `dir`.
    pub fn start(bin: &Path, dir: &Path, n: u64) -> std::io::Result<Cluster> {
        let ports = free_ports(n as usize * 3);
        let brokers: BTreeMap<u64, Broker> = (1..=n)
            .map(|id| {
                let i = (id as usize - 1) * 3;
                (id, Broker::new(id, ports[i], ports[i + 1], ports[i + 2]))
            })
            .collect();
        let raft_ports: Vec<(u64, u16)> = brokers.values().map(|b| (b.id, b.raft)).collect();
        let (seeds, voters) = cluster_args(&raft_ports);
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(std::io::Error::other)?;
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            seeds,
            voters,
            brokers,
            http,
        };
        for id in 1..=n {
            cluster.spawn(id)?;
        }
        Ok(cluster)
    }

    /// Starts (or restarts) broker `id` on its data.
    pub fn spawn(&mut self, id: u64) -> std::io::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("broker-{id}.log")))?;
        let data = self.dir.join(format!("broker-{id}"));
        let b = self.brokers.get_mut(&id).expect("known broker");
        let child = broker_command(&self.bin, b, &data, &self.seeds, &self.voters)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        b.set_child(child);
        Ok(())
    }

    fn signal(&self, id: u64, signal: Signal) {
        if let Some(child) = self.brokers.get(&id).and_then(|b| b.child.as_ref()) {
            let _ = kill(Pid::from_raw(child.id() as i32), signal);
        }
    }

    /// Whether broker `id` runs (not killed).
    pub fn is_running(&self, id: u64) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.child.is_some())
    }

    /// Whether broker `id` is paused.
    pub fn is_paused(&self, id: u64) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.paused)
    }

    /// SIGKILLs broker `id`.
    pub fn kill(&mut self, id: u64) {
        self.signal(id, Signal::SIGCONT);
        self.signal(id, Signal::SIGKILL);
        if let Some(mut child) = self.brokers.get_mut(&id).and_then(|b| b.child.take()) {
            let _ = child.wait();
        }
    }

    /// SIGSTOPs broker `id`.
    pub fn pause(&mut self, id: u64) {
        self.signal(id, Signal::SIGSTOP);
        if let Some(b) = self.brokers.get_mut(&id) {
            b.paused = true;
        }
    }

    /// SIGCONTs broker `id`.
    pub fn resume(&mut self, id: u64) {
        self.signal(id, Signal::SIGCONT);
        if let Some(b) = self.brokers.get_mut(&id) {
            b.paused = false;
        }
    }

    /// Every broker's Kafka address.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .values()
            .map(|b| format!("127.0.0.1:{}", b.kafka))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `GET path` on the admin API of any running, unpaused broker.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.brokers
            .values()
            .filter(|b| b.child.is_some() && !b.paused)
            .find_map(|b| {
                let r = self
                    .http
                    .get(format!("http://127.0.0.1:{}{path}", b.admin))
                    .send()
                    .ok()?;
                r.status().is_success().then(|| r.json().ok()).flatten()
            })
    }

    /// Creates a topic through the admin API of any broker.
    pub fn create_topic(&self, name: &str, partitions: u32, rf: u32) -> Result<(), String> {
        let body =
            serde_json::json!({"name": name, "partitions": partitions, "replication_factor": rf});
        let mut last = String::from("no broker answered");
        for b in self.brokers.values() {
            match self
                .http
                .post(format!("http://127.0.0.1:{}/v1/topics", b.admin))
                .json(&body)
                .send()
            {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => last = r.text().unwrap_or_default(),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }

    /// Waits until every partition of `topic` has a leader and a full ISR.
    pub fn wait_healthy(
        &self,
        topic: &str,
        partitions: usize,
        rf: usize,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(view) = self.get("/v1/cluster") {
                let ps: Vec<&Value> = view["partitions"]
                    .as_array()
                    .map(|a| a.iter().filter(|p| p["topic"] == topic).collect())
                    .unwrap_or_default();
                let good = ps.len() == partitions
                    && ps.iter().all(|p| {
                        p["leader"].as_u64().is_some()
                            && p["isr"].as_array().is_some_and(|i| i.len() == rf)
                    });
                if good {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.brokers.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
    }
}
