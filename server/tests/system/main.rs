//! The server as processes and sockets: the app served on real ports (its serving threads
//! included) and spoken to in raw HTTP, as an attacker would; `server cluster` with Redis,
//! several instances and HAProxy; and a Redis of a test's own stopped and started under a
//! running app. Separate from the in-process `http` tests, which drive the router with
//! `oneshot`; the client for those requests is shared.

// Only part of the client is needed here.
#[allow(dead_code)]
#[path = "../http/common.rs"]
mod common;

mod attacker;
mod cluster;
mod raw_http;
mod redis_restart;
mod served;
mod services;
mod serving;
