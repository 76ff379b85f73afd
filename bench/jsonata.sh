#!/usr/bin/env bash
# The pass-loop workload in JSONPath (../shared/bench/workloads) and in JSONata
# (bench/jsonata/pass-loop.asl.json), 11 runs each, history off and on: transitions per second.
# Target (issue "JSONata and variables"): JSONata at least half JSONPath's transitions/s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p asl-cli >&2
python3 - "$PWD/target/release/asl" <<'PY'
import json, statistics, subprocess, sys, tempfile, time, os
asl = sys.argv[1]
db = os.path.join(tempfile.mkdtemp(), "b.db")
inp = "../shared/bench/workloads/pass-loop.input.json"
flows = [("JSONPath", "../shared/bench/workloads/pass-loop.asl.json"), ("JSONata", "bench/jsonata/pass-loop.asl.json")]
print("| language | history | median wall ms | transitions/s |\n|---|---|---:|---:|")
rates = {}
for store in (["--no-store"], []):
    for name, wf in flows:
        ts = []
        for _ in range(11):
            t = time.perf_counter()
            out = subprocess.run([asl, "--db", db, "run", wf, "--input-file", inp, "--json"] + store, capture_output=True)
            ts.append(time.perf_counter() - t)
            assert json.loads(out.stdout)["output"] == {"i": 10000, "n": 10000}, out
        m = statistics.median(ts)
        rates[(name, bool(store))] = 20003 / m
        print(f"| {name} | {'off' if store else 'SQLite'} | {m*1000:.1f} | {20003/m:,.0f} |")
for store in (True, False):
    r = rates[("JSONata", store)] / rates[("JSONPath", store)]
    print(f"JSONata / JSONPath ({'history off' if store else 'history on'}): {r:.2f} (target >= 0.5)")
PY
