//! Where a request comes from and whom it is for, checked once, outermost.
//!
//! **Host.** A page on an attacker's domain can make the browser send requests to `127.0.0.1`
//! by re-pointing its own name there (DNS rebinding); the browser then counts the answers as
//! the attacker's own origin and lets its scripts read them. Those requests still name the
//! attacker's domain in `Host`, so a `Host` that is not a loopback name and not in
//! `ALLOWED_HOSTS` is refused (`400`), as Django's `ALLOWED_HOSTS` does. A request without
//! `Host` (HTTP/1.0, a test driving the router in process) names no other site and is served.
//!
//! **Client address**, for the per-address limits and the "this machine only" pages: the
//! socket peer, or when this instance sits behind a proxy of ours (`BEHIND_PROXY`, which the
//! cluster run sets) the hop that proxy added to `X-Forwarded-For`. A client writes whatever it
//! likes into that header, so it is read only behind a proxy, only from a loopback peer (the
//! proxy), and only its last hop: the one the proxy added after everything the client wrote
//! (the cluster's HAProxy also replaces the header). Any other proxy or tunnel on this machine
//! without `BEHIND_PROXY` makes every client one loopback address: limits counted together,
//! and no "this machine" page served to a `Host` that is not a loopback name
//! (`app/src/shop/visitor.rs`).

use app::{
    error::AppError,
    shop::visitor::{host_name, is_loopback_host, ClientAddress},
};
use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::header::HOST;
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// What the check needs to know of this instance.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    /// The hosts this site answers besides loopback names: `shop.example` or
    /// `shop.example:8443`.
    pub hosts: Arc<[String]>,
    /// This instance sits behind a proxy of ours on this machine.
    pub behind_proxy: bool,
}

impl Origins {
    /// Whether `host` (a `Host` header's value) names this site.
    pub fn knows(&self, host: &str) -> bool {
        is_loopback_host(host)
            || self.hosts.iter().any(|known| {
                known.eq_ignore_ascii_case(host) || known.eq_ignore_ascii_case(host_name(host))
            })
    }

    /// The client's address: the socket peer, or behind our proxy the hop it forwarded.
    fn client_address(&self, request: &Request) -> Option<IpAddr> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())?;
        if self.behind_proxy && peer.is_loopback() {
            return Some(last_forwarded_hop(request.headers()).unwrap_or(peer));
        }
        Some(peer)
    }
}

/// Use with `axum::middleware::from_fn_with_state`, outermost: refuses other hosts, and puts
/// the [`ClientAddress`] in the request.
pub async fn check(
    State(origins): State<Arc<Origins>>,
    mut request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(HOST)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    if let Some(host) = host.filter(|host| !origins.knows(host)) {
        tracing::warn!(host, "refused a request for another host");
        return AppError::bad_request("this server does not answer for that host").into_response();
    }
    if let Some(address) = origins.client_address(&request) {
        request.extensions_mut().insert(ClientAddress(address));
    }
    next.run(request).await
}

/// The last hop of the last `X-Forwarded-For` line, if it is an address.
fn last_forwarded_hop(headers: &http::HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_configured_hosts_are_known_and_nothing_else() {
        let known = Origins {
            hosts: Arc::from(vec!["shop.example".to_owned()]),
            behind_proxy: false,
        };
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

    #[test]
    fn only_the_last_hop_of_the_last_line_counts() {
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", "127.0.0.1".parse().unwrap());
        headers.append("x-forwarded-for", "10.0.0.9, 192.0.2.7".parse().unwrap());
        assert_eq!(last_forwarded_hop(&headers), "192.0.2.7".parse().ok());
        headers.append("x-forwarded-for", "unknown".parse().unwrap());
        assert_eq!(last_forwarded_hop(&headers), None);
    }
}
