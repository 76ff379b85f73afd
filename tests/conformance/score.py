#!/usr/bin/env python3
"""Scores a conformance report (from ../shared/conformance/run.py --report) the way the issues
measure it: pass rate per feature tag, for the engine-core scope (no JSONata, Assign or
distributed Map), and for that scope without the Choice-operator families. With --floor FILE
it fails when a rate drops below the floor kept in the repo."""
import argparse, collections, json, os, sys

CHOICE_FAMILIES = {"test_is_operators", "test_numeric", "test_boolean_equals",
                   "test_string_operators", "test_timestamp_operators"}
LATER = {"JSONata", "Assign", "Map:DISTRIBUTED"}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(__file__), "../../../shared/conformance/cases"))
    ap.add_argument("--floor")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    report = json.load(open(a.report))
    cases = report["cases"]
    rows = collections.defaultdict(lambda: [0, 0])
    scopes = {"all": [0, 0], "core": [0, 0], "core-without-choice-tables": [0, 0]}
    for c in cases:
        name = c["name"]
        ok = c.get("status") == "pass" or c.get("passed") is True or c.get("result") == "pass"
        case = json.load(open(os.path.join(a.cases, name + ".json")))
        feats = set(case["features"])
        for f in feats:
            rows[f][0] += ok; rows[f][1] += 1
        scopes["all"][0] += ok; scopes["all"][1] += 1
        if not feats & LATER:
            scopes["core"][0] += ok; scopes["core"][1] += 1
            if name.split(".")[0] not in CHOICE_FAMILIES:
                scopes["core-without-choice-tables"][0] += ok
                scopes["core-without-choice-tables"][1] += 1
    if not a.quiet:
        print("pass rate per feature tag:")
        for f, (p, n) in sorted(rows.items(), key=lambda kv: (-kv[1][1], kv[0])):
            print(f"  {f:45s} {p:4d}/{n:<4d} {100.0*p/n:6.1f}%")
    print("scopes:")
    rates = {}
    for s, (p, n) in scopes.items():
        rates[s] = 100.0 * p / n if n else 0.0
        print(f"  {s:30s} {p:4d}/{n:<4d} {rates[s]:6.1f}%")
    if a.floor:
        floor = json.load(open(a.floor))
        bad = [f"{s}: {rates.get(s, 0):.1f}% < floor {v}%" for s, v in floor.items() if rates.get(s, 0) + 1e-9 < v]
        if bad:
            print("conformance fell below the floor kept in the repo:\n  " + "\n  ".join(bad))
            return 1
        print("conformance at or above the floor: " + ", ".join(f"{s} >= {v}%" for s, v in floor.items()))
    return 0

if __name__ == "__main__":
    sys.exit(main())
