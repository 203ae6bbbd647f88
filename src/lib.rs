//! Session strategies: one [`SessionBackend`] trait, one implementation per way of keeping a
//! session, and an axum layer that picks the backend for each request.
//!
//! The crate knows nothing of the shop beyond the shape of a session (who is logged in and what
//! is in the cart); prices, products and accounts belong to the application.
#![forbid(unsafe_code)]

pub mod backend;
pub mod cache_aside;
pub mod cookie;
pub mod data;
pub mod error;
pub mod inspect;
pub mod jwt;
pub mod layer;
pub mod measure;
pub mod redis_store;
pub mod registry;
pub mod revocation;
pub mod session;
pub mod signed_url;
pub mod sql_store;
pub mod store;
pub mod strategy;
pub mod trace;
pub mod traced_store;
pub mod transport;

pub use backend::{ClientChange, LoadError, Loaded, Saved, SessionBackend, SessionKey};
pub use data::{CartLine, ProductId, Quantity, SessionData, SessionUser};
pub use error::SessionError;
pub use layer::{session_layer, SessionLayerState, STRATEGY_COOKIE, STRATEGY_HEADER};
pub use registry::SessionRegistry;
pub use session::{Notice, Session};
pub use strategy::Strategy;
