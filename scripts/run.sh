#!/usr/bin/env bash
# Builds and runs the app on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR to change), installing
# what it needs first. `scripts/run.sh watch` rebuilds on change instead; `scripts/run.sh
# release` builds the optimised site (wasm-opt, compressed assets) and serves that.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

# The demo outbox shows the magic login links the shop "sends" (DEMO_OUTBOX=false to hide it).
export DEMO_OUTBOX="${DEMO_OUTBOX:-true}"

# The redis and cache-aside strategies need Redis; start one on loopback if none answers.
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  echo "==> starting redis-server on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
fi
# Compressed copies that the test command wrote for an earlier build would be served in place of
# the files cargo-leptos is about to rebuild.
if [[ -d target/site ]]; then
  find target/site \( -name '*.br' -o -name '*.gz' \) -delete
fi
case "${1:-serve}" in
  watch) exec cargo leptos watch ;;
  serve) exec cargo leptos serve ;;
  release)
    cargo leptos build --release
    node scripts/precompress.mjs target/site
    export LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=session-strategies LEPTOS_ENV=PROD
    export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
    exec target/release/server
    ;;
  *) echo "usage: scripts/run.sh [serve|watch|release]" >&2; exit 2 ;;
esac
