#!/usr/bin/env python3
"""The table and ratios of `scripts/bench-vs-jetstream.sh`, from the JSON
reports of its `cairn bench` runs (files SYSTEM-LEVEL-pPARTITIONS.json).

Usage: scripts/bench-vs-jetstream-report.py REPORTS_DIR
"""
import json
import os
import sys


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def main(out):
    runs = {}
    for name in os.listdir(out):
        if name.endswith(".json"):
            system, level, p = name[:-5].split("-")
            with open(os.path.join(out, name)) as f:
                runs[(level, int(p[1:]), system)] = json.load(f)
    if not runs:
        sys.exit(f"bench: no reports in {out}")
    if any("backlog" in x for x in runs.values()):
        return catch_up(out, runs)
    levels = [lv for lv in ("fsync", "replicated") if any(k[0] == lv for k in runs)]
    counts = sorted({k[1] for k in runs})
    w = next(iter(runs.values()))
    print()
    print(f"workload: {w['message_size']} B messages, {w['producers']} publishers x {w['in_flight']} in flight, "
          f"partitions = JetStream R{w['replication_factor']} streams, RF {w['replication_factor']}, "
          f"{w['consumers']} consumer, {w['duration_secs']:.0f} s measured after {w['warmup_secs']:.0f} s warm-up")
    print("cpu s/M: CPU-seconds of the 3 server processes per million acknowledged messages")
    print(f"{'level':<11} {'parts':>5} {'system':<10} {'msgs/s':>10} {'MB/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'p99.9 ms':>9} {'max ms':>8} {'e2e p99':>8} {'cpu s/M':>8} {'errors':>6}")
    for level in levels:
        for p in counts:
            for system in ("jetstream", "cairn"):
                x = runs.get((level, p, system))
                if x is None:
                    continue
                r, c = x["produce"], x.get("consume") or {}
                cpu = x.get("cpu_secs_per_million")
                cpu = f"{cpu:.1f}" if cpu is not None else "-"
                print(f"{level:<11} {p:>5} {system:<10} {r['msgs_per_sec']:>10.0f} {r['mb_per_sec']:>8.2f} "
                      f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['p999_ms']:>9.2f} {r['max_ms']:>8.2f} "
                      f"{c.get('p99_ms', 0):>8.2f} {cpu:>8} {r['errors']:>6}")
    print()
    for level in levels:
        for system in ("jetstream", "cairn"):
            x = runs.get((level, counts[0], system))
            if x:
                print(f"{level} {system}: {x['durability']}")
    print()
    for level in levels:
        for p in counts:
            c, j = runs.get((level, p, "cairn")), runs.get((level, p, "jetstream"))
            if not c or not j:
                continue
            cp, jp = c["produce"], j["produce"]
            where = f" {p} partitions" if len(counts) > 1 else ""
            print(f"ratio cairn/jetstream {level}{where}: throughput {ratio(cp['msgs_per_sec'], jp['msgs_per_sec'])} "
                  f"p99 {ratio(cp['p99_ms'], jp['p99_ms'])} p99.9 {ratio(cp['p999_ms'], jp['p999_ms'])} "
                  f"cpu/msg {ratio(c.get('cpu_secs_per_million'), j.get('cpu_secs_per_million'))}")
    if len(counts) > 1:
        print()
        for level in levels:
            for system in ("jetstream", "cairn"):
                base = runs.get((level, counts[0], system))
                if not base:
                    continue
                cells = []
                for p in counts:
                    x = runs.get((level, p, system))
                    cells.append(f"{p}: {ratio(x['produce']['msgs_per_sec'] if x else None, base['produce']['msgs_per_sec'])}")
                print(f"scaling {level} {system} (throughput / at {counts[0]} partitions): {'  '.join(cells)}")


def catch_up(out, runs):
    """The table and ratios of a `--backlog` run: catch-up reads."""
    w = next(iter(runs.values()))
    print()
    print(f"catch-up read: a backlog of {w['message_size']} B messages in {w['partitions']} partitions "
          f"(JetStream R{w['replication_factor']} streams), RF {w['replication_factor']}, read from the "
          f"beginning by {w['consumers']} consumer")
    print("cpu s/M: CPU-seconds of the 3 server processes per million messages read")
    print(f"{'level':<11} {'parts':>5} {'system':<10} {'backlog MB':>10} {'fill MB/s':>9} {'read':<5} "
          f"{'seconds':>8} {'msgs/s':>10} {'MB/s':>8} {'cpu s/M':>8}")
    for (level, p, system), x in sorted(runs.items()):
        b = x["backlog"]
        for r in x["reads"]:
            cpu = r.get("cpu_secs_per_million")
            cpu = f"{cpu:.1f}" if cpu is not None else "-"
            print(f"{level:<11} {p:>5} {system:<10} {b['bytes'] / 1e6:>10.0f} {b['mb_per_sec']:>9.1f} "
                  f"{r['cache']:<5} {r['seconds']:>8.2f} {r['msgs_per_sec']:>10.0f} {r['mb_per_sec']:>8.1f} {cpu:>8}")
    disk = os.path.join(out, "disk-read.txt")
    if os.path.exists(disk):
        with open(disk) as f:
            print(f"disk sequential read (dd, page cache dropped): {f.read().strip()}")
    print()
    for (level, p, system), c in sorted(runs.items()):
        j = runs.get((level, p, "jetstream"))
        if system != "cairn" or not j:
            continue
        for cr in c["reads"]:
            jr = next((r for r in j["reads"] if r["cache"] == cr["cache"]), None)
            if jr:
                print(f"ratio cairn/jetstream catch-up {level} {p} partitions, {cr['cache']} cache: "
                      f"MB/s {ratio(cr['mb_per_sec'], jr['mb_per_sec'])} "
                      f"cpu/msg {ratio(cr.get('cpu_secs_per_million'), jr.get('cpu_secs_per_million'))}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
