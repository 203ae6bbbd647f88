//! The server through HTTP: the real router driven with `oneshot` (no socket), real SQLite
//! files, the test run's Redis and PostgreSQL. One test binary, so the modules share `common`.
//! Tests that open sockets or start processes are in the `system` binary.

mod api;
mod common;
mod compare;
mod concurrency;
mod fuzz;
mod inspect;
mod links;
mod openapi;
mod security;
mod strategies;
