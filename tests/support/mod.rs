//! A cluster of real `cairn broker` processes on free loopback ports with data
//! in a temp dir, for end-to-end tests. Brokers are killed for real (SIGKILL,
//! SIGTERM) and restarted on the same data.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

pub mod wire;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// The `cairn` binary under test.
pub fn cairn_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cairn")
}

pub use cairn_chaos::harness::{free_ports, Broker as BrokerProc};

/// A test cluster.
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub brokers: BTreeMap<u64, BrokerProc>,
    seeds: String,
    voters: String,
    http: reqwest::blocking::Client,
    env: Vec<(String, String)>,
}

impl TestCluster {
    /// Starts `n` brokers; the first `min(n, 3)` are metadata voters.
    pub fn start(n: u64) -> Self {
        Self::start_with_env(n, &[])
    }

    /// Starts `n` brokers with these extra environment variables (broker
    /// settings such as `CAIRN_LOG_RETENTION_CHECK_INTERVAL_MS`).
    pub fn start_with_env(n: u64, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(n as usize * 3);
        let brokers: BTreeMap<u64, BrokerProc> = (1..=n)
            .map(|id| {
                let i = (id as usize - 1) * 3;
                (
                    id,
                    BrokerProc::new(id, ports[i], ports[i + 1], ports[i + 2]),
                )
            })
            .collect();
        let (seeds, voters) = cairn_chaos::harness::cluster_args(brokers.values());
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut cluster = TestCluster {
            dir,
            brokers,
            seeds,
            voters,
            http,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        for id in 1..=n {
            cluster.spawn(id);
        }
        cluster
    }

    pub fn log_path(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("broker-{id}.log"))
    }

