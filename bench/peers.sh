#!/usr/bin/env bash
# The peer benchmark: our `asl run` beside statebox (and, with RUNTIMES, moto) on the three
# workloads of ../shared/bench, in one run, as whole processes.
#
#   bench/peers.sh                     # statebox + ours, 3 runs each
#   RUNTIMES=moto-server,statebox,ours bench/peers.sh
#
# ../shared is read-only, so the peer harness is copied to target/bench-peers and its
# dependencies are installed there (npm for statebox, a venv for moto when asked for).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo build --release -p asl-cli >&2
work=$root/target/bench-peers
mkdir -p "$work"
rm -rf "$work/bench"
cp -r "$root/../shared/bench" "$work/bench"
chmod -R u+w "$work/bench"
cd "$work/bench/peers"
if [ ! -d "$root/target/bench-node_modules" ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp -r node_modules "$root/target/bench-node_modules"
else
  cp -r "$root/target/bench-node_modules" node_modules
fi
case "${RUNTIMES:-statebox,ours}" in
  *moto*)
    [ -x "$root/target/bench-venv-moto/bin/python" ] || {
      python3 -m venv "$root/target/bench-venv-moto"
      "$root/target/bench-venv-moto/bin/pip" install -q 'moto[server,stepfunctions]==5.2.5' 'boto3==1.44.5'
    }
    ln -sfn "$root/target/bench-venv-moto" .venv-moto ;;
esac
cd "$work"
# A fresh database for the stored runs (not the user's, which may hold anything).
export ASL_DB=${ASL_DB:-$work/asl.db}
RUNTIMES=${RUNTIMES:-statebox,ours} \
OURS="$root/target/release/asl run {definition} --input-file {input} --json --timing" \
  bench/peers/run.sh "$@"
