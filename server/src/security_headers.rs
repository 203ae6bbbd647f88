//! Headers every response carries, whatever the strategy: nothing is sniffed into another
//! content type, no page is framed by another site (clickjacking), Referer headers leave the
//! site with the origin only, and behind HTTPS browsers are told to stay on it (HSTS). The
//! session layer sets stricter ones where a page depends on the session (`no-store`, and
//! `no-referrer` where the URL carries the session), and pages their own Content-Security-Policy
//! with a nonce: those are kept (`if_not_present`).

use axum::Router;
use http::{
    header::{
        CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    },
    HeaderValue,
};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

/// `router` with the security headers on every response; HSTS only `over_https`
/// (`COOKIE_SECURE`).
pub fn add<S: Clone + Send + Sync + 'static>(router: Router<S>, over_https: bool) -> Router<S> {
    let hsts = over_https.then(|| {
        SetResponseHeaderLayer::overriding(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    // One layer of the router with the headers' layers inside it: each `Router::layer` boxes
    // every route once more, and three of them cost a twelfth of the no-session route's CPU
    // (`docs/PERFORMANCE.md`).
    router.layer(
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
                ),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ))
            .option_layer(hsts),
    )
}
