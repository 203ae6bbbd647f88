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

step "Rust unit and integration tests"
cargo test --workspace

step "cargo leptos build (server binary and WebAssembly bundle)"
cargo leptos build

step "Playwright end-to-end tests in Chromium"
rm -rf target/e2e-data
(cd end2end && npx playwright test)

step "all tests passed in $((SECONDS - started)) s"
