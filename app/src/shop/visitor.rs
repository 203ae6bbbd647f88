//! Who is asking, as far as the shop can tell: the client's address (for the per-address
//! limits), whether it is on this machine (the demo outbox and the cluster controls answer only
//! those), its browser (for "Your sessions") and its known-device cookie (for the login limits).
//!
//! The address is what the server worked out (`server/src/forwarded.rs`): the socket peer, or
//! behind a proxy of ours the hop that proxy added. `X-Forwarded-For` is never read here: a
//! client writes whatever it likes into it.

use std::net::IpAddr;

/// The client's address as the server worked it out, put in the request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

#[derive(Clone, Debug, Default)]
pub struct Visitor {
    pub address: Option<IpAddr>,
    /// The request named this machine (`Host` is a loopback name, or absent) from a loopback
    /// address: not a visitor that a proxy or a tunnel on this machine let in from outside.
    pub on_this_machine: bool,
    pub browser: String,
    /// The known-device token the browser holds, if any ([`super::known_devices`]).
    pub device: Option<String>,
}

impl Visitor {
    pub fn of(request: &http::request::Parts) -> Self {
        let address = request
            .extensions
            .get::<ClientAddress>()
            .map(|ClientAddress(address)| *address);
        let host = request
            .headers
            .get(http::header::HOST)
            .map(|value| value.to_str().unwrap_or(""));
        let browser = request
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map_or_else(|| "unknown".to_owned(), describe_browser);
        Self {
            address,
            on_this_machine: address.is_some_and(|address| address.is_loopback())
                && host.is_none_or(is_loopback_host),
            browser,
            device: super::known_devices::presented(request),
        }
    }

    /// The address as the limits count it (`None` in process, where there is no socket).
    pub fn address_key(&self) -> Option<String> {
        self.address.map(|address| address.to_string())
    }
}

/// Whether `host` (a `Host` header's value) names this machine: `localhost`, `127.x.y.z` or
/// `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host);
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The name part of `host:port`, `[v6]:port` or a bare name.
pub fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => host,
    }
}

/// "Chromium on Linux" rather than the whole user agent string.
fn describe_browser(agent: &str) -> String {
    let browser = ["Firefox", "Edg", "Chrome", "Chromium", "Safari", "curl"]
        .into_iter()
        .find(|name| agent.contains(name))
        .map(|name| if name == "Edg" { "Edge" } else { name });
    let system = ["Windows", "Mac OS", "Android", "iPhone", "Linux"]
        .into_iter()
        .find(|name| agent.contains(name));
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => agent.chars().take(40).collect(),
    }
}
