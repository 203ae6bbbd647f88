//! Every response says which instance served it, and every request gets one log line. Paths are
//! logged without their query string, which may carry a signed session token, and with link
//! tokens in them shortened.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::HeaderValue;
use std::time::Instant;

/// The `X-Instance` header.
pub const INSTANCE_HEADER: &str = "x-instance";

pub async fn stamp_and_log(
    State(instance): State<HeaderValue>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = session_strategies::trace::redacted_path(request.uri().path());
    let mut response = next.run(request).await;
    response.headers_mut().insert(INSTANCE_HEADER, instance);
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
