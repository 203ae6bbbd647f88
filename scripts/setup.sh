#!/usr/bin/env bash
# Installs what building and running the app needs, skipping whatever is already there:
# the wasm target, cargo-leptos, the wasm-bindgen CLI that matches Cargo.lock, wasm-opt, and
# the end-to-end npm packages. `--test` also installs what the tests run (Chromium, PostgreSQL,
# HAProxy); `--cluster` what the cluster run needs (PostgreSQL, HAProxy); `--bench` wrk.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_tools=false
want_cluster_tools=false
[[ "${1:-}" == "--test" ]] && want_test_tools=true && want_cluster_tools=true
[[ "${1:-}" == "--cluster" ]] && want_cluster_tools=true
want_bench_tools=false
[[ "${1:-}" == "--bench" ]] && want_bench_tools=true

step() { printf '\n==> %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 0.3.11 needs a newer rustc than this machine's; 0.3.10 builds with it.
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  step "installing cargo-leptos 0.3.10 (a few minutes, once)"
  cargo install cargo-leptos@0.3.10 --locked
fi

# cargo-leptos would download wasm-bindgen from GitHub, which is unreachable here; it uses the
# one on PATH, which must be exactly the library's version.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ -z "$bindgen_version" ]]; then
  echo "error: no wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
  step "installing wasm-bindgen-cli $bindgen_version (a few minutes, once)"
  # Not --locked: the registry lacks one of its locked dependencies.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# cargo-leptos would download wasm-opt (release builds) from GitHub too; binaryen's npm package
# ships it.
if ! wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
  step "installing wasm-opt (binaryen 132) for release builds"
  npm install --global --no-audit --no-fund binaryen@132
fi

if [[ ! -d end2end/node_modules/@playwright/test ]] || [[ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]]; then
  step "installing the end-to-end npm packages"
  (cd end2end && npm ci --no-audit --no-fund)
fi

# Debian packages, installed only when missing: Redis and Memcached for the app, PostgreSQL and HAProxy for
# the cluster, Chromium for the tests.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v memcached >/dev/null || missing+=(memcached)
if $want_cluster_tools; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v haproxy >/dev/null || missing+=(haproxy)
fi
if $want_test_tools; then
  [[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]] || missing+=(chromium)
fi
if $want_bench_tools; then
  command -v wrk >/dev/null || missing+=(wrk)
  command -v curl >/dev/null || missing+=(curl)
fi
if (( ${#missing[@]} )); then
  step "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
