//! How a session credential travels between client and server, and what it costs on the wire.
//!
//! A backend says where its credentials travel with [`Carrier`]s; everything else (the layer,
//! the inspector, the measurements behind `/compare`, the pages that write URL tokens into
//! links) asks the carrier instead of assuming a cookie, a header or a query parameter. This
//! file is the only place that parses an `Authorization` header, reads a query parameter or
//! counts a credential's bytes.

use axum_extra::extract::cookie::Cookie;
use http::{
    header::{AUTHORIZATION, COOKIE},
    request::Parts,
    HeaderMap, Request,
};
use std::{borrow::Cow, ops::Range, time::Duration};

/// Something the client must store or forget. Backends never write to the response: they
/// return these, and the layer turns cookies into `Set-Cookie` headers with one set of security
/// flags (so no strategy can forget `HttpOnly`); a credential goes back in the response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientChange {
    SetCookie {
        name: &'static str,
        value: String,
        max_age: Duration,
    },
    RemoveCookie {
        name: &'static str,
    },
    /// A value the client must send back itself where cookies do not carry it: in the
    /// backend's first carrier that is not a cookie (a Bearer token, a URL token).
    Credential(String),
    /// A refresh token for clients that keep their own tokens (API clients).
    RefreshToken(String),
}

/// One way a credential reaches the server with every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// A cookie of this name: the browser sends it by itself.
    Cookie(&'static str),
    /// `Authorization: Bearer <token>` (RFC 6750): API clients send it themselves.
    Bearer,
    /// A query parameter of this name in every URL: links, forms and redirects carry it.
    UrlParam(&'static str),
}

/// The `Authorization` scheme of a bearer token (RFC 6750 section 2.1).
pub const BEARER_SCHEME: &str = "Bearer";

/// The first of `carriers` that is not a cookie: where a client sends the credential itself (a
/// Bearer token, a URL token), if the strategy has such a carrier.
pub fn own_carrier(carriers: &[Carrier]) -> Option<Carrier> {
    carriers
        .iter()
        .copied()
        .find(|carrier| !carrier.is_cookie())
}

/// Whether `request` carries a credential in one of `carriers` that is not a cookie.
pub fn carries_own(carriers: &[Carrier], request: &Parts) -> bool {
    carriers
        .iter()
        .any(|carrier| !carrier.is_cookie() && carrier.peek(request).is_some())
}

/// The credential in the first of `carriers` that `request` has.
pub fn presented<'r>(carriers: &[Carrier], request: &'r Parts) -> Option<Cow<'r, str>> {
    carriers.iter().find_map(|carrier| carrier.peek(request))
}

impl Carrier {
    /// The credential this carrier brings in `request`, if any.
    pub fn read(self, request: &Parts) -> Option<String> {
        self.peek(request).map(Cow::into_owned)
    }

    /// The credential this carrier brings in `request`, borrowed from the request where it
    /// can be: a JWT is most of a kilobyte, and a read looks at it four or five times (the
    /// strategy, the trace, the backend, the bytes carried).
    pub fn peek(self, request: &Parts) -> Option<Cow<'_, str>> {
        match self {
            Carrier::Cookie(name) => peek_cookie(request, name),
            Carrier::Bearer => bearer_token(request).map(Cow::Borrowed),
            Carrier::UrlParam(name) => query_value(request, name).map(Cow::Borrowed),
        }
    }

    /// Bytes the credential adds to every request: `name=value` for a cookie or a query
    /// parameter, `Bearer value` for the header.
    pub fn wire_bytes(self, value: &str) -> usize {
        match self {
            Carrier::Cookie(name) | Carrier::UrlParam(name) => name.len() + 1 + value.len(),
            Carrier::Bearer => BEARER_SCHEME.len() + 1 + value.len(),
        }
    }

    /// `cookie`, `header` or `url`, as the inspector labels a credential.
    pub fn kind(self) -> &'static str {
        match self {
            Carrier::Cookie(_) => "cookie",
            Carrier::Bearer => "header",
            Carrier::UrlParam(_) => "url",
        }
    }

    /// The cookie's or parameter's name, or `Authorization`.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::Cookie(name) | Carrier::UrlParam(name) => name,
            Carrier::Bearer => "Authorization",
        }
    }

    /// Whether the browser sends it without the page's help (a cookie) or the client must put
    /// it in each request itself (a header, a URL).
    pub fn is_cookie(self) -> bool {
        matches!(self, Carrier::Cookie(_))
    }

    /// A request that carries `value` as this carrier does, and nothing else: how the shop
    /// checks a credential another service sends it (token introspection). `None` if `value`
    /// cannot travel this way.
    pub fn carry(self, value: &str) -> Option<Parts> {
        let request = http::Request::builder();
        let request = match self {
            Carrier::Cookie(name) => {
                request.header(http::header::COOKIE, format!("{name}={value}"))
            }
            Carrier::Bearer => request.header(AUTHORIZATION, format!("{BEARER_SCHEME} {value}")),
            Carrier::UrlParam(name) => {
                if value.contains(['&', '#', '=']) {
                    return None;
                }
                request.uri(format!("/?{name}={value}"))
            }
        };
        request.body(()).ok().map(|request| request.into_parts().0)
    }
}

