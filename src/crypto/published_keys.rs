//! The shop's token keys as another service holds them: the public keys the shop publishes as
//! a JWKS (RFC 7517), fetched at start and again when a token names a key the set lacks (the
//! shop added a key: rotation without restarting this service). A token naming a made-up key
//! costs at most one fetch per [`REFETCH_AFTER`], so such tokens cannot make the service
//! hammer the shop. Verification itself needs no round trip.

use jsonwebtoken::{
    jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm},
    DecodingKey,
};
use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

/// How the key set is fetched (an HTTP GET of the shop's `/.well-known/jwks.json`): given by
/// the service, so that this crate needs no HTTP client.
pub type FetchKeys =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<JwkSet, String>> + Send>> + Send + Sync>;

/// The least time between two fetches made for unknown keys.
pub const REFETCH_AFTER: Duration = Duration::from_secs(1);

/// The shop's Ed25519 public keys, by `kid`.
pub struct PublishedKeys {
    fetch: FetchKeys,
    keys: RwLock<Arc<Vec<(String, DecodingKey)>>>,
    /// Taken by the one fetch under way; holds when the last one ended.
    fetching: tokio::sync::Mutex<Instant>,
    fetches: AtomicU64,
}

impl PublishedKeys {
    /// Fetches the set once; an error if the shop does not answer with one.
    pub async fn fetch_with(fetch: FetchKeys) -> Result<Arc<Self>, String> {
        let set = fetch().await?;
        Ok(Arc::new(Self {
            fetch,
            keys: RwLock::new(Arc::new(usable(&set))),
            fetching: tokio::sync::Mutex::new(Instant::now()),
            fetches: AtomicU64::new(1),
        }))
    }

    /// The key named `kid`, if the set has it.
    pub fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.current()
            .iter()
            .find(|(name, _)| name == kid)
            .map(|(_, key)| key.clone())
    }

    fn current(&self) -> Arc<Vec<(String, DecodingKey)>> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The `kid`s held now, oldest first as the shop lists them.
    pub fn kids(&self) -> Vec<String> {
        self.current().iter().map(|(kid, _)| kid.clone()).collect()
    }

    /// How many times the set was fetched, the first included.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the set again if `kid` is not in it, the last fetch ended long enough ago, and no
    /// other request is fetching (requests never queue for a fetch). A failed fetch keeps the
    /// keys held.
    pub async fn refresh_unless_known(&self, kid: &str) {
        if self.key(kid).is_some() {
            return;
        }
        let Ok(mut last) = self.fetching.try_lock() else {
            return;
        };
        if last.elapsed() < REFETCH_AFTER {
            return;
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = (self.fetch)().await;
        *last = Instant::now();
        match fetched {
            Ok(set) => {
                let keys = Arc::new(usable(&set));
                match self.keys.write() {
                    Ok(mut held) => *held = keys,
                    Err(poisoned) => *poisoned.into_inner() = keys,
                }
            }
            Err(error) => tracing::warn!(%error, "could not fetch the shop's keys again"),
        }
    }
}

/// The Ed25519 verifying (public) keys of `set` with a `kid`; anything else (a symmetric key above all:
/// RFC 8725 section 3.1) is left out.
fn usable(set: &JwkSet) -> Vec<(String, DecodingKey)> {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::EdDSA)))
        .filter_map(|jwk| match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((jwk.common.key_id.clone()?, key))
            }
            _ => None,
        })
        .collect()
}
