//! Extractors whose rejections use the API's error shape instead of axum's plain text.

use app::error::AppError;
use axum::extract::{
    rejection::JsonRejection, rejection::PathRejection, FromRequest, FromRequestParts,
};

/// A JSON body; a malformed one is `400 bad_request`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiRejection))]
pub struct ApiJson<T>(pub T);

/// A path parameter; a malformed one is `400 bad_request`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiRejection))]
pub struct ApiPath<T>(pub T);

/// A rejected request, rendered as an [`AppError`].
pub struct ApiRejection(AppError);

impl From<JsonRejection> for ApiRejection {
    fn from(rejection: JsonRejection) -> Self {
        Self(AppError::bad_request(rejection.body_text()))
    }
}

impl From<PathRejection> for ApiRejection {
    fn from(rejection: PathRejection) -> Self {
        Self(AppError::bad_request(rejection.body_text()))
    }
}

impl axum::response::IntoResponse for ApiRejection {
    fn into_response(self) -> axum::response::Response {
        self.0.into_response()
    }
}
