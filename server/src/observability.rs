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
    // What the log line names, only when it is written (a server logging at `warn` serves tens
    // of thousands of requests a second).
    let logged = tracing::enabled!(tracing::Level::INFO).then(|| {
        (
            request.method().clone(),
            session_strategies::trace::redact::redacted_path(request.uri().path()).into_owned(),
        )
    });
    let mut response = next.run(request).await;
    response.headers_mut().insert(INSTANCE_HEADER, instance);
    if let Some((method, path)) = logged {
        tracing::info!(
            %method,
            path,
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    response
}
