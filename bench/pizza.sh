#!/usr/bin/env bash
# Pizza requests per second through the workflow: `asl load` against the bundled pizza API at
# a fixed concurrency (no ramp, no waits), with the API's own cost beside it (the time the API
# spends per request, from its counters). Figures for docs/PERFORMANCE.md.
#
#   bench/pizza.sh                 # 20 concurrent order workflows for 20 s
#   CONCURRENCY=50 DURATION=30s bench/pizza.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p asl-cli >&2
db=$(mktemp -d)/bench.db
c=${CONCURRENCY:-20}
d=${DURATION:-20s}
target/release/asl --db "$db" load --target-concurrency "$c" --step "$c" --ramp-up 0s --duration "$d" \
  --wait-seconds 0 --fetches 7 --json > "$db.json"
python3 - "$db.json" "$c" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
r = v["report"]
http = [e for e in r["endpoints"]]
reqs = sum(e["requests"] for e in http)
fails = sum(e["failures"] for e in http)
secs = r["durationSeconds"]
api = v["api"] or {}
api_reqs = api.get("totalRequests", 0)
api_ms = sum(e["totalLatencyMs"] for e in api.get("endpoints", []))
p = dict((str(k), ms) for k, ms in r["total"]["percentilesMs"])
http_hist = sorted(((e["name"].split(" ", 1)[0] + " " + e["name"].split("/", 3)[-1]), e) for e in http)
print(f"| concurrency | executions | HTTP requests | failures | run s | requests/s | asl p50 ms (HTTP tasks) | API time per request ms |")
print(f"|---:|---:|---:|---:|---:|---:|---:|---:|")
p50_http = sum(e["percentilesMs"][0][1] * e["requests"] for e in http) / max(reqs, 1)
print(f"| {sys.argv[2]} | {r['executions']} | {reqs} | {fails} | {secs:.1f} | {reqs / secs:.0f} | {p50_http:.2f} | {api_ms / max(api_reqs, 1):.3f} |")
assert reqs == api_reqs, f"the report counts {reqs} requests, the API {api_reqs}"
PY