    /// Starts broker `id` (again) on its data dir.
    pub fn spawn(&mut self, id: u64) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .unwrap();
        let data = self.dir.path().join(format!("broker-{id}"));
        let b = self.brokers.get_mut(&id).unwrap();
        let child = cairn_chaos::harness::broker_command(
            std::path::Path::new(cairn_bin()),
            b,
            &data,
            &self.seeds,
            &self.voters,
        )
        .env("RUST_LOG", "info,openraft=warn")
        .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn cairn broker");
        b.set_child(child);
    }

    /// The process id of running broker `id`.
    pub fn pid(&self, id: u64) -> Pid {
        Pid::from_raw(self.brokers[&id].child().expect("broker is running").id() as i32)
    }

    /// SIGKILLs broker `id` and reaps it.
    pub fn kill(&mut self, id: u64) {
        kill(self.pid(id), Signal::SIGKILL).unwrap();
        self.brokers
            .get_mut(&id)
            .unwrap()
            .take_child()
            .unwrap()
            .wait()
            .unwrap();
    }

    /// SIGSTOPs broker `id` (it keeps its sockets but does nothing).
    pub fn pause(&mut self, id: u64) {
        kill(self.pid(id), Signal::SIGSTOP).unwrap();
    }

    /// SIGCONTs a paused broker.
    pub fn resume(&mut self, id: u64) {
        kill(self.pid(id), Signal::SIGCONT).unwrap();
    }

    /// SIGTERMs broker `id` and waits up to `timeout` for it to exit.
    pub fn terminate(&mut self, id: u64, timeout: Duration) -> Option<ExitStatus> {
        kill(self.pid(id), Signal::SIGTERM).unwrap();
        let mut child = self.brokers.get_mut(&id).unwrap().take_child().unwrap();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// The admin address of broker `id`.
    pub fn admin(&self, id: u64) -> String {
        format!("127.0.0.1:{}", self.brokers[&id].admin)
    }

    /// `GET path` on broker `id`'s admin API.
    pub fn get(&self, id: u64, path: &str) -> Option<Value> {
        let response = self
            .http
            .get(format!("http://{}{path}", self.admin(id)))
            .send()
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().ok()
    }

    /// Creates `topic` (`count` partitions, replication factor `rf`) with
    /// the CLI and waits until every partition has a leader.
    pub fn create_topic(&self, topic: &str, count: usize, rf: u32) {
        ok(&self.cli(
            1,
            &[
                "topic",
                "create",
                topic,
                "-p",
                &count.to_string(),
                "-r",
                &rf.to_string(),
            ],
        ));
        self.wait_for("every partition led", Duration::from_secs(30), || {
            let view = self.view(1)?;
            let ps = partitions(&view, topic);
            (ps.len() == count && ps.iter().all(|p| p["leader"].as_u64().is_some())).then_some(())
        });
    }

    /// `/v1/cluster` as broker `id` sees it.
    pub fn view(&self, id: u64) -> Option<Value> {
        self.get(id, "/v1/cluster")
    }

    /// Every broker's Kafka address, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        cairn_chaos::harness::bootstrap_servers(self.brokers.values())
    }

    /// Runs the `cairn` CLI against broker `id`'s admin API.
    pub fn cli(&self, id: u64, args: &[&str]) -> Output {
        Command::new(cairn_bin())
            .args(args)
            .env("CAIRN_ADMIN", self.admin(id))
            .output()
            .expect("run cairn")
    }

    /// Polls `check` every 100 ms until it returns `Some`; on timeout panics with
    /// `what` and the tail of every broker's log.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check() {
                return v;
            }
            if Instant::now() > deadline {
                let mut logs = String::new();
                for id in self.brokers.keys() {
                    let text = std::fs::read_to_string(self.log_path(*id)).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(15).collect();
                    logs.push_str(&format!("\n--- broker {id} log tail ---\n"));
                    for line in tail.into_iter().rev() {
                        logs.push_str(line);
                        logs.push('\n');
                    }
                }
                panic!("timed out after {timeout:?} waiting for {what}{logs}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until broker `id` reports a controller and every given broker live.
    pub fn wait_formed(&self, id: u64, live: &[u64]) -> Value {
        self.wait_for("the cluster to form", Duration::from_secs(30), || {
            let view = self.view(id)?;
            view["controller"].as_u64()?;
            let all_live = live
                .iter()
                .all(|b| broker(&view, *b).is_some_and(|b| b["live"] == true));
            all_live.then_some(view)
        })
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The test failed: what each broker logged last goes with it, as
            // the temp dir holding the logs is deleted next.
            for id in self.brokers.keys() {
                let log = std::fs::read_to_string(self.log_path(*id)).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                eprintln!(
                    "--- broker {id}, last {} log lines:\n{}",
                    tail.len(),
                    tail.join("\n")
                );
            }
        }
        for b in self.brokers.values_mut() {
            if let Some(mut child) = b.take_child() {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGCONT);
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The broker entry `id` of a cluster view.
pub fn broker(view: &Value, id: u64) -> Option<&Value> {
    view["brokers"].as_array()?.iter().find(|b| b["id"] == id)
}

/// The partitions of `topic` in a cluster view.
pub fn partitions<'a>(view: &'a Value, topic: &str) -> Vec<&'a Value> {
    view["partitions"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["topic"] == topic).collect())
        .unwrap_or_default()
}

