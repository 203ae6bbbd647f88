//! The whole router fed what an attacker might send in every place a client controls: the
//! strategy header, cookies, a Bearer token, a URL token, link tokens in paths. Never a 5xx:
//! bad input is a guest with a notice, a 400, a 401 or a 404, never a crash.

use crate::common::Client;
use axum::{body::Body, Router};
use http::{Method, Request};
use proptest::prelude::*;
use std::sync::OnceLock;
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

fn app() -> Router {
    static APP: OnceLock<Client> = OnceLock::new();
    APP.get_or_init(|| runtime().block_on(Client::new()))
        .app
        .clone()
}

/// The status the router answers `request` with.
fn status_of(request: Request<Body>) -> u16 {
    runtime()
        .block_on(app().oneshot(request))
        .unwrap()
        .status()
        .as_u16()
}

fn get(path: &str, header: Option<(&str, &str)>) -> Option<Request<Body>> {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(Body::empty()).ok()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,200}", "[A-Za-z0-9._~+/=%-]{0,400}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_strategy_header_makes_the_server_fail(value in text()) {
        if let Some(request) = get("/api/v1/session", Some(("x-session-strategy", &value))) {
            let status = status_of(request);
            prop_assert!(status < 500, "{value:?}: {status}");
        }
    }

    #[test]
    fn no_cookie_header_makes_the_server_fail(value in text(), name in "(sid|session|jwt|refresh|strategy)") {
        let cookie = format!("{name}={value}");
        if let Some(request) = get("/api/v1/session", Some(("cookie", &cookie))) {
            let status = status_of(request);
            prop_assert!(status < 500, "{cookie:?}: {status}");
        }
    }

    #[test]
    fn no_bearer_token_makes_the_server_fail(value in text()) {
        let header = format!("Bearer {value}");
        if let Some(request) = get("/api/v1/session", Some(("authorization", &header))) {
            let status = status_of(request);
            prop_assert!(status < 500, "{header:?}: {status}");
        }
    }

    #[test]
    fn no_url_or_link_token_makes_the_server_fail(value in "[A-Za-z0-9._~-]{1,300}") {
        for path in [
            format!("/api/v1/session?s={value}"),
            format!("/share/{value}"),
            format!("/magic/{value}"),
        ] {
            if let Some(request) = get(&path, None) {
                let status = status_of(request);
                prop_assert!(status < 500, "{path}: {status}");
            }
        }
    }
}
