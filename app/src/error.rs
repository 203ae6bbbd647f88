//! One error type for the shop, the same for server functions and the JSON API.
//!
//! It carries a stable code and a message meant for the user; internal causes are logged where
//! they happen and never reach the client.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use std::fmt;

/// The API's error codes (the OpenAPI document's `ErrorCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthenticated,
    InvalidCredentials,
    NotFound,
    InvalidQuantity,
    CookieTooLarge,
    StrategyUnknown,
    StrategyUnavailable,
    SessionExpired,
    SessionInvalid,
    LinkInvalid,
    LinkExpired,
    LinkUsed,
    /// A state-changing request carried by a cookie came from another site.
    Csrf,
    /// Allowed from this machine only (the demo outbox, the cluster run's controls).
    Forbidden,
    /// Too many attempts (logins, magic links, measurements) for this username, address or
    /// session: try again after `Retry-After`.
    TooManyAttempts,
    /// The session changed under the request in a way it cannot follow (it was ended).
    Conflict,
    /// Another service the request needs (the orders service) does not answer.
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    /// The code as the API spells it (`invalid_quantity`), for `?error=` in URLs.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The HTTP status the code is sent with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::InvalidQuantity
            | ErrorCode::StrategyUnknown
            | ErrorCode::LinkInvalid => 400,
            ErrorCode::LinkExpired | ErrorCode::LinkUsed => 410,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::SessionExpired
            | ErrorCode::SessionInvalid => 401,
            ErrorCode::Csrf | ErrorCode::Forbidden => 403,
            ErrorCode::TooManyAttempts => 429,
            ErrorCode::Conflict => 409,
            ErrorCode::NotFound => 404,
            ErrorCode::CookieTooLarge => 413,
            ErrorCode::StrategyUnavailable | ErrorCode::ServiceUnavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// Every error response's body: `{"error": {"code": …, "message": …}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable code for programs, a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

/// A failure the user can be told about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Overrides the code's usual status (`422` for checking out an empty cart).
    #[serde(skip)]
    pub status: Option<u16>,
    /// Seconds the client should wait before trying again (`Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn status(&self) -> u16 {
        self.status.unwrap_or(self.code.status())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "log in first")
    }

    /// An internal failure: the cause goes to the log, the client gets a generic message.
    pub fn internal(cause: impl fmt::Display) -> Self {
        #[cfg(feature = "ssr")]
        tracing::error!(%cause, "internal error");
        #[cfg(not(feature = "ssr"))]
        let _ = cause.to_string();
        Self::new(ErrorCode::Internal, "something went wrong on our side")
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                Self::bad_request(format!("the request could not be read: {message}"))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                Self::new(ErrorCode::Internal, "the server could not be reached")
            }
            other => Self::internal(other),
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::reject_session;

#[cfg(feature = "ssr")]
mod ssr {
    use super::{AppError, ErrorBody, ErrorCode, ErrorDetail};
    use crate::shop::attempts::TooManyAttempts;
    use axum::{
        http::StatusCode,
        response::{IntoResponse, Response},
        Json,
    };
    use session_strategies::{session::data::CartError, SessionError};

    impl From<SessionError> for AppError {
        fn from(error: SessionError) -> Self {
            match &error {
                SessionError::UnknownStrategy(_) => {
                    AppError::new(ErrorCode::StrategyUnknown, error.to_string())
                }
                // The store's own error text is for the log, not for whoever asked.
                // A store that is away comes back by itself (a restart, a failover, a node that
                // returns): the client is told to try again in a second.
                SessionError::Unavailable { strategy, reason } => {
                    tracing::warn!(%strategy, reason, "a session store is unavailable");
                    let mut unavailable = AppError::new(
                        ErrorCode::StrategyUnavailable,
                        format!(
                            "the {strategy} strategy is unavailable: its store does not answer"
                        ),
                    );
                    unavailable.retry_after = Some(1);
                    unavailable
                }
                SessionError::CookieTooLarge { .. } => {
                    AppError::new(ErrorCode::CookieTooLarge, error.to_string())
                }
                SessionError::Rejected { expired: true } => {
                    AppError::new(ErrorCode::SessionExpired, error.to_string())
                }
                SessionError::Rejected { expired: false } => {
                    AppError::new(ErrorCode::SessionInvalid, error.to_string())
                }
                SessionError::Ended | SessionError::Conflict => {
                    AppError::new(ErrorCode::Conflict, error.to_string())
                }
                SessionError::Internal(_) | SessionError::LayerMissing => AppError::internal(error),
            }
        }
    }

    /// A session error as the response the session layer and extractor send.
    pub fn reject_session(error: SessionError) -> Response {
        AppError::from(error).into_response()
    }

    impl From<CartError> for AppError {
        fn from(error: CartError) -> Self {
            match error {
                CartError::Quantity(_) => {
                    AppError::new(ErrorCode::InvalidQuantity, error.to_string())
                }
                CartError::TooManyLines => AppError::bad_request(error.to_string()),
            }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            AppError::internal(error)
        }
    }

    impl From<TooManyAttempts> for AppError {
        fn from(refused: TooManyAttempts) -> Self {
            // The same counters ration logins, magic links and measurements.
            let wait = match refused.retry_after {
                1 => "a second".to_owned(),
                seconds @ 2..=90 => format!("{seconds} seconds"),
                seconds => format!("{} minutes", seconds.div_ceil(60)),
            };
            let mut error = AppError::new(
                ErrorCode::TooManyAttempts,
                format!("Too many attempts: try again in {wait}."),
            );
            error.retry_after = Some(refused.retry_after);
            error
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let retry_after = self.retry_after;
            let body = ErrorBody {
                error: ErrorDetail {
                    code: self.code,
                    message: self.message,
                },
            };
            let mut response = (status, Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
            response
        }
    }
}
