//! `/share/{token}` and `/magic/{token}`: the one-off links, opened in a browser under any
//! strategy. Opening one (a GET) changes nothing: link scanners and prefetchers fetch links
//! too, and must not spend a one-use login or fill a cart. The GET shows what the link does and
//! a button; the button's POST does it and redirects to the page that shows the result.

use app::{
    error::AppError,
    shop::{links, visitor::Visitor, AppState, Shop},
    url_credential::with_credential,
};
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use http::{request::Parts, Uri};
use session_strategies::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/share/{token}", get(confirm_share).post(open_share))
        .route("/magic/{token}", get(confirm_magic).post(open_magic))
}

async fn confirm_share(uri: Uri) -> Html<String> {
    confirmation(
        &uri,
        "Open a shared cart",
        "Someone shared their cart with you. Opening it copies its products into your cart.",
        "Copy the shared cart into mine",
    )
}

async fn confirm_magic(uri: Uri) -> Html<String> {
    confirmation(
        &uri,
        "Log in with your link",
        "This one-use link logs you in. It works once, for 15 minutes.",
        "Log me in",
    )
}

/// A page with one button that POSTs back to the same address (the URL token, if the session
/// travels in URLs, comes along in the query).
fn confirmation(uri: &Uri, title: &str, explanation: &str, button: &str) -> Html<String> {
    let action = uri.path_and_query().map_or_else(
        || uri.path().to_owned(),
        |target| target.as_str().to_owned(),
    );
    let action = action.replace('&', "&amp;").replace('"', "&quot;");
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Session Strategies</title>\
         <link rel=\"stylesheet\" href=\"/pkg/session-strategies.css\"></head>\
         <body><main id=\"main\" class=\"page\"><h1>{title}</h1><p>{explanation}</p>\
         <form method=\"post\" action=\"{action}\">\
         <button type=\"submit\" class=\"button primary\">{button}</button></form>\
         <p><a href=\"/\">Back to the shop</a></p></main></body></html>"
    ))
}

async fn open_share(
    State(shop): State<Shop>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    let result = links::open_shared_cart(&shop, &session, &token).await;
    redirect(&session, result.map(|_| "/cart"), "/cart")
}

async fn open_magic(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
    Path(token): Path<String>,
) -> Response {
    let visitor = Visitor::of(&request);
    let result = links::open_magic_link(&shop, &session, &token, &visitor).await;
    redirect(&session, result.map(|_| "/"), "/login")
}

/// To `target` on success, or to `on_error?error=code`; with the URL token where the session
/// travels in URLs.
fn redirect(session: &Session, result: Result<&str, AppError>, on_error: &str) -> Response {
    let target = match result {
        Ok(target) => target.to_owned(),
        Err(error) => format!("{on_error}?error={}", error.code.name()),
    };
    Redirect::to(&with_credential(&target, session.url_credential().as_ref())).into_response()
}
