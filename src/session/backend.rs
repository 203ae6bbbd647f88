//! The one interface every strategy implements.
//!
//! A backend turns what a request carries into [`SessionData`] and back. It says where its
//! credentials travel ([`SessionBackend::carriers`]: a cookie, a Bearer header, a URL
//! parameter), and the rest of the app asks it instead of assuming. It never writes to the
//! response itself: it returns [`ClientChange`]s and the layer applies them with one set of
//! cookie security flags, so no strategy can forget `HttpOnly`.
//!
//! What each strategy's [`SessionKey`] is:
//! - server stores (memory, redis, memcached, sql, cache-aside): the session id from the `sid`
//!   cookie;
//! - encrypted cookie: none, the whole session is the cookie;
//! - JWT: the token's family (what logout revokes, ending every token the session was given);
//!   the token travels as a cookie and, for Bearer clients, as a [`ClientChange::Credential`];
//! - hybrid: the identity token's family too; the cart travels beside it in a cookie of its own;
//! - signed URL: the store id; the signed token is a `Credential` for the URL, no cookie.

use super::{
    data::SessionData,
    error::{BackendError, LoadError, Unavailable},
    transport::{self, Carrier, ClientChange},
};
use crate::{strategy::Strategy, trace::TraceKey};
use async_trait::async_trait;
use http::request::Parts;
use std::borrow::Cow;

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
    /// The server copy's revision as this request read it, where the store can tell: the
    /// request's first write tries its compare-and-set on it and reads the copy again only
    /// if another write came first (a guess, never trusted: the store checks it).
    pub revision: Option<Revision>,
}

/// The result of a save: where the session now is and what the client must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    pub key: Option<SessionKey>,
    pub client: Vec<ClientChange>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The server's copy of a session, as the inspector shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServerCopy {
    /// Where it is kept: `memory`, `redis`, `sql`, `sql (cached in redis)`.
    pub store: String,
    pub key: String,
    pub ttl_seconds: i64,
    /// Where and at what revision, in the store's own terms, where they say more than its name
    /// (Memcached: the node and the CAS token a write must still find).
    pub detail: Option<String>,
    /// Size of the stored value as JSON.
    pub bytes: usize,
    pub value: serde_json::Value,
}

/// What the server keeps under a session's key right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The strategy keeps no server copy (the client holds the session).
    NotKept,
    /// The session was ended (logged out, expired): it must not be written again.
    Gone,
    /// The stored session, as it is now, and the revision a write over it must still find.
    Found(SessionData, Revision),
}

/// The state a store held a record in when it was read: its stored bytes (Redis, SQL) or a
/// counter (memory). Opaque; only ever handed back to the store that issued it, which compares
/// it before writing (compare-and-set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision(Vec<u8>);

impl Revision {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One way of keeping a session. Object safe, so the registry holds `Arc<dyn SessionBackend>`
/// and the strategy is chosen per request.
#[async_trait]
pub trait SessionBackend: Send + Sync + 'static {
    fn strategy(&self) -> Strategy;

    /// Where this strategy's credentials travel, the one that names the session first: the
    /// inspector, the measurements and the layer read requests and count bytes through these.
    fn carriers(&self) -> &'static [Carrier];

    /// Whether the request carries this strategy's own credential where no other strategy's
    /// could be (a Bearer header, its URL parameter): then it picks the strategy by itself.
    /// Cookies never do: a stale cookie of another strategy must not override the choice.
    fn recognizes(&self, request: &Parts) -> bool {
        transport::carries_own(self.carriers(), request)
    }

    /// The value that names the session in this request (the first carrier present), so that
    /// the session can be followed across requests without an id of its own (the trace).
    fn presented_credential<'r>(&self, request: &'r Parts) -> Option<Cow<'r, str>> {
        transport::presented(self.carriers(), request)
    }

    /// Names the trace ring of the session `credential` stands for: by default a hash of the
    /// whole credential ([`TraceKey::of`]).
    fn trace_key(&self, credential: &str) -> TraceKey {
        TraceKey::of(credential)
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

    /// Stores `data` under `key` only if the server copy is still at `revision` (what
    /// [`stored`](Self::stored) returned): the compare-and-set that keeps concurrent writes from
    /// several instances from losing one another, and a write from bringing back a session that
    /// was logged out ([`BackendError::Conflict`]). Strategies that keep no server copy have no
    /// revision to compare and simply save.
    async fn replace(
        &self,
        data: &SessionData,
        key: &SessionKey,
        _revision: &Revision,
    ) -> Result<Saved, BackendError> {
        self.save(data, Some(key), false).await
    }

    /// Ends the session: deletes or revokes the server copy under `key`, if any, and returns
    /// what the client must forget. With no key it only clears the client.
    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError>;

    /// What a credential the client holds says, where it can be read at all: a JWT's header
    /// and claims. Encrypted or opaque values give `None`.
    fn decode_credential(&self, _value: &str) -> Option<serde_json::Value> {
        None
    }

    /// The session stored under `key` now, for a write to re-apply its change to (a write that
    /// landed since this request loaded is then not lost), or `Gone` if it ended meanwhile.
    async fn stored(&self, _key: &SessionKey) -> Result<Stored, LoadError> {
        Ok(Stored::NotKept)
    }

    /// Whether the server copy lives in this process only (the memory strategy): an id it does
    /// not know may belong to another instance, so the client keeps it (behind a load balancer
    /// the next request may reach that instance).
    fn keeps_state_in_process(&self) -> bool {
        false
    }

    /// The server's copy of the session under `key`, if the strategy keeps one.
    async fn server_copy(&self, _key: &SessionKey) -> Option<ServerCopy> {
        None
    }

    /// The public keys that verify this strategy's credentials, which the shop publishes for
    /// other services (`/.well-known/jwks.json`): none where no key outside the shop can check
    /// them.
    fn public_keys(&self) -> Vec<jsonwebtoken::jwk::Jwk> {
        Vec::new()
    }

    /// Whether the strategy hands out refresh tokens, so that [`SessionBackend::refresh`]
    /// means something.
    fn issues_refresh_tokens(&self) -> bool {
        false
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
    async fn availability(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    /// A round trip to the backend's stores, for health checks.
    async fn probe(&self) -> Result<(), Unavailable> {
        self.availability().await
    }
}
