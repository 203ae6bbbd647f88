//! The session layer's errors, for the application to map onto its HTTP error shape.

use crate::{
    backend::{BackendError, LoadError},
    strategy::{Strategy, UnknownStrategy},
};

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