/// The query parameter among `carriers`, if the credential travels in URLs: then every link,
/// form and redirect of a page must carry it, and pages must keep URLs out of Referer headers
/// and caches.
pub fn url_param(carriers: &[Carrier]) -> Option<&'static str> {
    carriers.iter().find_map(|carrier| match carrier {
        Carrier::UrlParam(name) => Some(*name),
        _ => None,
    })
}

/// The prefix of every cookie name on a site served over HTTPS (RFC 6265bis section 4.1.3.2):
/// browsers accept such a cookie only with `Secure`, `Path=/` and no `Domain`, so neither a
/// plain-HTTP page nor a subdomain can plant or overwrite a session cookie.
pub const HOST_PREFIX: &str = "__Host-";

/// Marks a request to a site served over HTTPS: its cookies carry [`HOST_PREFIX`]. The layer
/// puts it in the request's extensions; backends never see prefixed names.
#[derive(Clone, Copy, Debug)]
pub struct HostPrefixedCookies;

/// The name cookie `name` has on the wire for `request`.
pub fn wire_name<'a>(request: &Parts, name: &'a str) -> std::borrow::Cow<'a, str> {
    cookie_name(
        name,
        request.extensions.get::<HostPrefixedCookies>().is_some(),
    )
}

/// Cookie `name` as it travels: with [`HOST_PREFIX`] on a site served over HTTPS.
pub fn cookie_name(name: &str, over_https: bool) -> std::borrow::Cow<'_, str> {
    if over_https {
        format!("{HOST_PREFIX}{name}").into()
    } else {
        name.into()
    }
}

/// The value of the request cookie `name`, if sent (under its wire name), decoded as a
/// `CookieJar` would decode it, with the last of several same-named cookies winning as there.
///
/// Every request asks for several cookies (the strategy, each carrier, the trace's credential,
/// the bytes it carries) and a JWT cookie is most of a kilobyte: the session layer parses the
/// header once into [`RequestCookies`] and this reads that. A request the layer has not seen
/// (a test's, the measurements' synthetic ones) is scanned for the name, decoding only that
/// pair.
pub fn request_cookie(request: &Parts, name: &str) -> Option<String> {
    peek_cookie(request, name).map(Cow::into_owned)
}

/// [`request_cookie`], borrowed from the layer's [`RequestCookies`] when it parsed them.
fn peek_cookie<'r>(request: &'r Parts, name: &str) -> Option<Cow<'r, str>> {
    let wanted = wire_name(request, name);
    if let Some(cookies) = request.extensions.get::<RequestCookies>() {
        return cookies.get(&wanted).map(Cow::Borrowed);
    }
    cookie_pairs(&request.headers)
        .filter(|(pair_name, _)| *pair_name == wanted)
        .filter_map(|(_, pair)| decoded_value(pair))
        .next_back()
}

