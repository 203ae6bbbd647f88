//! The shop's services on the server: catalog, accounts, cart and orders. Server functions and
//! the JSON API both call these, so the browser and API clients get the same rules.

pub mod accounts;
pub mod attempts;
pub mod cart;
pub mod catalog;
pub mod cluster;
pub mod compare;
pub mod inspection;
pub mod known_devices;
pub mod links;
pub mod logout_reach;
pub mod orders;
pub mod orders_service;
pub mod outbox;
pub mod session_actions;
pub mod session_view;
pub mod strategies;
pub mod visitor;
pub mod your_sessions;

use crate::error::AppError;
use attempts::Attempts;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use session_strategies::{RejectWith, Session, SessionError, SessionRegistry};
use sqlx::AnyPool;
use std::sync::Arc;

pub use catalog::Catalog;

/// What every handler needs, shared by all requests: one `Arc`, because axum clones the state
/// for every request, once per middleware layer and again for each `State` extractor (cloning
/// the fields one by one, some twenty `Arc`s and strings, was a twentieth of a request's CPU).
#[derive(Clone)]
pub struct Shop(Arc<ShopServices>);

impl Shop {
    pub fn new(services: ShopServices) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for Shop {
    type Target = ShopServices;

    fn deref(&self) -> &ShopServices {
        &self.0
    }
}

/// The shop's services and settings, behind [`Shop`].
pub struct ShopServices {
    pub pool: AnyPool,
    pub catalog: Catalog,
    pub registry: SessionRegistry,
    /// The same strategies for `/compare`'s throwaway sessions, under keys of their own, which
    /// never touch the shared revocation ledger.
    pub measuring: SessionRegistry,
    /// The revoked families as this instance knows them (the mirror), for health checks.
    pub revocations: session_strategies::revocation::mirror::MirroredFamilies,
    /// Signs shared-cart and magic-login links, and known-device cookies.
    pub links: session_strategies::crypto::url_signer::UrlSigner,
    /// This instance's name, sent as `X-Instance`.
    pub instance: Arc<str>,
    /// What another service may present to ask the shop about a credential (introspection).
    pub service_secrets: Arc<[String]>,
    /// The orders service, which lists and places orders (`ORDERS_URL`); `None` where the shop
    /// does it itself (tests that run the shop alone, in one process).
    pub orders_service: Option<Arc<dyn orders_service::OrdersService>>,
    /// Whether `/outbox` shows the mail the shop sends (a demo setting, `DEMO_OUTBOX`).
    pub outbox_enabled: bool,
    /// The cluster supervisor's control API, in the cluster run only.
    pub cluster_control: Option<ClusterControl>,
    /// Login attempts (and magic-link requests), per username, client address or known
    /// device, shared through Redis.
    pub login_attempts: Attempts,
    pub login_limits: LoginLimits,
    /// `/compare`'s measurements per client address and session, per minute: each one saves
    /// and deletes sessions in the live stores, so they are rationed.
    pub measurements: Attempts,
    pub measurements_per_minute: u32,
}

/// How many login attempts a username (or a known device), and a client address, may have in
/// one window before logging in is refused with `429` until the window ends; magic-link
/// requests are counted the same way. An address is counted only where the server knows it
/// (`server/src/request_origin.rs`).
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub per_username: u32,
    pub per_address: u32,
    pub window: std::time::Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_username: 10,
            per_address: 100,
            window: std::time::Duration::from_secs(15 * 60),
        }
    }
}

/// Where the cluster supervisor's control API listens (`host:port` on loopback), and the
/// secret of this run that it asks every caller for: only the instances it started know it.
#[derive(Clone, Debug)]
pub struct ClusterControl {
    pub address: Arc<str>,
    pub secret: Arc<str>,
}

/// The axum state: Leptos needs its options in it. Cheap to clone, for the same reason as
/// [`Shop`]; the options are cloned only for the page routes that ask for them.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub leptos_options: LeptosOptions,
    pub shop: Shop,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, shop: Shop) -> Self {
        Self(Arc::new(AppParts {
            leptos_options,
            shop,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Shop {
    fn from_ref(state: &AppState) -> Self {
        state.shop.clone()
    }
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
