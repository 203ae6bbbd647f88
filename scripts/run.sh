#!/usr/bin/env bash
# Builds and runs the app on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR to change), installing
# what it needs first. `scripts/run.sh watch` rebuilds on change instead; `scripts/run.sh
# release` builds the optimised site (wasm-opt, compressed assets) and serves that;
# `scripts/run.sh cluster` runs three instances behind HAProxy on :3000, with PostgreSQL and a
# Redis of their own (see README, "The cluster run").
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-serve}"
if [[ "$mode" == cluster ]]; then bash scripts/setup.sh --cluster; else bash scripts/setup.sh; fi
export PATH="$HOME/.cargo/bin:$PATH"

# The demo outbox shows the magic login links the shop "sends" (DEMO_OUTBOX=false to hide it).
export DEMO_OUTBOX="${DEMO_OUTBOX:-true}"

# The redis and cache-aside strategies need Redis; start one on loopback if none answers (the
# cluster run starts its own).
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if [[ "$mode" != cluster ]] && ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  echo "==> starting redis-server on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
fi
# The memcached strategy needs Memcached; likewise.
export MEMCACHED_URL="${MEMCACHED_URL:-memcached://127.0.0.1:11211}"
if [[ "$mode" != cluster ]] && ! (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null; then
  echo "==> starting memcached on 127.0.0.1:11211"
  memcached -l 127.0.0.1 -p 11211 -U 0 -u "$(id -un)" -d
fi
# Compressed copies that the test command wrote for an earlier build would be served in place of
# the files cargo-leptos is about to rebuild.
if [[ -d target/site ]]; then
  find target/site \( -name '*.br' -o -name '*.gz' \) -delete
fi
# The orders service (`server orders`, http://127.0.0.1:3100) runs beside the shop: the shop
# sends its order calls there. It waits for the shop, then shares its database and key.
if [[ "$mode" != cluster ]]; then
  export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
  export SHOP_URL="${SHOP_URL:-http://$LEPTOS_SITE_ADDR}"
  export ORDERS_ADDR="${ORDERS_ADDR:-127.0.0.1:3100}"
  export ORDERS_URL="${ORDERS_URL:-http://$ORDERS_ADDR}"
fi
start_orders() {
  echo "==> starting the orders service on http://$ORDERS_ADDR"
  env -u JWT_KEYS INSTANCE_ID=orders-1 "$1" orders &
  orders_pid=$!
  trap 'kill "$orders_pid" 2>/dev/null || true' EXIT
  # The shop's token keys, kept apart from the session key that the orders service holds too
  # (it opens cookies with it): the orders service verifies tokens and cannot mint one.
  if [[ -z "${JWT_KEYS:-}" ]]; then
    local keys="${DATA_DIR:-target/data}/jwt.keys"
    mkdir -p "$(dirname "$keys")"
    if [[ ! -s "$keys" ]]; then
      hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
      (umask 077 && echo "local-$(hex 4):$(hex 32)" >"$keys")
    fi
    JWT_KEYS="$(cat "$keys")"
    export JWT_KEYS
  fi
}
# `--split`: every page is a lazy route (app/src/routes.rs), its code a WebAssembly chunk of its
# own. The browser build needs it: without it the lazy routes' imports are left unresolved.
case "$mode" in
  watch|serve)
    cargo leptos build --split
    start_orders target/debug/server
    # Not exec: the trap stops the orders service when the shop stops.
    cargo leptos "$mode" --split
    ;;
  release)
    # Hashed asset names (target/release/hash.txt tells the server which), cached for a year.
    export LEPTOS_HASH_FILES=true
    cargo leptos build --release --split
    node scripts/precompress.mjs target/site
    export LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=session-strategies LEPTOS_ENV=PROD
    start_orders target/release/server
    target/release/server
    ;;
  cluster)
    cargo leptos build --split
    mkdir -p target/cluster
    source scripts/lib/postgres.sh
    pg_dir=$(mktemp -d)
    trap 'pg_stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
    echo "==> starting PostgreSQL on 127.0.0.1:${CLUSTER_PG_PORT:-5433}"
    pg_start "$pg_dir" "${CLUSTER_PG_PORT:-5433}"
    export DATABASE_URL="$PG_URL"
    export LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=session-strategies LEPTOS_ENV=PROD
    # Not exec: the trap stops PostgreSQL once the supervisor has stopped the rest.
    target/debug/server cluster
    ;;
  *) echo "usage: scripts/run.sh [serve|watch|release|cluster]" >&2; exit 2 ;;
esac
