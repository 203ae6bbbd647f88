#!/usr/bin/env bash
# Every test: formatting, clippy, the Rust unit and integration tests, then the Playwright suite
# in Chromium against the server that `cargo leptos build` made. Builds once, into target/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "setting up tools"
bash scripts/setup.sh --test

# Real services on loopback, on ports of their own, stopped when the script ends. (The cluster
# test starts its own Redis, Memcached and HAProxy through `server cluster`.)
source scripts/lib/postgres.sh
source scripts/lib/redis-cluster.sh
services_dir=$(mktemp -d)
cleanup() {
  [[ -n "${redis_pid:-}" ]] && kill "$redis_pid" 2>/dev/null || true
  redis_cluster_stop "$services_dir/redis-cluster"
  [[ -n "${memcached_pid:-}" ]] && kill "$memcached_pid" 2>/dev/null || true
  pg_stop "$services_dir"
  rm -rf "$services_dir"
}
trap cleanup EXIT

step "starting redis-server on 127.0.0.1:6390"
redis-server --bind 127.0.0.1 --port 6390 --save "" --appendonly no --daemonize no \
  >"$services_dir/redis.log" 2>&1 &
redis_pid=$!
export REDIS_URL="redis://127.0.0.1:6390"
export TEST_REDIS_PORT=6390

step "starting a three-primary Redis Cluster on 127.0.0.1:7391-7393"
redis_cluster_start "$services_dir/redis-cluster" 7391
export TEST_REDIS_CLUSTER_URL="$REDIS_CLUSTER_URL"

step "starting memcached on 127.0.0.1:11290"
memcached -l 127.0.0.1 -p 11290 -U 0 -m 64 -u "$(id -un)" >"$services_dir/memcached.log" 2>&1 &
memcached_pid=$!
export MEMCACHED_URL="memcached://127.0.0.1:11290"

step "starting PostgreSQL on 127.0.0.1:5439"
pg_start "$services_dir" 5439
export TEST_POSTGRES_URL="$PG_URL"

for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (server side, all targets)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo clippy (browser side, wasm32)"
cargo clippy -p app --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

# Building the integration tests also builds target/debug/server: the Playwright suite runs
# that binary, so the server is compiled once (a `cargo leptos build` of the server would
# compile Leptos again under different environment variables).
step "Rust unit and integration tests (and the server binary)"
cargo test --workspace
if [[ ! -x target/debug/server ]]; then
  echo "error: cargo test did not leave target/debug/server" >&2
  exit 1
fi

step "cargo leptos build --frontend-only --split (WebAssembly bundle and page chunks, CSS, assets)"
cargo leptos build --frontend-only --split
node scripts/precompress.mjs target/site

step "Playwright end-to-end tests in Chromium"
rm -rf target/e2e-data target/e2e-data-secure
(cd end2end && E2E_SERVER_BIN=target/debug/server npx playwright test)

step "all tests passed in $((SECONDS - started)) s"
