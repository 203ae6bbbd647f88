//! The server as processes and sockets: real serving threads on real ports, `server cluster`
//! with Redis, several instances and HAProxy, and a Redis of a test's own stopped and started
//! under a running app. Separate from the in-process `http` tests, which drive the router with
//! `oneshot`; the client for those requests is shared.

// Only part of the client is needed here.
#[allow(dead_code)]
#[path = "../http/common.rs"]
mod common;

mod cluster;
mod redis_restart;
mod serving;
