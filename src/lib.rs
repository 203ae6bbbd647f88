//! Session strategies: one [`SessionBackend`] trait, one implementation per way of keeping a
//! session, and an axum layer that picks the backend for each request.
//!
//! The crate knows nothing of the shop beyond the shape of a session (who is logged in and what
//! is in the cart); prices, products and accounts belong to the application. Without its
//! `server` feature it is only the strategy catalogue ([`strategy`]), which the browser build
//! shares.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod attempts;
#[cfg(feature = "server")]
pub mod backend;
#[cfg(feature = "server")]
pub mod cache_aside;
#[cfg(feature = "server")]
pub mod cookie;
#[cfg(feature = "server")]
pub mod data;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod inspect;
#[cfg(feature = "server")]
pub mod jwt;
#[cfg(feature = "server")]
pub mod layer;
#[cfg(feature = "server")]
pub mod logins;
#[cfg(feature = "server")]
pub mod measure;
#[cfg(feature = "server")]
pub mod memory_store;
#[cfg(feature = "server")]
pub mod record_store;
#[cfg(feature = "server")]
pub mod redis_store;
#[cfg(feature = "server")]
pub mod registry;
#[cfg(feature = "server")]
pub mod revocation;
#[cfg(feature = "server")]
pub mod revocation_mirror;
#[cfg(feature = "server")]
pub mod secrets;
#[cfg(feature = "server")]
pub mod session;
#[cfg(feature = "server")]
pub mod signed_url;
#[cfg(feature = "server")]
pub mod sql_store;
#[cfg(feature = "server")]
pub mod sqlite_reads;
#[cfg(feature = "server")]
pub mod sqlite_writes;
#[cfg(feature = "server")]
pub mod store;
pub mod strategy;
#[cfg(feature = "server")]
pub mod trace;
#[cfg(feature = "server")]
pub mod traced_store;
#[cfg(feature = "server")]
pub mod transport;
#[cfg(feature = "server")]
pub mod url_signer;
pub mod url_token;
#[cfg(feature = "server")]
pub mod verified_tokens;

#[cfg(feature = "server")]
pub use backend::{
    BackendError, ClientChange, LoadError, Loaded, Revision, Saved, SessionBackend, SessionKey,
    Stored, Unavailable,
};
#[cfg(feature = "server")]
pub use data::{CartLine, ProductId, Quantity, SessionData, SessionUser};
#[cfg(feature = "server")]
pub use error::SessionError;
#[cfg(feature = "server")]
pub use layer::{session_layer, SessionLayerState, STRATEGY_COOKIE, STRATEGY_HEADER};
#[cfg(feature = "server")]
pub use registry::SessionRegistry;
#[cfg(feature = "server")]
pub use session::{Notice, RejectWith, Session};
pub use strategy::Strategy;
