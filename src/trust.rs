//! How a second service (the orders service) checks a session the shop created, one way per
//! strategy as the catalogue's [`Trust`] names it, each the way a real team would do it:
//! - public keys (`jwt`, `hybrid`): the backend itself, verify-only, over the keys the shop
//!   publishes ([`PublishedKeys`]); no round trip, and no secret that could mint a token;
//! - a shared key (`cookie`): the backend itself, with the session key;
//! - a store read (`redis`, `memcached`, `sql`, `cache-aside`): the session id looked up in the
//!   shared store, read-only: nothing is renewed or written;
//! - introspection (`signed-url`): the credential sent to the shop, which answers whether it
//!   is active and what it holds (RFC 7662), on a credential of the service's own;
//! - `memory`: cannot, the session is in one shop process.
//!
//! [`build`] is the one place that says which, as [`crate::backends::build`] is for the shop.

use crate::{
    backends::{hybrid::HybridBackend, jwt::JwtBackend, signed_url, Ingredients},
    crypto::published_keys::PublishedKeys,
    session::{
        backend::{SessionBackend, SessionKey, Stored},
        data::SessionData,
        transport::Carrier,
    },
    strategy::{Strategy, Trust},
};
use async_trait::async_trait;
use http::request::Parts;
use std::sync::Arc;

/// Why the second service does not accept a request's session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the request carries no {0} session")]
    NoSession(Strategy),
    #[error("{0}")]
    Invalid(String),
    /// The store or the shop did not answer: the request may be sent again.
    #[error("{0}")]
    Unavailable(String),
    /// The strategy's sessions are out of this service's reach.
    #[error("{0}")]
    OutOfReach(&'static str),
}

/// Asks the shop about a credential (RFC 7662 token introspection): the session it stands for
/// if it is active, `None` if not. The service provides it (an HTTP call with its own
/// credential), so that this crate needs no HTTP client.
#[async_trait]
pub trait Introspect: Send + Sync {
    async fn introspect(
        &self,
        strategy: Strategy,
        token: &str,
    ) -> Result<Option<SessionData>, String>;
}

/// How the second service checks one strategy's sessions.
pub enum Verifier {
    /// The strategy's own backend, loading without saving: signatures and sealed cookies.
    Backend(Arc<dyn SessionBackend>),
    /// The strategy's backend, asked only for the stored copy under the presented id.
    Store(Arc<dyn SessionBackend>),
    /// The shop, asked about the credential the carriers bring.
    Introspection {
        strategy: Strategy,
        carriers: &'static [Carrier],
        shop: Arc<dyn Introspect>,
    },
    Cannot(&'static str),
}

/// Why a `memory` session cannot be checked elsewhere.
pub const MEMORY_OUT_OF_REACH: &str = "memory sessions live in one shop process's memory: the orders service cannot read them (pick a shared strategy)";

/// How the second service checks `strategy`'s sessions, built from what it was given: the
/// stores and ledgers in `from` (whose JWT settings name issuer and audience; their keys are not
/// used), the keys the shop publishes, and a way to ask the shop. `None` when a store the
/// strategy needs is not configured.
pub fn build(
    strategy: Strategy,
    from: &Ingredients,
    published: &Arc<PublishedKeys>,
    shop: &Arc<dyn Introspect>,
) -> Option<Verifier> {
    let backend = |strategy| crate::backends::build(strategy, from).ok().flatten();
    let verifier = match strategy {
        Strategy::Memory => Verifier::Cannot(MEMORY_OUT_OF_REACH),
        Strategy::Cookie => Verifier::Backend(backend(strategy)?),
        Strategy::Jwt => Verifier::Backend(Arc::new(JwtBackend::verifying(
            from.jwt.clone(),
            published.clone(),
            from.revocations.clone(),
            from.refresh_tokens.clone(),
        ))),
        Strategy::Hybrid => Verifier::Backend(Arc::new(HybridBackend::verifying(
            from.jwt.clone(),
            from.ttl,
            published.clone(),
            from.session_keys.clone(),
            from.revocations.clone(),
        ))),
        Strategy::Redis | Strategy::Memcached | Strategy::Sql | Strategy::CacheAside => {
            Verifier::Store(backend(strategy)?)
        }
        Strategy::SignedUrl => Verifier::Introspection {
            strategy,
            carriers: signed_url::CARRIERS,
            shop: shop.clone(),
        },
    };
    Some(verifier)
}

impl Verifier {
    /// How this verifier checks, in the catalogue's terms.
    pub fn trust(&self) -> Trust {
        match self {
            Verifier::Backend(backend) => backend.strategy().meta().second_service.trust,
            Verifier::Store(_) => Trust::StoreRead,
            Verifier::Introspection { .. } => Trust::Introspection,
            Verifier::Cannot(_) => Trust::Cannot,
        }
    }

    /// The session `request` carries, as the shop last stored or signed it.
    pub async fn verify(
        &self,
        strategy: Strategy,
        request: &Parts,
    ) -> Result<SessionData, Refused> {
        match self {
            Verifier::Backend(backend) => match backend.load(request).await {
                Ok(Some(loaded)) => Ok(loaded.data),
                Ok(None) => Err(Refused::NoSession(strategy)),
                Err(crate::LoadError::Unavailable(error)) => {
                    Err(Refused::Unavailable(error.to_string()))
                }
                Err(error) => Err(Refused::Invalid(error.to_string())),
            },
            Verifier::Store(backend) => {
                let id = backend
                    .presented_credential(request)
                    .ok_or(Refused::NoSession(strategy))?;
                match backend.stored(&SessionKey(id.into_owned())).await {
                    Ok(Stored::Found(data, _)) => Ok(data),
                    Ok(_) => Err(Refused::Invalid(
                        "no such session in the store: logged out, expired or never issued".into(),
                    )),
                    Err(error) => Err(Refused::Unavailable(error.to_string())),
                }
            }
            Verifier::Introspection {
                strategy,
                carriers,
                shop,
            } => {
                let token = carriers
                    .iter()
                    .find_map(|carrier| carrier.peek(request))
                    .ok_or(Refused::NoSession(*strategy))?;
                match shop.introspect(*strategy, &token).await {
                    Ok(Some(data)) => Ok(data),
                    Ok(None) => Err(Refused::Invalid(
                        "the shop says this credential is not active".into(),
                    )),
                    Err(error) => Err(Refused::Unavailable(error)),
                }
            }
            Verifier::Cannot(reason) => Err(Refused::OutOfReach(reason)),
        }
    }
}
