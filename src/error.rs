//! The session layer's errors, for the application to map onto its HTTP error shape.

use crate::{backend::BackendError, strategy::Strategy, strategy::UnknownStrategy};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    UnknownStrategy(#[from] UnknownStrategy),
    #[error("the {strategy} strategy is unavailable: {reason}")]
    Unavailable { strategy: Strategy, reason: String },
    #[error("the session needs a {bytes}-byte cookie but browsers keep at most {limit} bytes")]
    CookieTooLarge { bytes: usize, limit: usize },
    #[error("the session could not be stored: {0}")]
    Internal(String),
}

impl SessionError {
    /// Attributes a backend failure to the strategy it happened in.
    pub fn from_backend(strategy: Strategy, error: BackendError) -> Self {
        match error {
            BackendError::Unavailable(reason) => Self::Unavailable { strategy, reason },
            BackendError::TooLarge { bytes, limit } => Self::CookieTooLarge { bytes, limit },
            BackendError::Encode(reason) => Self::Internal(reason),
        }
    }
}
