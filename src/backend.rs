//! The one interface every strategy implements.
//!
//! A backend turns what a request carries (a cookie, a header, a URL parameter) into
//! [`SessionData`] and back. It never writes to the response itself: it returns
//! [`ClientChange`]s and the layer applies them with one set of cookie security flags, so no
//! strategy can forget `HttpOnly`.
//!
//! Checked on paper against every strategy before settling:
//! - server stores (memory, redis, sql, cache-aside): the key is the session id, `sid` cookie;
//! - encrypted cookie: no key, the whole session is the cookie;
//! - JWT: the key is the token's `jti` (what logout puts on the denylist), the token travels
//!   as a cookie and as a [`ClientChange::Credential`] for Bearer clients;
//! - signed URL: the key is the store id, the signed token is a `Credential`, no cookie at all.

use crate::{data::SessionData, strategy::Strategy};
use async_trait::async_trait;
use http::request::Parts;
use std::time::Duration;

/// What a backend needs to find a session again on the server (a store id, a token id).
/// Opaque outside the backend that made it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey(pub String);

/// A session found in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub data: SessionData,
    pub key: Option<SessionKey>,
    /// Unix seconds at which this copy expires unless saved again.
    pub expires_at: i64,
    /// What the client must change although nothing was saved (a token refreshed in passing).
    pub client: Vec<ClientChange>,
}

/// The result of a save: where the session now is and what the client must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    pub key: Option<SessionKey>,
    pub client: Vec<ClientChange>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Something the client must store or forget. The layer turns cookies into `Set-Cookie`
/// headers with the security flags; a credential goes back in the response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientChange {
    SetCookie {
        name: &'static str,
        value: String,
        max_age: Duration,
    },
    RemoveCookie {
        name: &'static str,
    },
    /// A value the client must send back itself where cookies do not carry it (a Bearer token,
    /// a URL token).
    Credential(String),
    /// A refresh token for clients that keep their own tokens (API clients).
    RefreshToken(String),
}

/// The server's copy of a session, as the inspector shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServerCopy {
    /// Where it is kept: `memory`, `redis`, `sql`, `sql (cached in redis)`.
    pub store: String,
    pub key: String,
    pub ttl_seconds: i64,
    /// Size of the stored value as JSON.
    pub bytes: usize,
    pub value: serde_json::Value,
}

/// Why a request's session could not be loaded. Expired and invalid sessions are served as a
/// fresh guest with a notice; an unavailable store is an error for the whole request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("the session has expired")]
    Expired,
    #[error("the session credential is invalid: {0}")]
    Invalid(&'static str),
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// A credential the client presented itself (a Bearer token) is bad: the request is refused
    /// rather than quietly served as a guest.
    #[error("the presented credential is {}", if *.expired { "expired" } else { "invalid" })]
    Rejected { expired: bool },
}

/// Why a save or destroy failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    #[error("the session needs {bytes} bytes but a cookie holds at most {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the session could not be encoded: {0}")]
    Encode(String),
}

/// Whether a store answers right now, or why not.
#[async_trait]
pub trait Availability: Send + Sync + 'static {
    /// Cheap enough for every request; may lag a moment behind reality.
    async fn check(&self) -> Result<(), String>;

    /// A round trip to the store, for health checks.
    async fn probe(&self) -> Result<(), String> {
        self.check().await
    }
}

/// One way of keeping a session. Object safe, so the registry holds `Arc<dyn SessionBackend>`
/// and the strategy is chosen per request.
#[async_trait]
pub trait SessionBackend: Send + Sync + 'static {
    fn strategy(&self) -> Strategy;

    /// The cookies this strategy keeps in the browser, to measure what each request carries.
    fn cookie_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the request carries this strategy's own credential where no other strategy's
    /// could be (a Bearer token, a signed URL parameter): then it picks the strategy by itself.
    fn recognizes(&self, _request: &Parts) -> bool {
        false
    }

    /// The value that names the session in this request (its first cookie, a Bearer token, a
    /// URL token), so that the session can be followed across requests without an id of its
    /// own (the inspector's trace).
    fn presented_credential(&self, request: &Parts) -> Option<String> {
        self.cookie_names()
            .first()
            .and_then(|name| crate::transport::request_cookie(request, name))
    }

    /// Finds the session the request carries: `Ok(None)` when it carries none.
    async fn load(&self, request: &Parts) -> Result<Option<Loaded>, LoadError>;

    /// Stores `data`, under `key` when the session already exists there. `rotate` asks for a
    /// new key (login), after which the old one must no longer load.
    async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
    ) -> Result<Saved, BackendError>;

    /// Ends the session: deletes or revokes the server copy under `key`, if any, and returns
    /// what the client must forget. With no key it only clears the client.
    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError>;

    /// What a credential the client holds says, where it can be read at all: a JWT's header
    /// and claims. Encrypted or opaque values give `None`.
    fn decode_credential(&self, _value: &str) -> Option<serde_json::Value> {
        None
    }

    /// The server's copy of the session under `key`, if the strategy keeps one.
    async fn server_copy(&self, _key: &SessionKey) -> Option<ServerCopy> {
        None
    }

    /// Trades a refresh token for a new credential. Only strategies with refresh tokens (JWT)
    /// support it.
    async fn refresh(
        &self,
        _access_token: &str,
        _refresh_token: &str,
    ) -> Result<Loaded, LoadError> {
        Err(LoadError::Invalid("this strategy has no refresh tokens"))
    }

    /// Whether the backend's stores answer right now, or why not: the cheap check made before
    /// every request.
    async fn availability(&self) -> Result<(), String> {
        Ok(())
    }

    /// A round trip to the backend's stores, for health checks.
    async fn probe(&self) -> Result<(), String> {
        self.availability().await
    }
}
