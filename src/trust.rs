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
//! Whichever way, a session past its absolute timeout, or whose login was ended from another
//! device, is refused as the shop's session layer refuses it. [`build`] is the one place that
//! says which way, as [`crate::backends::build`] is for the shop.

use crate::{
    backends::{
        hybrid::HybridBackend,
        jwt::{Algorithm, JwtBackend},
        signed_url, Ingredients,
    },
    crypto::published_keys::PublishedKeys,
    session::{
        backend::{SessionBackend, SessionKey, Stored},
        data::SessionData,
        error::Unavailable,
        registry::LoginLedger,
        transport::{self, Carrier},
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
pub struct Verifier {
    strategy: Strategy,
    how: How,
    /// Logins ended from another device, as the revocation ledger announces them.
    logins: Arc<dyn LoginLedger>,
}

enum How {
    /// The strategy's own backend, verify-only, over the shop's published public keys.
    Signature(Arc<dyn SessionBackend>),
    /// The strategy's own backend, loading (never saving) with the key the shop shares.
    SharedKey(Arc<dyn SessionBackend>),
    /// The strategy's backend, asked only for the stored copy under the presented id.
    Store(Arc<dyn SessionBackend>),
    /// The shop, asked about the credential these carriers bring.
    Introspection(&'static [Carrier], Arc<dyn Introspect>),
    Cannot(&'static str),
}

/// Why the second service cannot check the tokens of a shop that signs with HS256.
const HMAC_OUT_OF_REACH: &str = "the shop signs its tokens with HS256: only the shop holds that key, since whoever can verify with it can mint";

/// What a second service is given to check the shop's sessions with, besides the stores and
/// ledgers of [`Ingredients`].
pub struct Given {
    /// The keys the shop publishes.
    pub published: Arc<PublishedKeys>,
    /// A way to ask the shop about a credential.
    pub shop: Arc<dyn Introspect>,
    /// Logins ended from another device, as the revocation ledger announces them.
    pub logins: Arc<dyn LoginLedger>,
}

/// How the second service checks `strategy`'s sessions, built from the stores and ledgers in
/// `from` (its JWT settings name the algorithm, issuer and audience; their keys are not used)
/// and what it was `given`. `None` when a store the strategy needs is not configured. Its
/// `JWT_ALGORITHM` must be the shop's: under HS256 it checks no token.
pub fn build(strategy: Strategy, from: &Ingredients, given: &Given) -> Option<Verifier> {
    let published = &given.published;
    let backend = || crate::backends::build(strategy, from).ok().flatten();
    let signs_with_hmac = from.jwt.algorithm != Algorithm::EdDSA;
    let how = match strategy {
        Strategy::Memory => How::Cannot(Strategy::Memory.meta().second_service.needs),
        Strategy::Cookie => How::SharedKey(backend()?),
        Strategy::Jwt | Strategy::Hybrid if signs_with_hmac => How::Cannot(HMAC_OUT_OF_REACH),
        Strategy::Jwt => How::Signature(Arc::new(JwtBackend::verifying(
            from.jwt.clone(),
            published.clone(),
            from.revocations.clone(),
            from.refresh_tokens.clone(),
        ))),
        Strategy::Hybrid => How::Signature(Arc::new(HybridBackend::verifying(
            from.jwt.clone(),
            from.ttl,
            published.clone(),
            from.session_keys.clone(),
            from.revocations.clone(),
        ))),
        Strategy::Redis | Strategy::Memcached | Strategy::Sql | Strategy::CacheAside => {
            How::Store(backend()?)
        }
        Strategy::SignedUrl => How::Introspection(signed_url::CARRIERS, given.shop.clone()),
    };
    Some(Verifier {
        strategy,
        how,
        logins: given.logins.clone(),
    })
}

/// Why the shop's session layer would refuse `data` whatever its strategy: past its absolute
/// timeout, or its login ended from another device ("log out everywhere"). What the orders
/// service and the shop's introspection check on top of the strategy's own verification.
pub async fn lifetime_refusal(
    data: &SessionData,
    logins: Option<&dyn LoginLedger>,
) -> Result<Option<&'static str>, Unavailable> {
    if data.is_past_max_age() {
        return Ok(Some("the session is past its absolute timeout"));
    }
    match (logins, &data.login) {
        (Some(logins), Some(login)) if logins.is_ended(login).await? => {
            Ok(Some("this login was ended from another device"))
        }
        _ => Ok(None),
    }
}

impl Verifier {
    /// How this verifier checks, in the catalogue's terms.
    pub fn trust(&self) -> Trust {
        match self.how {
            How::Signature(_) => Trust::PublicKeys,
            How::SharedKey(_) => Trust::SharedKey,
            How::Store(_) => Trust::StoreRead,
            How::Introspection(..) => Trust::Introspection,
            How::Cannot(_) => Trust::Cannot,
        }
    }

    /// Whether `request` carries this strategy's own credential where no other strategy's
    /// could be (a Bearer header, a URL parameter), as the shop's backends tell it.
    pub fn recognizes(&self, request: &Parts) -> bool {
        match &self.how {
            How::Signature(backend) | How::SharedKey(backend) | How::Store(backend) => {
                backend.recognizes(request)
            }
            How::Introspection(carriers, _) => transport::carries_own(carriers, request),
            How::Cannot(_) => false,
        }
    }

    /// The session `request` carries, as the shop last stored or signed it.
    pub async fn verify(&self, request: &Parts) -> Result<SessionData, Refused> {
        let data = self.read(request).await?;
        match lifetime_refusal(&data, Some(&*self.logins)).await {
            Ok(None) => Ok(data),
            Ok(Some(reason)) => Err(Refused::Invalid(reason.into())),
            Err(error) => Err(Refused::Unavailable(error.to_string())),
        }
    }

    async fn read(&self, request: &Parts) -> Result<SessionData, Refused> {
        let none = || Refused::NoSession(self.strategy);
        match &self.how {
            How::Signature(backend) | How::SharedKey(backend) => {
                match backend.load(request).await {
                    Ok(Some(loaded)) => Ok(loaded.data),
                    Ok(None) => Err(none()),
                    Err(crate::LoadError::Unavailable(error)) => {
                        Err(Refused::Unavailable(error.to_string()))
                    }
                    Err(error) => Err(Refused::Invalid(error.to_string())),
                }
            }
            How::Store(backend) => {
                let id = backend.presented_credential(request).ok_or_else(none)?;
                match backend.stored(&SessionKey(id.into_owned())).await {
                    Ok(Stored::Found(data, _)) => Ok(data),
                    Ok(_) => Err(Refused::Invalid(
                        "no such session in the store: logged out, expired or never issued".into(),
                    )),
                    Err(error) => Err(Refused::Unavailable(error.to_string())),
                }
            }
            How::Introspection(carriers, shop) => {
                let token = transport::presented(carriers, request).ok_or_else(none)?;
                match shop.introspect(self.strategy, &token).await {
                    Ok(Some(data)) => Ok(data),
                    Ok(None) => Err(Refused::Invalid(
                        "the shop says this credential is not active".into(),
                    )),
                    Err(error) => Err(Refused::Unavailable(error)),
                }
            }
            How::Cannot(reason) => Err(Refused::OutOfReach(reason)),
        }
    }
}
