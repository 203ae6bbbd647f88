//! Headers every response carries, whatever the strategy: nothing is sniffed into another
//! content type, no page is framed by another site (clickjacking), Referer headers leave the
//! site with the origin only, and behind HTTPS browsers are told to stay on it (HSTS). The
//! session layer sets stricter ones where a page depends on the session (`no-store`, and
//! `no-referrer` where the URL carries the session); those are kept.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::{
    header::{
        CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    },
    HeaderValue,
};

/// Whether the site is served over HTTPS (`COOKIE_SECURE`), which decides HSTS.
#[derive(Clone, Copy)]
pub struct OverHttps(pub bool);

pub async fn add(State(https): State<OverHttps>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ));
    headers
        .entry(REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    if https.0 {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}
