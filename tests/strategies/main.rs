//! Every backend against its real store: the conformance suite, the JWT attacks, the
//! measurements. One test binary, so the modules share `common`.

mod architecture;
mod backends;
mod common;
mod fuzz;
mod jwt;
mod redis_lanes;
