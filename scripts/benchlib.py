"""Helpers shared by the Python benchmark scripts: a local cluster of real
`cairn broker` processes on free loopback ports with data in a temp dir, the
admin API, and CPU/memory readings from /proc."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except Exception:
        return None


def post(url, body, timeout=60):
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait(what, timeout, check):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def default_cairn():
    """The benchmark build (`scripts/bench.sh` builds it), else the debug one."""
    bench = os.environ.get("CAIRN_BENCH_TARGET_DIR", os.path.expanduser("~/.cache/cairn-target-bench"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/cairn-target"))
    built = [os.path.join(bench, "release", "cairn"), os.path.join(target, "debug", "cairn")]
    return next((b for b in built if os.path.exists(b)), built[0])


class Cluster:
    """`n` brokers (all metadata voters), started at once; kill them with stop()."""

    def __init__(self, cairn, n=3, extra_args=()):
        self.cairn, self.extra_args = cairn, list(extra_args)
        self.tmp = tempfile.mkdtemp(prefix="cairn-measure-")
        self.ports = {i: (free_port(), free_port(), free_port()) for i in range(1, n + 1)}
        self.procs = {}
        for i in self.ports:
            self.start(i)

    def start(self, i):
        """Starts broker `i` (again: same ports, same data dir)."""
        kafka, raft, admin = self.ports[i]
        seeds = ",".join(f"{j}@127.0.0.1:{p[1]}" for j, p in self.ports.items())
        log = open(os.path.join(self.tmp, f"broker-{i}.log"), "a")
        self.procs[i] = subprocess.Popen(
            [self.cairn, "broker", "--id", str(i), "--data-dir", os.path.join(self.tmp, f"b{i}"),
             "--raft-addr", f"127.0.0.1:{raft}", "--kafka-addr", f"127.0.0.1:{kafka}",
             "--admin-addr", f"127.0.0.1:{admin}", "--seeds", seeds, *self.extra_args],
            stdout=log, stderr=log)

    def admin(self, i):
        return f"http://127.0.0.1:{self.ports[i][2]}"

    def bootstrap(self):
        return ",".join(f"127.0.0.1:{p[0]}" for p in self.ports.values())

    def wait_formed(self):
        n = len(self.procs)

        def formed():
            for i, p in self.procs.items():
                if p.poll() is not None:
                    with open(os.path.join(self.tmp, f"broker-{i}.log")) as log:
                        tail = "".join(log.readlines()[-5:])
                    sys.exit(f"broker {i} exited with {p.returncode}:\n{tail}")
            v = get(self.admin(1) + "/v1/cluster")
            return v and v["controller"] and sum(b["live"] for b in v["brokers"]) == n
        wait("cluster", 60, formed)

    def create_topic(self, name, partitions, replication_factor=3):
        post(self.admin(1) + "/v1/topics", {"name": name, "partitions": partitions,
                                            "replication_factor": replication_factor})

        def all_led():
            v = get(self.admin(1) + "/v1/cluster")
            ps = [p for p in (v or {}).get("partitions", []) if p["topic"] == name]
            ok = len(ps) == partitions and all(p["leader"] and len(p["isr"]) == replication_factor for p in ps)
            return v if ok else None
        return wait(f"every partition of {name} led with a full ISR", 300, all_led)

    def cpu_ticks(self):
        return {i: cpu_ticks(p.pid) for i, p in self.procs.items()}

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def terminate(self, i, timeout=60):
        """SIGTERM: the broker hands its leaderships over, then exits."""
        self.procs[i].send_signal(signal.SIGTERM)
        self.procs[i].wait(timeout)

    def stop(self):
        """Kills every broker and deletes the data and logs (a benchmark
        leaves hundreds of MB per run); CAIRN_BENCH_KEEP=1 keeps them."""
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        if os.environ.get("CAIRN_BENCH_KEEP") == "1":
            print(f"bench: cluster data and logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
