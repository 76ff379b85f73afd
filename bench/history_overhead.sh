#!/usr/bin/env bash
# What the SQLite history costs: each peer workload run N times (default 21) with the history
# stored (the default) and with --no-store, as whole processes, the two alternated so that both
# see the same machine; prints the medians and the ratio. Target (issue "Durable execution
# history"): stored at most 1.2 x unstored.
#
#   bench/history_overhead.sh
#   BASE=/tmp/asl-old N=21 bench/history_overhead.sh   # also an older build, in the same rounds
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p asl-cli >&2
asl=$PWD/target/release/asl
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd ../shared
python3 - "$asl" "$dir" "${N:-21}" "${BASE:-}" <<'PY'
import json, os, statistics, subprocess, sys, time
asl, dir, n, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
builds = [("current", asl)] + ([("base", base)] if base else [])
print("| build | workload | transitions | events | no history: median wall ms | history in SQLite: median wall ms | ratio |")
print("|---|---|---:|---:|---:|---:|---:|")
for w in ("pass-loop", "map-fanout", "parallel-choice"):
    times = {}
    for _ in range(n):
        for name, exe in builds:
            for store in (False, True):
                cmd = [exe, "--db", os.path.join(dir, name + ".db"), "run",
                       f"bench/workloads/{w}.asl.json", "--input-file",
                       f"bench/workloads/{w}.input.json", "--json"] + ([] if store else ["--no-store"])
                t = time.perf_counter()
                out = subprocess.run(cmd, capture_output=True)
                times.setdefault((name, store), []).append((time.perf_counter() - t) * 1000)
                assert out.returncode == 0, out.stderr
                if store and name == "current":
                    last = json.loads(out.stdout)
    events = json.loads(subprocess.run([asl, "--db", os.path.join(dir, "current.db"), "history",
                                        last["executionArn"], "--json"], capture_output=True).stdout)["events"]
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    for name, _ in builds:
        off = statistics.median(times[(name, False)])
        on = statistics.median(times[(name, True)])
        print(f"| {name} | {w} | {entered} | {len(events)} | {off:.1f} | {on:.1f} | {on / off:.2f} |")
PY