/// A request's cookies, parsed once by the session layer and kept in the request's
/// extensions: scanning and decoding the header for each of the five or six cookie reads of a
/// request was a fourteenth of a JWT session read. Names are kept as sent (wire names), names
/// and values back to back in one string (one copy of the header, not two per cookie).
#[derive(Clone, Debug, Default)]
pub struct RequestCookies {
    text: String,
    /// Each cookie's name and value, as ranges of `text`, in the order sent.
    pairs: Vec<(Range<usize>, Range<usize>)>,
}

impl RequestCookies {
    /// Every cookie in `headers` that a `CookieJar` would accept, in order.
    pub fn of(headers: &HeaderMap) -> Self {
        let mut cookies = Self::default();
        for (name, pair) in cookie_pairs(headers) {
            let Some(value) = decoded_value(pair) else {
                continue;
            };
            let name = cookies.push(name);
            let value = cookies.push(&value);
            cookies.pairs.push((name, value));
        }
        cookies
    }

    fn push(&mut self, part: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(part);
        start..self.text.len()
    }

    /// The value of the last cookie sent under `wire_name`.
    fn get(&self, wire_name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(name, _)| self.text.get(name.clone()) == Some(wire_name))
            .and_then(|(_, value)| self.text.get(value.clone()))
    }
}

/// Each `name=value` pair of the request's `Cookie` headers with its trimmed name.
fn cookie_pairs(headers: &HeaderMap) -> impl DoubleEndedIterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Some((pair.split_once('=')?.0.trim(), pair)))
}

/// A pair's value as a `CookieJar` decodes it, or `None` where the jar would drop the pair.
fn decoded_value(pair: &str) -> Option<Cow<'_, str>> {
    // Percent-decoding walks the value byte by byte: only a value with a `%` needs it (base64
    // credentials never do).
    if pair.contains('%') {
        return Some(Cow::Owned(
            Cookie::parse_encoded(pair).ok()?.value().to_owned(),
        ));
    }
    // What `Cookie::parse` does with a pair that has no attributes (a `Cookie` header's pairs
    // never do), without building a cookie around a kilobyte of JWT: split at the first `=`,
    // trim both sides, refuse an empty name.
    let (name, value) = pair.split_once('=')?;
    (!name.trim().is_empty()).then(|| Cow::Borrowed(value.trim()))
}

/// The token of an `Authorization: Bearer` header. Another scheme (`Basic`, say) is not a
/// bearer token and gives `None`; the scheme is case-insensitive (RFC 9110 section 11.1).
pub fn bearer_token(request: &Parts) -> Option<&str> {
    let value = request.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case(BEARER_SCHEME)
        .then(|| token.trim())
}

/// The raw value of query parameter `name`, if present (the first one).
pub fn query_param(request: &Parts, name: &str) -> Option<String> {
    query_value(request, name).map(str::to_owned)
}

fn query_value<'r>(request: &'r Parts, name: &str) -> Option<&'r str> {
    let query = request.uri.query()?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// What a client sends with each request after `changes`, measured over `carriers`: the
/// cookies it was given, or where a strategy sets none, its credential in the first carrier
/// that is not a cookie. `None` when the changes give the client nothing to send.
pub fn client_bytes(carriers: &[Carrier], changes: &[ClientChange]) -> Option<usize> {
    let cookies: usize = changes
        .iter()
        .map(|change| match change {
            ClientChange::SetCookie { name, value, .. } => Carrier::Cookie(name).wire_bytes(value),
            _ => 0,
        })
        .sum();
    if cookies > 0 {
        return Some(cookies);
    }
    let carrier = carriers.iter().find(|carrier| !carrier.is_cookie())?;
    changes.iter().find_map(|change| match change {
        ClientChange::Credential(value) => Some(carrier.wire_bytes(value)),
        _ => None,
    })
}

/// The bytes of every credential `request` presents over `carriers`.
pub fn presented_bytes(carriers: &[Carrier], request: &Parts) -> usize {
    carriers
        .iter()
        .filter_map(|carrier| {
            carrier
                .peek(request)
                .map(|value| carrier.wire_bytes(&value))
        })
        .sum()
}

