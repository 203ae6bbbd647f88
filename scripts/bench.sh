#!/usr/bin/env bash
# The benchmark: builds the release server, starts it with a Redis of its own (port 6396) and a
# SQLite file in a scratch directory, and prints one table of every strategy's session read and
# cart write beside the app's no-session route, measured with wrk in the same run
# (scripts/bench.mjs), then `cargo bench` (criterion: each backend's load and save without HTTP).
# Installs wrk from Debian's packages when missing.
#   scripts/bench.sh [seconds per run, 5] [connections, 32]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${1:-5}"
connections="${2:-32}"

echo "==> building the release server (cargo build -p server --release)"
cargo build -p server --release

work=$(mktemp -d)
cleanup() {
  [[ -n "${server_pid:-}" ]] && kill -TERM "$server_pid" 2>/dev/null || true
  [[ -n "${redis_pid:-}" ]] && kill "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting redis-server on 127.0.0.1:6396 and the server on 127.0.0.1:3600"
redis-server --bind 127.0.0.1 --port 6396 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
LEPTOS_SITE_ADDR=127.0.0.1:3600 LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=session-strategies \
  LEPTOS_ENV=PROD DATA_DIR="$work/data" REDIS_URL=redis://127.0.0.1:6396 RUST_LOG=warn \
  COMPARE_MEASUREMENTS_PER_MINUTE=1000 target/release/server >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  curl -fs http://127.0.0.1:3600/api/v1/health >/dev/null 2>&1 && break
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
  sleep 0.1
done

node scripts/bench.mjs --url http://127.0.0.1:3600 --seconds "$seconds" --connections "$connections"

echo
echo "==> cargo bench: each backend's load and save alone (criterion; jwt: verify and sign)"
REDIS_URL=redis://127.0.0.1:6396 cargo bench -p session-strategies --bench backends 2>&1 \
  | grep -E '^[a-z-]+/(load|save) +time:' | tr -s ' '
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