/// A JSON array of numbers as a sorted vector.
pub fn ids(v: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// Runs a client program of the tests (`program` is `python3` or `node`,
/// `script` a path under `tests/`) with `args`; panics with its output unless
/// it exits 0; returns its stdout.
pub fn run_client(program: &str, script: &str, args: &[&str]) -> String {
    let path = format!("{}/tests/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs the `cairn` CLI with these environment variables.
pub fn cli_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(cairn_bin())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run cairn")
}

/// `cairn group describe GROUP --output json` against `bootstrap`, parsed.
pub fn describe_group(bootstrap: &str, group: &str) -> Value {
    let out = ok(&cli_with_env(
        &["group", "describe", group, "--output", "json"],
        &[("CAIRN_BOOTSTRAP", bootstrap)],
    ));
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("`cairn group describe {group}` printed no JSON ({e}):\n{out}"))
}

/// A described group's offsets as (partition, committed, lag), by partition.
pub fn group_offsets(described: &Value) -> Vec<(i64, i64, i64)> {
    let mut out: Vec<(i64, i64, i64)> = described["offsets"]
        .as_array()
        .unwrap_or_else(|| panic!("no offsets in {described}"))
        .iter()
        .map(|o| {
            let field = |name: &str| {
                o[name]
                    .as_i64()
                    .unwrap_or_else(|| panic!("no {name} in {o}"))
            };
            (field("partition"), field("committed"), field("lag"))
        })
        .collect();
    out.sort();
    out
}

/// Asserts a CLI run succeeded and returns its stdout.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "cairn failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts a CLI run failed and returns its stderr.
pub fn fails(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "cairn unexpectedly succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The Kafka Java client's jars as a classpath, from `CAIRN_JAVA_LIB`
/// (default `~/.cache/cairn-java`, where scripts/setup.sh installs them).
pub fn java_classpath() -> String {
    let dir = std::env::var("CAIRN_JAVA_LIB")
        .unwrap_or_else(|_| format!("{}/.cache/cairn-java", std::env::var("HOME").expect("HOME")));
    [
        "kafka-clients",
        "slf4j-api",
        "lz4-java",
        "snappy-java",
        "zstd-jni",
    ]
    .map(|jar| {
        let path = format!("{dir}/{jar}.jar");
        assert!(
            std::path::Path::new(&path).exists(),
            "{path} is missing: run scripts/setup.sh"
        );
        path
    })
    .join(":")
}

/// `tests/python/steady_producer.py`: a librdkafka acks=all producer sending
/// every 5 ms to a topic until stopped.
pub struct SteadyProducer {
    child: std::process::Child,
    bootstrap: String,
    topic: String,
}

impl SteadyProducer {
    /// Starts it against `bootstrap`, sending to `topic`.
    pub fn start(bootstrap: &str, topic: &str) -> Self {
        let child = Command::new("python3")
            .arg(format!(
                "{}/tests/python/steady_producer.py",
                env!("CARGO_MANIFEST_DIR")
            ))
            .args([bootstrap, topic])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        SteadyProducer {
            child,
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
        }
    }

    /// Stops it and returns its report (sent, acked, failed, unflushed,
    /// longest gap between acknowledgements per partition).
    pub fn stop(mut self) -> Value {
        use std::io::{BufRead, Write};
        writeln!(self.child.stdin.take().unwrap(), "stop").unwrap();
        let mut line = String::new();
        std::io::BufReader::new(self.child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(self.child.wait().unwrap().success(), "producer: {line}");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Stops it, checks that no send failed, and that a librdkafka consumer
    /// reads every acknowledged message back (a retried send may be there
    /// twice: this producer is not idempotent). Returns the report.
    pub fn stop_and_check(self) -> Value {
        let (bootstrap, topic) = (self.bootstrap.clone(), self.topic.clone());
        let report = self.stop();
        assert_eq!(report["failed"], 0, "{report}");
        assert_eq!(report["unflushed"], 0, "{report}");
        let sent = report["sent"].as_u64().unwrap();
        assert_eq!(report["acked"].as_u64(), Some(sent), "{report}");
        let out = Command::new(cairn_bin())
            .args([
                "consume",
                &topic,
                "--from-beginning",
                "--idle-timeout",
                "10s",
                "--format",
                "%v",
            ])
            .env("CAIRN_BOOTSTRAP", &bootstrap)
            .output()
            .unwrap();
        let read: std::collections::BTreeSet<String> =
            ok(&out).lines().map(str::to_string).collect();
        let expected: std::collections::BTreeSet<String> =
            (0..sent).map(|i| format!("m{i}")).collect();
        assert_eq!(read.len(), expected.len(), "{report}");
        assert!(read == expected, "{report}");
        report
    }
}
