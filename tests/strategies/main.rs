//! Every backend against its real store: the conformance suite, the JWT attacks, the
//! measurements. One test binary, so the modules share `common`.

mod backends;
mod common;
mod documents;
mod fuzz;
mod hybrid;
mod jwt;
mod layout;
mod memcached;
mod redis_failover;
mod redis_lanes;
mod revocation;
mod traces;
