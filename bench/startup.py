#!/usr/bin/env python3
"""Process start to printed result for a one-state workflow: the median, p95 and max of N runs
of `asl run --json` (release build), as a user at a terminal would experience it."""
import os, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
asl = os.path.join(root, "target", "release", "asl")
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
with tempfile.NamedTemporaryFile("w", suffix=".asl.json", delete=False) as f:
    f.write('{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}')
db = os.path.join(tempfile.mkdtemp(), "startup.db")
times = []
for _ in range(n):
    t = time.perf_counter()
    # Stored with its history, as every run is by default.
    out = subprocess.run([asl, "--db", db, "run", f.name, "--json"], capture_output=True)
    times.append((time.perf_counter() - t) * 1000)
    assert out.returncode == 0 and b'"SUCCEEDED"' in out.stdout, out
os.unlink(f.name)
times.sort()
print(f"trivial workflow, {n} runs: median {statistics.median(times):.2f} ms, "
      f"p95 {times[int(n * 0.95)]:.2f} ms, max {times[-1]:.2f} ms (target < 10 ms)")
