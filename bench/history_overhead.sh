#!/usr/bin/env bash
# What the SQLite history costs: each peer workload run N times (default 11) with the history
# stored (the default) and with --no-store, as whole processes; prints the medians and the
# ratio. Target (issue "Durable execution history"): stored at most 1.2 x unstored.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p asl-cli >&2
asl=$PWD/target/release/asl
n=${N:-11}
db=$(mktemp -d)/bench.db
cd ../shared
printf '| workload | transitions | events | no history: median wall ms | history in SQLite: median wall ms | ratio |\n|---|---:|---:|---:|---:|---:|\n'
for w in pass-loop map-fanout parallel-choice; do
  python3 - "$asl" "$db" "$w" "$n" <<'PY'
import json, statistics, subprocess, sys, time
asl, db, w, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
base = ["--db", db, "run", f"bench/workloads/{w}.asl.json", "--input-file", f"bench/workloads/{w}.input.json", "--json"]
def timed(extra):
    ts = []
    for i in range(n):
        t = time.perf_counter()
        out = subprocess.run([asl] + base + extra, capture_output=True)
        ts.append((time.perf_counter() - t) * 1000)
        assert out.returncode == 0, out.stderr
    return statistics.median(ts), json.loads(out.stdout)
off, _ = timed(["--no-store"])
on, last = timed([])
events = json.loads(subprocess.run([asl, "--db", db, "history", last["executionArn"], "--json"], capture_output=True).stdout)["events"]
entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
print(f"| {w} | {entered} | {len(events)} | {off:.1f} | {on:.1f} | {on / off:.2f} |")
PY
done
