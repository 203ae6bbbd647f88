//! Reading what a request carries, shared by the backends and the layer.

use axum_extra::extract::cookie::CookieJar;
use http::request::Parts;

/// The raw value of the request cookie `name`, if sent.
pub fn request_cookie(request: &Parts, name: &str) -> Option<String> {
    CookieJar::from_headers(&request.headers)
        .get(name)
        .map(|cookie| cookie.value().to_owned())
}
