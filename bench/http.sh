#!/usr/bin/env bash
# HTTP tasks beside oha (issue "Real task resources"): a Map (MaxConcurrency 50; an inline Map
# runs at most 40 iterations at once, as on AWS, so 40 requests are in flight) of
# `arn:aws:states:::http:invoke` GETs against the pizza API fixture's /__health, and oha at 50
# connections against the same URL, in one run. Target: asl, history on, at least 70% of oha's
# requests/s; p50/p90/p99 for both (asl's from the stored history).
#
#   bench/http.sh                 # N=50000 requests per run, RUNS=3 (medians), one warm-up each
#   N=20000 RUNS=5 bench/http.sh
#
# oha is installed once into target/bench-tools (cargo only: native-tls, not rustls's aws-lc,
# which would want cmake). Everything listens on and talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${N:-50000}
runs=${RUNS:-3}
oha_version=1.16.0

timeout 1200 cargo build --release -p asl-cli -p pizza-api >&2
oha=$root/target/bench-tools/bin/oha
if ! "$oha" --version 2>/dev/null | grep -q "$oha_version"; then
  timeout 1800 cargo install oha --version "$oha_version" --locked \
    --no-default-features --features native-tls --root "$root/target/bench-tools" >&2
fi

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port/__health
"$root/target/release/pizza-api" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
echo "server: $url -> $(python3 -c "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())" "$url")" >&2

echo "load before: $(uptime)" >&2
if pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null; then
  echo "warning: a cargo build is running: the figures share the cores with it" >&2
fi
timeout 1800 python3 "$root/bench/http/measure.py" "$root/target/release/asl" "$oha" "$url" "$work" "$n" "$runs"
echo "load after: $(uptime)" >&2
