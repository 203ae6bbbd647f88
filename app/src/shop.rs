//! The shop's services on the server: catalog, accounts, cart and orders. Server functions and
//! the JSON API both call these, so the browser and API clients get the same rules.

pub mod accounts;
pub mod cart;
pub mod catalog;
pub mod compare;
pub mod inspection;
pub mod links;
pub mod orders;
pub mod session_actions;
pub mod session_view;
pub mod strategies;

use crate::error::AppError;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use session_strategies::{RejectWith, Session, SessionError, SessionRegistry};
use sqlx::AnyPool;
use std::sync::Arc;

pub use catalog::Catalog;

/// What every handler needs, shared by all requests.
#[derive(Clone)]
pub struct Shop {
    pub pool: AnyPool,
    pub catalog: Catalog,
    pub registry: SessionRegistry,
    /// Signs shared-cart and magic-login links.
    pub links: session_strategies::url_signer::UrlSigner,
    /// This instance's name, sent as `X-Instance`.
    pub instance: Arc<str>,
}

/// The axum state: Leptos needs its options in it.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub shop: Shop,
}

/// Session errors in the API's error shape, for the session layer and the `Session` extractor.
impl FromRef<AppState> for RejectWith {
    fn from_ref(_: &AppState) -> Self {
        RejectWith(crate::error::reject_session)
    }
}

/// The request's session, put there by the session layer, for server functions (which reach
/// the request through Leptos' context rather than extractors).
pub fn session_of(extensions: &http::Extensions) -> Result<Session, AppError> {
    extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| SessionError::LayerMissing.into())
}
