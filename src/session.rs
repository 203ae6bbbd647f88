//! The session core every strategy plugs into: what a session holds ([`data`]), the one trait a
//! strategy implements ([`backend`]), how credentials travel ([`transport`]), the per-request
//! handle handlers change ([`handle`]), the axum layer that loads and stores it ([`layer`]),
//! the running backends ([`registry`]) and the errors ([`error`]).
//!
//! Nothing here names a strategy: the registry holds `Arc<dyn SessionBackend>`, and what the
//! core needs from elsewhere (whether a login was ended) it asks through a trait of its own.

pub mod backend;
pub mod data;
pub mod error;
pub mod handle;
pub mod layer;
pub mod registry;
pub mod transport;
