//! Session strategies: one [`SessionBackend`] trait, one implementation per way of keeping a
//! session, and an axum layer that picks the backend for each request.
//!
//! The crate knows nothing of the shop beyond the shape of a session (who is logged in and what
//! is in the cart); prices, products and accounts belong to the application. Without its
//! `server` feature it is only the strategy catalogue ([`strategy`]) and the URL credential
//! ([`url_credential`]), which the browser build shares.
//!
//! Folders by job, each depending only on those listed before it:
//! - [`clock`], [`redis`] (the process-wide Redis connection), [`trace`] (what a request did,
//!   for the inspector), [`crypto`] (keys, signed tokens, verified-token caches);
//! - [`session`]: the core: what a session holds, the backend trait, errors, the handle, the
//!   axum layer, the registry and how credentials travel;
//! - [`stores`]: record stores for the server-side strategies (memory, Redis, SQL,
//!   cache-aside), with compare-and-set;
//! - [`revocation`]: revoked families, refresh tokens, ended logins;
//! - [`backends`]: one file or folder per strategy that is not a record store;
//! - [`trust`]: how another service checks the sessions these backends made;
//! - [`inspect`]: the inspector's view of a session and the measurements behind `/compare`.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod backends;
#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod crypto;
#[cfg(feature = "server")]
pub mod inspect;
#[cfg(feature = "server")]
pub mod redis;
#[cfg(feature = "server")]
pub mod revocation;
#[cfg(feature = "server")]
pub mod session;
#[cfg(feature = "server")]
pub mod stores;
pub mod strategy;
#[cfg(feature = "server")]
pub mod trace;
#[cfg(feature = "server")]
pub mod trust;
pub mod url_credential;

#[cfg(feature = "server")]
pub use session::{
    backend::{Loaded, Revision, Saved, SessionBackend, SessionKey, Stored},
    data::{CartLine, ProductId, Quantity, SessionData, SessionUser},
    error::{BackendError, LoadError, SessionError, Unavailable},
    handle::{Notice, RejectWith, Session},
    layer::{session_layer, SessionLayerState, STRATEGY_COOKIE, STRATEGY_HEADER},
    registry::SessionRegistry,
    transport::ClientChange,
};
pub use strategy::Strategy;
pub use url_credential::UrlCredential;
