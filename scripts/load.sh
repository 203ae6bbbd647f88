#!/usr/bin/env bash
# Load through the cluster: starts PostgreSQL and `server cluster` (Redis behind Sentinels,
# three instances, HAProxy) on ports of their own, drives every strategy for 60 s at 64
# connections with reads and writes mixed while Redis' primary is killed at 20 s (and started
# again as a replica at 30 s) and app-2 is stopped at 40 s and started at 50 s
# (scripts/load.mjs), prints requests, errors, 503s, how long each strategy answered 503 after
# the kill, p99, lost writes and lost sessions per strategy and the failover time, and stops
# everything. Exits non-zero if any strategy but memory had an error other than 503, or lost a
# write or a session.
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

secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "==> starting the cluster on 127.0.0.1:3400"
DATABASE_URL="$PG_URL" CLUSTER_PORT=3400 CLUSTER_STATS_PORT=3401 CLUSTER_CONTROL_PORT=3402 \
  CLUSTER_BASE_PORT=3403 CLUSTER_REDIS_PORT=6394 CLUSTER_MEMCACHED_PORT=11394 \
  CLUSTER_CONTROL_SECRET="$secret" CLUSTER_DIR="$work/cluster" RUST_LOG=warn \
  LOGIN_FAILURES_PER_ADDRESS=100000 LOGIN_FAILURES_PER_USER=100000 \
  "target/$profile/server" cluster >"$work/cluster.log" 2>&1 &
cluster_pid=$!
for _ in $(seq 600); do
  grep -q "the cluster answers" "$work/cluster.log" 2>/dev/null && break
  if ! kill -0 "$cluster_pid" 2>/dev/null; then cat "$work/cluster.log" >&2; exit 1; fi
  sleep 0.1
done

node scripts/load.mjs --url http://127.0.0.1:3400 --control http://127.0.0.1:3402 \
  --secret "$secret" --seconds "$seconds" --connections "$connections" --stop app-2
