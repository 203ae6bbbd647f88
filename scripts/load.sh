#!/usr/bin/env bash
# Load through the cluster: starts PostgreSQL and `server cluster` (Redis, three instances,
# HAProxy) on ports of their own, drives every strategy for 60 s at 64 connections with reads
# and writes mixed while app-2 is stopped and started once (scripts/load.mjs), prints requests,
# errors, p99, lost writes and lost sessions per strategy, and stops everything. Exits non-zero
# if any strategy but memory had an error or lost a write.
#   scripts/load.sh [--release] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --cluster
export PATH="$HOME/.cargo/bin:$PATH"

profile=debug
if [[ "${1:-}" == "--release" ]]; then profile=release; shift; fi
seconds="${1:-60}"
connections="${2:-64}"

echo "==> building the server ($profile)"
if [[ "$profile" == release ]]; then cargo build -p server --release; else cargo build -p server; fi

source scripts/lib/postgres.sh
work=$(mktemp -d)
cleanup() {
  [[ -n "${cluster_pid:-}" ]] && kill -TERM "$cluster_pid" 2>/dev/null && wait "$cluster_pid" 2>/dev/null || true
  pg_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT
echo "==> starting PostgreSQL on 127.0.0.1:5434"
pg_start "$work" 5434

echo "==> starting the cluster on 127.0.0.1:3400"
DATABASE_URL="$PG_URL" CLUSTER_PORT=3400 CLUSTER_STATS_PORT=3401 CLUSTER_CONTROL_PORT=3402 \
  CLUSTER_BASE_PORT=3403 CLUSTER_REDIS_PORT=6394 CLUSTER_DIR="$work/cluster" RUST_LOG=warn \
  LOGIN_FAILURES_PER_ADDRESS=100000 \
  "target/$profile/server" cluster >"$work/cluster.log" 2>&1 &
cluster_pid=$!
for _ in $(seq 600); do
  grep -q "the cluster answers" "$work/cluster.log" 2>/dev/null && break
  if ! kill -0 "$cluster_pid" 2>/dev/null; then cat "$work/cluster.log" >&2; exit 1; fi
  sleep 0.1
done

node scripts/load.mjs --url http://127.0.0.1:3400 --control http://127.0.0.1:3402 \
  --seconds "$seconds" --connections "$connections" --stop app-2
