//! The URL strategy's credential in every link and form the page renders.
//!
//! Pages served under a strategy whose credential travels in URLs are not hydrated: every link
//! is a full page load and every form a plain POST, so the token only has to be written into
//! the HTML, once, on the server. `formaction` on a form's submit button sends the POST to the
//! server function with the token and the page to come back to, since
//! `Referrer-Policy: no-referrer` leaves no Referer. Which parameter carries the token is the
//! backend's to say ([`session_strategies::session::transport::Carrier::UrlParam`]).

/// The query parameter naming the page a plain form post returns to.
pub const RETURN_PARAM: &str = "return_to";

pub use session_strategies::UrlCredential;

/// The URL token of the request being rendered, if its strategy carries one.
#[cfg(feature = "ssr")]
pub fn url_credential() -> Option<UrlCredential> {
    use leptos::prelude::use_context;
    let parts = use_context::<http::request::Parts>()?;
    parts
        .extensions
        .get::<session_strategies::Session>()?
        .url_credential()
}

/// In the browser there is never one: URL-token pages are not hydrated.
#[cfg(not(feature = "ssr"))]
pub fn url_credential() -> Option<UrlCredential> {
    None
}

/// The path of the page being rendered.
#[cfg(feature = "ssr")]
fn current_path() -> String {
    leptos::prelude::use_context::<http::request::Parts>()
        .map(|parts| parts.uri.path().to_owned())
        .unwrap_or_else(|| "/".into())
}

#[cfg(not(feature = "ssr"))]
fn current_path() -> String {
    "/".into()
}

/// `path` with the URL token appended when there is one.
pub fn with_credential(path: &str, token: Option<&UrlCredential>) -> String {
    match token {
        Some(token) => token.append_to(path),
        None => path.to_owned(),
    }
}

/// A link to `path` that keeps the session.
pub fn link(path: &str) -> String {
    with_credential(path, url_credential().as_ref())
}

/// The `formaction` for a submit button posting to `server_fn_url`: with the token and the way
/// back, or `None` (the form's own action) where cookies carry the session.
pub fn form_action(server_fn_url: &str) -> Option<String> {
    let token = url_credential()?;
    Some(with_credential(
        &format!("{server_fn_url}?{RETURN_PARAM}={}", current_path()),
        Some(&token),
    ))
}
