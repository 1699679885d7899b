//! A cluster of real `cairn broker` processes for chaos runs: free loopback
//! ports, data in a temp dir, and the faults a nemesis applies — SIGKILL,
//! SIGSTOP/SIGCONT, restart on the same data, and (with a [`Firewall`])
//! network partitions between chosen brokers.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::net::{broker_ip, cuts_between, Firewall};

/// One broker.
#[derive(Debug)]
pub struct Broker {
    /// Broker id.
    pub id: u64,
    /// The loopback address it listens on and dials from.
    pub ip: Ipv4Addr,
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
    firewall: Option<Firewall>,
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

/// The `bootstrap.servers` value for these brokers: every Kafka address.
pub fn bootstrap_servers<'a>(brokers: impl IntoIterator<Item = &'a Broker>) -> String {
    brokers
        .into_iter()
        .map(|b| format!("{}:{}", b.ip, b.kafka))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `--seeds` and `--controller-voters` values of a local cluster of
/// these brokers; the first three are voters.
pub fn cluster_args<'a>(brokers: impl IntoIterator<Item = &'a Broker>) -> (String, String) {
    let brokers: Vec<&Broker> = brokers.into_iter().collect();
    let seeds = brokers
        .iter()
        .map(|b| format!("{}@{}:{}", b.id, b.ip, b.raft))
        .collect::<Vec<_>>()
        .join(",");
    let voters = brokers
        .iter()
        .take(3)
        .map(|b| b.id.to_string())
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
        .args(["--raft-addr", &format!("{}:{}", b.ip, b.raft)])
        .args(["--kafka-addr", &format!("{}:{}", b.ip, b.kafka)])
        .args(["--admin-addr", &format!("{}:{}", b.ip, b.admin)])
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
    /// A broker on 127.0.0.1 with these ports that is not running yet.
    pub fn new(id: u64, kafka: u16, raft: u16, admin: u16) -> Self {
        Broker {
            id,
            ip: Ipv4Addr::LOCALHOST,
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
    /// Starts `n` brokers of `bin` with data under `dir`. With a firewall,
    /// each broker gets its own loopback address so that
    /// [`Cluster::partition`] can cut links between them.
    pub fn start(
        bin: &Path,
        dir: &Path,
        n: u64,
        firewall: Option<Firewall>,
    ) -> std::io::Result<Cluster> {
        let ports = free_ports(n as usize * 3);
        let brokers: BTreeMap<u64, Broker> = (1..=n)
            .map(|id| {
                let i = (id as usize - 1) * 3;
                let mut b = Broker::new(id, ports[i], ports[i + 1], ports[i + 2]);
                if firewall.is_some() {
                    b.ip = broker_ip(id);
                }
                (id, b)
            })
            .collect();
        let (seeds, voters) = cluster_args(brokers.values());
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
            firewall,
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
            // Leaderships go back to restarted brokers within the run, so
            // that leadership transfers happen under the faults too.
            .args(["--leader-imbalance-check-interval-seconds", "5"])
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

    /// Whether [`Cluster::partition`] works (the cluster has a firewall).
    pub fn can_partition(&self) -> bool {
        self.firewall.is_some()
    }

    /// Cuts the network so that brokers on different `sides` cannot reach
    /// each other (replacing any earlier cut); brokers on no side keep all
    /// their links. Clients still reach every broker.
    pub fn partition(&mut self, sides: &[Vec<u64>]) -> Result<(), String> {
        let firewall = self
            .firewall
            .as_ref()
            .ok_or("this cluster was started without a firewall")?;
        let ip = |id: u64| self.brokers.get(&id).map_or(broker_ip(id), |b| b.ip);
        let cuts: Vec<(Ipv4Addr, Ipv4Addr)> = cuts_between(sides)
            .into_iter()
            .map(|(a, b)| (ip(a), ip(b)))
            .collect();
        firewall.cut(&cuts)
    }

    /// Removes every network cut.
    pub fn heal_network(&mut self) -> Result<(), String> {
        match &self.firewall {
            Some(f) => f.heal(),
            None => Ok(()),
        }
    }

    /// Every broker's Kafka address.
    pub fn bootstrap(&self) -> String {
        bootstrap_servers(self.brokers.values())
    }

    /// `GET path` on the admin API of any running, unpaused broker.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.brokers
            .values()
            .filter(|b| b.child.is_some() && !b.paused)
            .find_map(|b| {
                let r = self
                    .http
                    .get(format!("http://{}:{}{path}", b.ip, b.admin))
                    .send()
                    .ok()?;
                r.status().is_success().then(|| r.json().ok()).flatten()
            })
    }

    /// `POST path` with a JSON body on the admin API of the first running,
    /// unpaused broker that answers; its JSON answer (`null` if none), or
    /// the error it answered.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.send(reqwest::Method::POST, path, body)
    }

    /// `DELETE path`, as [`Cluster::post`].
    pub fn delete(&self, path: &str) -> Result<Value, String> {
        self.send(reqwest::Method::DELETE, path, &Value::Null)
    }

    fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Result<Value, String> {
        let mut last = String::from("no broker answered");
        for b in self
            .brokers
            .values()
            .filter(|b| b.child.is_some() && !b.paused)
        {
            let mut request = self
                .http
                .request(method.clone(), format!("http://{}:{}{path}", b.ip, b.admin));
            if !body.is_null() {
                request = request.json(body);
            }
            match request.send() {
                Ok(r) if r.status().is_success() => return Ok(r.json().unwrap_or(Value::Null)),
                Ok(r) => return Err(r.text().unwrap_or_default()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }

    /// Creates a topic through the admin API of any broker.
    pub fn create_topic(&self, name: &str, partitions: u32, rf: u32) -> Result<(), String> {
        let body =
            serde_json::json!({"name": name, "partitions": partitions, "replication_factor": rf});
        let mut last = String::from("no broker answered");
        for b in self.brokers.values() {
            match self
                .http
                .post(format!("http://{}:{}/v1/topics", b.ip, b.admin))
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
