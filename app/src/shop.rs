//! The shop's services on the server: catalog, accounts, cart and orders. Server functions and
//! the JSON API both call these, so the browser and API clients get the same rules.

pub mod accounts;
pub mod cart;
pub mod catalog;
pub mod compare;
pub mod links;
pub mod orders;
pub mod strategies;

use crate::error::AppError;
use leptos::prelude::LeptosOptions;
use session_strategies::{Session, SessionRegistry};
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
    pub links: session_strategies::signed_url::UrlSigner,
    /// This instance's name, sent as `X-Instance`.
    pub instance: Arc<str>,
}

/// The axum state: Leptos needs its options in it.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub shop: Shop,
}

/// The request's session, put there by the session layer.
pub fn session_of(extensions: &http::Extensions) -> Result<Session, AppError> {
    extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| AppError::internal("the session layer is not installed"))
}
