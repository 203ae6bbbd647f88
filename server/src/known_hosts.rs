//! Answers only requests addressed to this site. A page on an attacker's domain can make the
//! browser send requests to `127.0.0.1` by re-pointing its own name there (DNS rebinding); the
//! browser then counts the answers as the attacker's own origin and lets its scripts read
//! them. Those requests still name the attacker's domain in `Host`, so a `Host` that is not a
//! loopback name and not in `ALLOWED_HOSTS` is refused (`400`), as Django's `ALLOWED_HOSTS`
//! does. A request without `Host` (HTTP/1.0, a test driving the router in process) names no
//! other site and is served.

use app::error::AppError;
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::header::HOST;
use std::{net::IpAddr, sync::Arc};

/// The hosts this site answers besides loopback names: `shop.example` or `shop.example:8443`.
#[derive(Clone, Debug, Default)]
pub struct KnownHosts(pub Arc<[String]>);

impl KnownHosts {
    /// Whether `host` (a `Host` header's value) names this site.
    pub fn knows(&self, host: &str) -> bool {
        is_loopback(host)
            || self.0.iter().any(|known| {
                known.eq_ignore_ascii_case(host) || known.eq_ignore_ascii_case(name(host))
            })
    }
}

/// The name part of `host:port`, `[v6]:port` or a bare name.
fn name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `localhost`, `127.x.y.z`, `[::1]`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    let name = name(host);
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Use with `axum::middleware::from_fn_with_state`, outermost.
pub async fn only(State(known): State<KnownHosts>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(HOST)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    match host {
        Some(host) if !known.knows(host) => {
            tracing::warn!(host, "refused a request for another host");
            AppError::bad_request("this server does not answer for that host").into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_configured_hosts_are_known_and_nothing_else() {
        let known = KnownHosts(Arc::from(vec!["shop.example".to_owned()]));
        for host in [
            "127.0.0.1:3000",
            "127.0.0.1",
            "localhost:3100",
            "LOCALHOST",
            "[::1]:3000",
            "127.8.9.10:80",
            "shop.example",
            "shop.example:8443",
        ] {
            assert!(known.knows(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "localhost.evil.example:3000",
            "shop.example.evil.example",
            "0.0.0.0:3000",
            "",
        ] {
            assert!(!known.knows(host), "{host}");
        }
    }
}
