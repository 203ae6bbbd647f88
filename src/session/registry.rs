//! The running backends, by strategy, and the default one, with what the layer needs beside
//! them: the trace book, the absolute timeout, the cookie policy, the ledger of ended logins
//! and this instance's per-session write turns.

use super::{
    backend::{SessionBackend, SessionKey},
    data::DEFAULT_MAX_AGE,
    error::{SessionError, Unavailable},
};
use crate::{strategy::Strategy, trace::book::TraceBook};
use async_trait::async_trait;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Weak},
    time::Duration,
};

/// Logins ended from elsewhere ("log out everywhere", ending one device's session from another):
/// every logged-in session carries its login's handle, and the layer asks about it on every
/// load. The revocation ledger implements it (`src/revocation/logins.rs`).
#[async_trait]
pub trait LoginLedger: Send + Sync + 'static {
    /// Whether the login `handle` has been ended.
    async fn is_ended(&self, handle: &str) -> Result<bool, Unavailable>;
    /// Ends the login `handle` until `until` (Unix seconds, when it would have ended anyway).
    async fn end(&self, handle: &str, until: i64) -> Result<(), Unavailable>;
}

/// Every backend this process runs. Cheap to clone (one reference count): the session layer
/// and every session hold one, so a request clones it several times.
#[derive(Clone)]
pub struct SessionRegistry(Arc<Registry>);

#[derive(Clone)]
struct Registry {
    backends: BTreeMap<Strategy, Arc<dyn SessionBackend>>,
    default: Strategy,
    traces: TraceBook,
    /// The absolute timeout: how long a session lasts from creation or login, however active.
    max_age: Duration,
    /// Cookies get `Secure` (the site is served over HTTPS).
    secure_cookies: bool,
    /// Logins ended from elsewhere; `None` where the server keeps no ledger (some tests).
    logins: Option<Arc<dyn LoginLedger>>,
    /// One lock per session being written, so that this instance's writes to one session
    /// happen one after another, each on the copy the one before stored.
    writes: Arc<std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>>,
}

impl SessionRegistry {
    /// A registry over `backends`; `default` serves requests that name no strategy.
    pub fn new(default: Strategy, backends: Vec<Arc<dyn SessionBackend>>) -> Self {
        let backends = backends
            .into_iter()
            .map(|backend| (backend.strategy(), backend))
            .collect();
        Self(Arc::new(Registry {
            backends,
            default,
            traces: TraceBook::default(),
            max_age: DEFAULT_MAX_AGE,
            secure_cookies: false,
            logins: None,
            writes: Arc::default(),
        }))
    }

    /// Waits until no other request of this instance is writing the session under `key`.
    pub async fn lock_writes(
        &self,
        strategy: Strategy,
        key: &SessionKey,
    ) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut writes = self
                .0
                .writes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let name = format!("{strategy}:{}", key.0);
            match writes.get(&name).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    if writes.len() > 10_000 {
                        writes.retain(|_, lock| lock.strong_count() > 0);
                    }
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    writes.insert(name, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Traces name `instance` and, with `shared`, live in that Redis too, so that they follow
    /// a session across instances.
    pub fn with_traces(mut self, traces: TraceBook) -> Self {
        Arc::make_mut(&mut self.0).traces = traces;
        self
    }

    /// Logged-in sessions are checked against `logins` on every load.
    pub fn with_logins(mut self, logins: Arc<dyn LoginLedger>) -> Self {
        Arc::make_mut(&mut self.0).logins = Some(logins);
        self
    }

    pub fn logins(&self) -> Option<&dyn LoginLedger> {
        self.0.logins.as_deref()
    }

    /// Sessions last at most `max_age` from creation or login, however active.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        Arc::make_mut(&mut self.0).max_age = max_age;
        self
    }

    /// Every cookie gets `Secure`: set when the site is served over HTTPS.
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        Arc::make_mut(&mut self.0).secure_cookies = secure;
        self
    }

    pub fn max_age(&self) -> Duration {
        self.0.max_age
    }

    pub fn secure_cookies(&self) -> bool {
        self.0.secure_cookies
    }

    /// The last requests of each session, for the inspector.
    pub fn traces(&self) -> &TraceBook {
        &self.0.traces
    }

    pub fn default_strategy(&self) -> Strategy {
        self.0.default
    }

    /// The backend for `strategy`, or why there is none.
    pub fn get(&self, strategy: Strategy) -> Result<Arc<dyn SessionBackend>, SessionError> {
        self.0
            .backends
            .get(&strategy)
            .cloned()
            .ok_or_else(|| SessionError::Unavailable {
                strategy,
                reason: "not configured on this server".into(),
            })
    }

    /// The strategy whose own credential the request carries (a Bearer token, a URL token).
    /// Should two recognise one request (a Bearer header on a signed URL), the first in
    /// [`Strategy::ALL`] order wins; no two strategies here share a carrier.
    pub fn recognizing(&self, request: &http::request::Parts) -> Option<Strategy> {
        self.0
            .backends
            .iter()
            .find(|(_, backend)| backend.recognizes(request))
            .map(|(strategy, _)| *strategy)
    }

    /// The strategies that have a backend, in display order.
    pub fn strategies(&self) -> impl Iterator<Item = Strategy> + '_ {
        self.0.backends.keys().copied()
    }

    /// The strategy that trades refresh tokens, if one runs here.
    pub fn refreshing(&self) -> Option<Strategy> {
        self.0
            .backends
            .iter()
            .find(|(_, backend)| backend.issues_refresh_tokens())
            .map(|(strategy, _)| *strategy)
    }

    /// Whether `strategy` can serve requests right now, or why not (a round trip to its stores).
    pub async fn availability(&self, strategy: Strategy) -> Result<(), Unavailable> {
        match self.0.backends.get(&strategy) {
            Some(backend) => backend.probe().await,
            None => Err(Unavailable::new("not configured on this server")),
        }
    }
}
