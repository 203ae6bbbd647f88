//! The errors of the session core: why a load or a save failed in a backend ([`LoadError`],
//! [`BackendError`]), a store that does not answer ([`Unavailable`]), and what the layer and
//! the handle report to the application ([`SessionError`]), which maps them onto its HTTP
//! error shape.

use super::transport::Carrier;
use crate::strategy::{Strategy, UnknownStrategy};
use async_trait::async_trait;

/// Why a request's session could not be loaded. Expired and invalid sessions are served as a
/// fresh guest with a notice; an unavailable store is an error for the whole request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("the session has expired")]
    Expired,
    #[error("the session credential is invalid: {0}")]
    Invalid(&'static str),
    /// A well-formed id this store holds nothing under: never issued, ended, or, for a store
    /// inside one process, held by another instance.
    #[error("no session under this id here")]
    Unknown,
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// A credential the client presented itself (a Bearer token) is bad: the request is refused
    /// rather than quietly served as a guest.
    #[error("the presented credential is {}", if *.expired { "expired" } else { "invalid" })]
    Rejected { expired: bool },
}

impl LoadError {
    /// A credential that does not pass, as `carrier` brought it: a cookie, which the browser
    /// sends by itself, is dropped and the visitor served as a guest (told when it had only
    /// expired); a Bearer or URL credential, which the client chose to send, is refused.
    pub fn refused(carrier: Carrier, expired: bool, reason: &'static str) -> Self {
        match carrier {
            Carrier::Cookie(_) if expired => Self::Expired,
            Carrier::Cookie(_) => Self::Invalid(reason),
            Carrier::Bearer | Carrier::UrlParam(_) => Self::Rejected { expired },
        }
    }
}

/// Why a save or destroy failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("the session needs {bytes} bytes but a cookie holds at most {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the session could not be encoded: {0}")]
    Encode(String),
    /// The stored copy changed (another write came first) or was deleted since it was read:
    /// nothing was written.
    #[error("the stored session changed since it was read")]
    Conflict,
}

/// A store that does not answer, and why: the reason is for logs and health checks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the session store is unavailable: {reason}")]
pub struct Unavailable {
    pub reason: String,
}

impl Unavailable {
    pub fn new(reason: impl std::fmt::Display) -> Self {
        Self {
            reason: reason.to_string(),
        }
    }
}

/// Whether a store answers right now, or why not.
#[async_trait]
pub trait Availability: Send + Sync + 'static {
    /// Cheap enough for every request; may lag a moment behind reality.
    async fn check(&self) -> Result<(), Unavailable>;

    /// A round trip to the store, for health checks.
    async fn probe(&self) -> Result<(), Unavailable> {
        self.check().await
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    UnknownStrategy(#[from] UnknownStrategy),
    #[error("the {strategy} strategy is unavailable: {reason}")]
    Unavailable { strategy: Strategy, reason: String },
    #[error("the session needs a {bytes}-byte cookie but browsers keep at most {limit} bytes")]
    CookieTooLarge { bytes: usize, limit: usize },
    /// The client's own credential (a Bearer token, a refresh token) was refused.
    #[error("the credential is {}", if *.expired { "expired" } else { "invalid or revoked" })]
    Rejected { expired: bool },
    #[error("the session could not be stored: {0}")]
    Internal(String),
    /// The session was ended (logged out) while this request was changing it: nothing was
    /// written, since a write must never bring an ended session back.
    #[error("the session ended while this request was changing it; nothing was saved")]
    Ended,
    /// Other writes to the session kept coming first, however often this one re-applied its
    /// change: nothing was written, the client may try again.
    #[error("the session was changed by other requests too often at once; nothing was saved")]
    Conflict,
    /// A handler asked for the session on a route the session layer does not cover.
    #[error("the session layer is not installed on this route")]
    LayerMissing,
}

impl SessionError {
    /// Attributes a backend failure to the strategy it happened in.
    pub fn from_backend(strategy: Strategy, error: BackendError) -> Self {
        match error {
            BackendError::Unavailable(unavailable) => Self::Unavailable {
                strategy,
                reason: unavailable.reason,
            },
            BackendError::TooLarge { bytes, limit } => Self::CookieTooLarge { bytes, limit },
            BackendError::Encode(reason) => Self::Internal(reason),
            BackendError::Conflict => Self::Conflict,
        }
    }

    /// Attributes a load failure that refuses the request to the strategy it happened in.
    pub fn from_load(strategy: Strategy, error: LoadError) -> Self {
        match error {
            LoadError::Unavailable(unavailable) => Self::Unavailable {
                strategy,
                reason: unavailable.reason,
            },
            LoadError::Expired | LoadError::Rejected { expired: true } => {
                Self::Rejected { expired: true }
            }
            LoadError::Invalid(_) | LoadError::Unknown | LoadError::Rejected { expired: false } => {
                Self::Rejected { expired: false }
            }
        }
    }
}
