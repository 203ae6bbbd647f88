#!/usr/bin/env bash
# The benchmark: builds the release server, starts it with a Redis (port 6396) and a Memcached
# (port 11396) of its own and a SQLite file in a scratch directory, and prints one table of every strategy's session read and
# cart write beside the app's no-session route, measured with wrk in the same run
# (scripts/bench.mjs), then redis alone again with a replica and REDIS_MIN_REPLICAS=1 (each
# session write waiting for the replica), then `cargo bench` (criterion: each backend's load and save without HTTP,
# and whole session reads through the router in process, as a serving thread's CPU per request).
# Installs wrk from Debian's packages when missing.
#   scripts/bench.sh [seconds per run, 5] [connections, 32]
# Scale mode fills Redis and the SQLite store with a million sessions (a fifth more SQL rows,
# already expired, for the sweep) and reports memory per session in Redis, database size per
# session, the redis and sql rows of the table at that size, and how long the expired-session
# sweep takes and whether requests stall meanwhile:
#   scripts/bench.sh scale [sessions, 1000000] [seconds per run, 5]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench
export PATH="$HOME/.cargo/bin:$PATH"
scale=""
if [[ "${1:-}" == scale ]]; then
  scale="${2:-1000000}"
  shift $(( $# >= 2 ? 2 : 1 ))
fi
seconds="${1:-5}"
connections="${2:-32}"

echo "==> building the release server (cargo build -p server --release)"
cargo build -p server --release
if [[ -n "$scale" ]]; then
  echo "==> building the session filler (cargo build --release --example fill_sessions)"
  cargo build --release -p session-strategies --example fill_sessions
fi

work=$(mktemp -d)
cleanup() {
  [[ -n "${server_pid:-}" ]] && kill -TERM "$server_pid" 2>/dev/null || true
  [[ -n "${redis_pid:-}" ]] && kill "$redis_pid" 2>/dev/null || true
  [[ -n "${memcached_pid:-}" ]] && kill "$memcached_pid" 2>/dev/null || true
  [[ -n "${replica_pid:-}" ]] && kill "$replica_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting redis-server on 127.0.0.1:6396, memcached on 127.0.0.1:11396 and the server on 127.0.0.1:3600"
redis-server --bind 127.0.0.1 --port 6396 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
memcached -l 127.0.0.1 -p 11396 -U 0 -m 256 -u "$(id -un)" >"$work/memcached.log" 2>&1 &
memcached_pid=$!
export MEMCACHED_URL=memcached://127.0.0.1:11396
# start_server [sweep period in seconds]: the release server on port 3600, its log in
# $work/server.log (the SQL sweep's passes included).
start_server() {
  LEPTOS_SITE_ADDR=127.0.0.1:3600 LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=session-strategies \
    LEPTOS_ENV=PROD DATA_DIR="$work/data" REDIS_URL=redis://127.0.0.1:6396 \
    REDIS_MIN_REPLICAS="${REDIS_MIN_REPLICAS:-0}" \
    RUST_LOG=warn,session_strategies::stores::sweep=debug SESSION_SWEEP_SECONDS="${1:-60}" \
    COMPARE_MEASUREMENTS_PER_MINUTE=1000 target/release/server >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -fs http://127.0.0.1:3600/api/v1/health >/dev/null 2>&1 && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "error: the server did not answer /api/v1/health within 30 s" >&2
  exit 1
}

if [[ -z "$scale" ]]; then
  start_server
  node scripts/bench.mjs --url http://127.0.0.1:3600 --seconds "$seconds" --connections "$connections" \
    --server-pid "$server_pid" --redis-pid "$redis_pid"
  echo
  echo "==> redis again, each session write waiting for a replica (REDIS_MIN_REPLICAS=1, a replica on 127.0.0.1:6397)"
  redis-server --bind 127.0.0.1 --port 6397 --save "" --appendonly no --replicaof 127.0.0.1 6396 \
    >"$work/replica.log" 2>&1 &
  replica_pid=$!
  for _ in $(seq 100); do
    redis-cli -p 6397 info replication 2>/dev/null | grep -q master_link_status:up && break
    sleep 0.1
  done
  redis-cli -p 6397 info replication | grep -q master_link_status:up \
    || { echo "error: the replica did not sync within 10 s" >&2; exit 1; }
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  REDIS_MIN_REPLICAS=1 start_server
  node scripts/bench.mjs --url http://127.0.0.1:3600 --seconds "$seconds" --connections "$connections" \
    --only redis --rounds 3 --server-pid "$server_pid" --redis-pid "$redis_pid"
else
  # No sweep while filling and measuring; the sweep gets a run of its own below.
  start_server 3600
  db="$work/data/shop.db"
  redis_memory() { redis-cli -p 6396 info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
  db_bytes() { du -cb "$db" "$db-wal" 2>/dev/null | tail -1 | cut -f1; }
  expired=$(( scale / 5 ))
  memory_before=$(redis_memory)
  bytes_before=$(db_bytes)
  echo "==> filling Redis with $scale sessions (redis-cli --pipe)"
  filled=$SECONDS
  target/release/examples/fill_sessions redis "$scale" | redis-cli -p 6396 --pipe | tail -1
  echo "    $(( SECONDS - filled )) s"
  echo "==> filling SQLite with $scale live sessions and $expired expired ones"
  target/release/examples/fill_sessions sqlite "$db" $(( scale + expired )) \
    $(( expired * 100 / (scale + expired) ))
  memory_after=$(redis_memory)
  bytes_after=$(db_bytes)
  node scripts/bench.mjs --url http://127.0.0.1:3600 --seconds "$seconds" \
    --connections "$connections" --only redis,sql --server-pid "$server_pid" --redis-pid "$redis_pid"
  echo
  echo "| at $scale sessions | bytes per session |"
  echo "| --- | --- |"
  echo "| Redis used_memory | $(( (memory_after - memory_before) / scale )) |"
  echo "| SQLite file (rows, index, free pages) | $(( (bytes_after - bytes_before) / (scale + expired) )) |"
  echo
  echo "==> restarting the server with a sweep 15 s after start; one visitor reads and writes meanwhile"
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  start_server 15
  node scripts/bench.mjs --url http://127.0.0.1:3600 --probe-sweep "$work/server.log"
fi

if [[ -z "$scale" ]]; then
  echo
  echo "==> cargo bench: each backend's load and save alone (criterion; jwt: verify and sign)"
  REDIS_URL=redis://127.0.0.1:6396 cargo bench -p session-strategies --bench backends 2>&1 \
    | grep -E '^[a-z-]+/(load|save) +time:' | tr -s ' '
  echo
  echo "==> cargo bench: whole session reads through the router, in process (criterion; a thread's CPU per request)"
  REDIS_URL=redis://127.0.0.1:6396 cargo bench -p server --bench requests 2>&1 \
    | grep -E '^[a-z-]+/read +time:|left out' | tr -s ' '
fi
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