/// A request as a client would send it after `changes`: the cookies it was given, or where a
/// strategy sets none, its credential in the first carrier that is not a cookie.
pub fn request_carrying(carriers: &[Carrier], changes: &[ClientChange]) -> Parts {
    let cookies: Vec<String> = changes
        .iter()
        .filter_map(|change| match change {
            ClientChange::SetCookie { name, value, .. } => Some(format!("{name}={value}")),
            _ => None,
        })
        .collect();
    let mut request = Request::builder();
    if cookies.is_empty() {
        let credential = changes.iter().find_map(|change| match change {
            ClientChange::Credential(token) => Some(token),
            _ => None,
        });
        let carrier = carriers.iter().find(|carrier| !carrier.is_cookie());
        match (carrier, credential) {
            (Some(Carrier::Bearer), Some(token)) => {
                request = request.header(AUTHORIZATION, format!("{BEARER_SCHEME} {token}"));
            }
            (Some(Carrier::UrlParam(param)), Some(token)) => {
                request = request.uri(format!("/?{param}={token}"));
            }
            _ => {}
        }
    } else {
        request = request.header(COOKIE, cookies.join("; "));
    }
    let (parts, ()) = request
        .body(())
        .unwrap_or_else(|_| unreachable!("a cookie header and a URL-safe token are valid"))
        .into_parts();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum_extra::extract::cookie::CookieJar;

    fn parts(header: Option<(&str, &str)>, uri: &str) -> Parts {
        let mut request = Request::builder().uri(uri);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_the_bearer_scheme_gives_a_bearer_token() {
        let token =
            |value| bearer_token(&parts(Some(("authorization", value)), "/")).map(str::to_owned);
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("Basic YWxpY2U6d29uZGVybGFuZA=="), None);
        assert_eq!(token("Bearer"), None);
        assert_eq!(bearer_token(&parts(None, "/")), None);
    }

    #[test]
    fn a_cookie_is_read_as_a_cookie_jar_reads_it() {
        let header =
            "a=1; sid=%41b%20c ;  other=x; sid=last; jwt=\"quoted\"; broken=%FF; other=%zz";
        let request = parts(Some(("cookie", header)), "/");
        let jar = CookieJar::from_headers(&request.headers);
        for name in ["a", "sid", "other", "jwt", "broken", "missing", "si"] {
            assert_eq!(
                request_cookie(&request, name),
                jar.get(name).map(|cookie| cookie.value().to_owned()),
                "{name}"
            );
        }
        assert_eq!(request_cookie(&request, "sid").as_deref(), Some("last"));
        // Parsed once, as the session layer does: the same answers.
        let mut parsed = request.clone();
        parsed
            .extensions
            .insert(RequestCookies::of(&parsed.headers));
        for name in ["a", "sid", "other", "jwt", "broken", "missing", "si"] {
            assert_eq!(
                request_cookie(&parsed, name),
                request_cookie(&request, name),
                "{name}"
            );
        }
        let mut request = request;
        request.extensions.insert(HostPrefixedCookies);
        assert_eq!(request_cookie(&request, "a"), None);
        parsed.extensions.insert(HostPrefixedCookies);
        assert_eq!(request_cookie(&parsed, "a"), None);
    }

    #[test]
    fn query_parameters_are_matched_by_whole_name() {
        let request = parts(None, "/cart?ss=1&s=token.tag&x");
        assert_eq!(query_param(&request, "s").as_deref(), Some("token.tag"));
        assert_eq!(query_param(&request, "x").as_deref(), Some(""));
        assert_eq!(query_param(&request, "y"), None);
    }

    #[test]
    fn each_carrier_counts_what_it_adds_to_a_request() {
        assert_eq!(Carrier::Cookie("sid").wire_bytes("abc"), 7);
        assert_eq!(Carrier::UrlParam("s").wire_bytes("abc"), 5);
        assert_eq!(Carrier::Bearer.wire_bytes("abc"), 10);
        let changes = [ClientChange::Credential("abc".into())];
        assert_eq!(client_bytes(&[Carrier::UrlParam("s")], &changes), Some(5));
        let request = request_carrying(&[Carrier::UrlParam("s")], &changes);
        assert_eq!(presented_bytes(&[Carrier::UrlParam("s")], &request), 5);
        let request = request_carrying(&[Carrier::Bearer], &changes);
        assert_eq!(bearer_token(&request), Some("abc"));
    }
}
