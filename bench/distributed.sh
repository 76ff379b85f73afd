#!/usr/bin/env bash
# A DISTRIBUTED Map over a 1,000,000-line JSONL file (ItemReader), 1,000 items per child
# (ItemBatcher), a Pass per item in each child (an inline Map), results exported through a
# ResultWriter (JSONL, FLATTEN). Prints wall time, items per second and peak RSS for EXPRESS
# children (not stored), STANDARD children (each stored with its history) and --no-store.
# Target (issue "Distributed Map"): peak memory under 200 MiB, the items streamed.
# LINES=N changes the file's size.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p asl-cli >&2
asl=$PWD/target/release/asl
lines=${LINES:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in" "$work/out"
python3 - "$work/in/items.jsonl" "$lines" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write('{"id":%d,"name":"item-%d","score":%d}\n' % (i, i, i % 97))
PY
workflow() {
  cat <<EOF
{"StartAt": "Process", "States": {"Process": {"Type": "Map", "Label": "Lines", "MaxConcurrency": 100,
  "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                 "Parameters": {"Bucket": "in", "Key": "items.jsonl"}},
  "ItemBatcher": {"MaxItemsPerBatch": 1000, "BatchInput": {"source": "items.jsonl"}},
  "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "$1"},
    "StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "\$.Items",
      "ItemProcessor": {"StartAt": "Touch", "States": {"Touch": {"Type": "Pass",
        "Parameters": {"id.\$": "\$.id", "ok": true}, "End": true}}}, "End": true}}},
  "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "bench"},
                   "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}},
  "End": true}}}
EOF
}
printf '| children | items | wall s | items/s | peak RSS MiB | results written |\n|---|---:|---:|---:|---:|---:|\n'
for mode in EXPRESS STANDARD NO-STORE; do
  type=$mode
  extra=()
  if [ "$mode" = NO-STORE ]; then type=EXPRESS; extra=(--no-store); fi
  workflow "$type" > "$work/dm.asl.json"
  rm -rf "$work/out"/* "$work/asl.db"*
  python3 - "$asl" "$work" "$mode" "$lines" "${extra[@]}" <<'PY'
import json, os, resource, subprocess, sys, time
asl, work, mode, lines, extra = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
cmd = [asl, "--db", f"{work}/asl.db", "run", f"{work}/dm.asl.json", "--json",
       "--bucket", f"in={work}/in", "--bucket", f"out={work}/out"] + extra
t = time.perf_counter()
out = subprocess.run(cmd, capture_output=True)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
r = json.loads(out.stdout)
assert r["status"] == "SUCCEEDED", out.stdout + out.stderr
key = r["output"]["ResultWriterDetails"]["Key"]
manifest = json.load(open(os.path.join(work, "out", key)))
written = 0
for f in manifest["ResultFiles"]["SUCCEEDED"]:
    with open(os.path.join(work, "out", f["Key"])) as fh:
        written += sum(1 for _ in fh)
assert written == lines, (written, lines)
print(f"| {mode} | {lines:,} | {wall:.2f} | {lines / wall:,.0f} | {rss:.0f} | {written:,} |")
PY
done
