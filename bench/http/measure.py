"""bench/http.sh's measuring half: oha and `asl run` against the same local URL, medians, table.

    python3 measure.py ASL OHA URL WORKDIR N RUNS

Runs oha (-c 50) and the Map workflow (MaxConcurrency 50) once each to warm up, then RUNS
times each, alternating; requests/s = N / wall. p50/p90/p99 for oha come from its JSON, for
asl from its stored history, as `asl report` gives them (TaskStarted to TaskSucceeded).
Prints a markdown table (medians) and, on stderr, every run.
"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKFLOW = os.path.join(HERE, "map-http.asl.json")
TIMEOUT = 300  # seconds, for any one run


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_oha(oha, url, n):
    cmd = [oha, "-n", str(n), "-c", "50", "--no-tui", "--output-format", "json", url]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=True)
    wall = time.perf_counter() - t
    d = json.loads(out.stdout)
    ok = d["statusCodeDistribution"].get("200", 0)
    assert ok == n, f"oha: {ok} of {n} answered 200: {d['statusCodeDistribution']} {d['errorDistribution']}"
    lp = d["latencyPercentiles"]
    return {
        "wall": d["summary"]["total"],  # oha's own clock: first request to last response
        "process_wall": wall,
        "rps": d["summary"]["requestsPerSec"],
        "p50": lp["p50"] * 1000,
        "p90": lp["p90"] * 1000,
        "p99": lp["p99"] * 1000,
    }


def task_latencies(asl, db, arn):
    """`asl report`'s figures for the execution, computed from its stored history: the task
    latencies (TaskStarted to TaskSucceeded) p50/p90/p99 in ms, how many tasks, and the span
    from its first event to its last in s."""
    out = subprocess.run([asl, "--db", db, "report", arn, "--json"], capture_output=True,
                         timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    rep = json.loads(out.stdout)
    total = rep["total"]
    pcts = dict((p, ms) for p, ms in total["percentilesMs"])
    return pcts[50.0], pcts[90.0], pcts[99.0], total["requests"], rep["durationSeconds"]


def run_asl(asl, url, inp, db, n, store):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    cmd = [asl, "--db", db, "run", WORKFLOW, "--sub", f"URL={url}", "--input-file", inp, "--json"]
    if not store:
        cmd.append("--no-store")
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
    wall = time.perf_counter() - t
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    res = json.loads(out.stdout)
    assert res["status"] == "SUCCEEDED", res
    r = {"wall": wall, "rps": n / wall, "p50": None, "p90": None, "p99": None, "span": None}
    if store:
        p50, p90, p99, count, span = task_latencies(asl, db, res["executionArn"])
        assert count == n, f"{count} task latencies for {n} items"
        r.update(p50=p50, p90=p90, p99=p99, span=span)
    return r


def main():
    asl, oha, url, work, n, runs = sys.argv[1:7]
    n, runs = int(n), int(runs)
    inp = os.path.join(work, "input.json")
    with open(inp, "w") as f:
        json.dump({"items": [0] * n}, f, separators=(",", ":"))
    db = os.path.join(work, "bench.db")

    sides = {
        "oha": lambda: run_oha(oha, url, n),
        "asl": lambda: run_asl(asl, url, inp, db, n, True),
        "asl --no-store": lambda: run_asl(asl, url, inp, db, n, False),
    }
    log(f"warm-up ({n} requests each)")
    for name, f in sides.items():
        r = f()
        log(f"  {name:15} {r['wall']:.2f} s  {r['rps']:,.0f} req/s")
    results = {name: [] for name in sides}
    order = list(sides)
    for i in range(runs):
        # Each round starts with a different side, so that none always runs right after
        # another's burst (asl runs right after oha were seen 10-20 % slower on this VM).
        for name in order[i % len(order):] + order[: i % len(order)]:
            f = sides[name]
            r = f()
            results[name].append(r)
            p99 = "" if r["p99"] is None else f"  p99 {r['p99']:.2f} ms"
            if r.get("span"):
                p99 += f"  (execution span {r['span']:.2f} s)"
            if r.get("process_wall"):
                p99 += f"  (process wall {r['process_wall']:.2f} s)"
            log(f"  run {i + 1} {name:15} {r['wall']:.2f} s  {r['rps']:,.0f} req/s{p99}")

    med = lambda name, k: (
        None if results[name][0][k] is None else statistics.median(r[k] for r in results[name])
    )
    oha_rps = med("oha", "rps")
    fmt = lambda v, spec: "–" if v is None else format(v, spec)
    print(f"{n} requests per run, medians of {runs} runs; oha at 50 connections, asl's Map at MaxConcurrency 50 (an inline Map runs 40 iterations at once, as on AWS)\n")
    print("| runtime | requests | wall s | requests/s | p50 ms | p90 ms | p99 ms | % of oha's requests/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, label in (("oha", "oha -c 50"), ("asl", "asl, history on"), ("asl --no-store", "asl --no-store")):
        rps = med(name, "rps")
        print(
            f"| {label} | {n} | {med(name, 'wall'):.2f} | {rps:,.0f} | {fmt(med(name, 'p50'), '.2f')}"
            f" | {fmt(med(name, 'p90'), '.2f')} | {fmt(med(name, 'p99'), '.2f')} | {100 * rps / oha_rps:.0f}% |"
        )
    span = med("asl", "span")
    print(f"\noha's wall is its own (first request to last response; the process takes "
          f"{med('oha', 'process_wall'):.2f} s); asl's is the whole process. asl's execution span "
          f"in its history (ExecutionStarted to ExecutionSucceeded): {span:.2f} s = {n / span:,.0f} "
          f"requests/s ({100 * n / span / oha_rps:.0f}% of oha).")
    pct_on = 100 * med("asl", "rps") / oha_rps
    print(f"\nTarget: asl with the history on at least 70% of oha's requests/s: "
          f"{'met' if pct_on >= 70 else 'NOT met'} ({pct_on:.0f}%).")


if __name__ == "__main__":
    main()
