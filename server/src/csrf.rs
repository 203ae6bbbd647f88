//! Cross-site request forgery: a state-changing request from a browser must come from this
//! site. Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`, else
//! `Referer`), and a form on another site cannot forge those; a request that names none of
//! them is not from a browser (curl, an API client) and is let through, as Go's
//! `CrossOriginProtection` does.
//!
//! No credential exempts a request, not even a Bearer or URL token that verifies: a forger can
//! hold a valid token of their own, and a forged form carrying it (`/sfn/login?s=<theirs>`,
//! a strategy switch) logs the victim's browser into the forger's account. Nothing legitimate
//! needs the exemption: the shop's own pages are same-origin, and API clients send no such
//! headers. See OWASP's CSRF cheat sheet, "Fetch Metadata headers" and "Verifying origin with
//! standard headers".

use app::error::{AppError, ErrorCode};
use axum::{
    extract::Request,
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use http::{
    header::{ACCEPT, HOST, ORIGIN, REFERER},
    request::Parts,
    HeaderName, StatusCode,
};
use session_strategies::trace::redact::redacted_path;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Use with `axum::middleware::from_fn`, outside the session layer.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    if from_another_site(&parts) {
        let path = redacted_path(parts.uri.path());
        tracing::warn!(method = %parts.method, %path, "refused a cross-site request");
        return refuse(&parts);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Whether the browser says the request comes from another site.
fn from_another_site(request: &Parts) -> bool {
    let header = |name: &HeaderName| {
        request
            .headers
            .get(name)
            .map(|value| value.to_str().unwrap_or("invalid"))
    };
    match header(&SEC_FETCH_SITE) {
        // `none`: the user typed or bookmarked it.
        Some("same-origin" | "none") => return false,
        Some(_) => return true,
        None => {}
    }
    let ours =
        header(&HOST).or_else(|| request.uri.authority().map(|authority| authority.as_str()));
    if let Some(origin) = header(&ORIGIN) {
        return origin == "null" || authority(origin) != ours;
    }
    if let Some(referer) = header(&REFERER) {
        return authority(referer) != ours;
    }
    false
}

/// `host:port` of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    rest.split(['/', '?', '#']).next()
}

/// `403 csrf`: a page for a form, the API's error shape for everything else.
fn refuse(request: &Parts) -> Response {
    let wants_page = request
        .headers
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        let page = Html(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Refused · Session Strategies</title></head><body><main>\
             <h1>This form came from another site</h1>\
             <p>Your session was not changed: the request that tried to change it was sent by \
             another site, which could have been an attack (cross-site request forgery).</p>\
             <p><a href=\"/\">Back to the shop</a></p></main></body></html>",
        );
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    AppError::new(
        ErrorCode::Csrf,
        "this request came from another site and was refused",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::post("/api/v1/cart/items");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn fetch_metadata_decides_first() {
        assert!(from_another_site(&parts(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(from_another_site(&parts(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(!from_another_site(&parts(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://evil.example"),
        ])));
    }

    #[test]
    fn origin_then_referer_must_name_this_host() {
        let host = ("host", "shop.test:3000");
        assert!(!from_another_site(&parts(&[
            host,
            ("origin", "http://shop.test:3000")
        ])));
        assert!(from_another_site(&parts(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(from_another_site(&parts(&[host, ("origin", "null")])));
        assert!(!from_another_site(&parts(&[
            host,
            ("referer", "http://shop.test:3000/cart?x")
        ])));
        assert!(from_another_site(&parts(&[
            host,
            ("referer", "https://evil.example/")
        ])));
        assert!(
            !from_another_site(&parts(&[host])),
            "no browser, no forgery"
        );
    }
}
