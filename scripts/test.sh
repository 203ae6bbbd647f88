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

step "cargo leptos build --frontend-only (WebAssembly bundle, CSS, assets)"
cargo leptos build --frontend-only

step "Playwright end-to-end tests in Chromium"
rm -rf target/e2e-data
(cd end2end && E2E_SERVER_BIN=target/debug/server npx playwright test)

step "all tests passed in $((SECONDS - started)) s"
