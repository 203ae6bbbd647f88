//! The signed-URL strategy's token in every link and form the page renders.
//!
//! Pages served under a URL strategy are not hydrated: every link is a full page load and every
//! form a plain POST, so the token only has to be written into the HTML, once, on the server.
//! `formaction` on a form's submit button sends the POST to the server function with `?s=` and
//! the page to come back to, since `Referrer-Policy: no-referrer` leaves no Referer.

/// The query parameter of the URL token (the session layer's `signed_url::URL_PARAM`).
pub const URL_PARAM: &str = "s";
/// The query parameter naming the page a plain form post returns to.
pub const RETURN_PARAM: &str = "return_to";

/// The URL token of the request being rendered, if its strategy carries one.
#[cfg(feature = "ssr")]
pub fn url_token() -> Option<String> {
    use leptos::prelude::use_context;
    let parts = use_context::<http::request::Parts>()?;
    parts
        .extensions
        .get::<session_strategies::Session>()?
        .url_credential()
}

/// In the browser there is never one: URL-token pages are not hydrated.
#[cfg(not(feature = "ssr"))]
pub fn url_token() -> Option<String> {
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
pub fn with_token(path: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => {
            let separator = if path.contains('?') { '&' } else { '?' };
            format!("{path}{separator}{URL_PARAM}={token}")
        }
        None => path.to_owned(),
    }
}

/// A link to `path` that keeps the session.
pub fn link(path: &str) -> String {
    with_token(path, url_token().as_deref())
}

/// The `formaction` for a submit button posting to `server_fn_url`: with the token and the way
/// back, or `None` (the form's own action) where cookies carry the session.
pub fn form_action(server_fn_url: &str) -> Option<String> {
    let token = url_token()?;
    Some(with_token(
        &format!("{server_fn_url}?{RETURN_PARAM}={}", current_path()),
        Some(&token),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_appended_with_the_right_separator() {
        assert_eq!(with_token("/cart", Some("t.x")), "/cart?s=t.x");
        assert_eq!(
            with_token("/sfn/login?return_to=/", Some("t")),
            "/sfn/login?return_to=/&s=t"
        );
        assert_eq!(with_token("/cart", None), "/cart");
    }
}
