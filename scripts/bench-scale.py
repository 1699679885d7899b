#!/usr/bin/env python3
"""The cost of many partitions: Cairn's control plane on a local 3-broker
cluster (real processes):

- time to create a topic of P partitions with RF 3 and until every partition
  has a leader with a full ISR;
- idle CPU (percent of one core) and resident memory per broker with those
  partitions, sampled from /proc over a quiet window;
- after SIGKILL of the broker leading the most partitions: the time until
  every partition it led has a new leader, as seen through another broker's
  admin API (election + dissemination).

Usage: scripts/bench-scale.py [--partitions 1000] [--idle-seconds 20] [--cairn PATH]
Uses the benchmark build (`scripts/bench.sh scale` builds it), else the debug one.
"""
import argparse
import json
import os
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--idle-seconds", type=int, default=20)
    bench = os.environ.get("CAIRN_BENCH_TARGET_DIR", os.path.expanduser("~/.cache/cairn-target-bench"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/cairn-target"))
    built = [os.path.join(bench, "release", "cairn"), os.path.join(target, "debug", "cairn")]
    ap.add_argument("--cairn", default=next((b for b in built if os.path.exists(b)), built[0]))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="cairn-measure-")
    ports = {i: (free_port(), free_port(), free_port()) for i in (1, 2, 3)}
    seeds = ",".join(f"{i}@127.0.0.1:{p[1]}" for i, p in ports.items())
    procs = {}
    for i, (kafka, raft, admin) in ports.items():
        log = open(os.path.join(tmp, f"broker-{i}.log"), "w")
        procs[i] = subprocess.Popen(
            [args.cairn, "broker", "--id", str(i), "--data-dir", os.path.join(tmp, f"b{i}"),
             "--raft-addr", f"127.0.0.1:{raft}", "--kafka-addr", f"127.0.0.1:{kafka}",
             "--admin-addr", f"127.0.0.1:{admin}", "--seeds", seeds],
            stdout=log, stderr=log)
    admin = lambda i: f"http://127.0.0.1:{ports[i][2]}"
    try:
        wait("cluster", 60, lambda: (v := get(admin(1) + "/v1/cluster")) and v["controller"] and
             sum(b["live"] for b in v["brokers"]) == 3)
        t0 = time.time()
        req = urllib.request.Request(admin(1) + "/v1/topics", method="POST",
                                     data=json.dumps({"name": "load", "partitions": args.partitions,
                                                      "replication_factor": 3}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=60).read()
        created = time.time() - t0

        def all_led():
            v = get(admin(1) + "/v1/cluster")
            ps = [p for p in (v or {}).get("partitions", []) if p["topic"] == "load"]
            ok = len(ps) == args.partitions and all(p["leader"] and len(p["isr"]) == 3 for p in ps)
            return v if ok else None
        view = wait("every partition led with ISR 3", 300, all_led)
        led = time.time() - t0

        time.sleep(3)
        before = {i: cpu_ticks(p.pid) for i, p in procs.items()}
        time.sleep(args.idle_seconds)
        hz = os.sysconf("SC_CLK_TCK")
        idle = {i: 100.0 * (cpu_ticks(p.pid) - before[i]) / hz / args.idle_seconds for i, p in procs.items()}
        rss = {i: rss_mib(p.pid) for i, p in procs.items()}

        counts = {}
        for p in view["partitions"]:
            counts[p["leader"]] = counts.get(p["leader"], 0) + 1
        victim = max(counts, key=counts.get)
        print("leaders per broker after creation:", dict(sorted(counts.items())))
        moved = [p["partition"] for p in view["partitions"] if p["leader"] == victim]
        observer = next(i for i in procs if i != victim)
        t1 = time.time()
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()

        def moved_all():
            v = get(admin(observer) + "/v1/cluster")
            if not v:
                return None
            by = {p["partition"]: p for p in v["partitions"] if p["topic"] == "load"}
            return all(by[m]["leader"] not in (None, victim) for m in moved)
        wait("leaders to move", 120, moved_all)
        failover = time.time() - t1

        print(f"partitions={args.partitions} rf=3 brokers=3 ({args.cairn})")
        print(f"create topic: {created:.2f}s; every partition led with ISR 3: {led:.2f}s")
        for i in procs:
            print(f"broker {i}: idle CPU {idle[i]:.1f}% of one core over {args.idle_seconds}s, RSS {rss[i]:.0f} MiB")
        print(f"SIGKILL broker {victim} (leader of {len(moved)} partitions): all moved in {failover:.2f}s")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()


if __name__ == "__main__":
    main()
