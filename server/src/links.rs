//! `/share/{token}` and `/magic/{token}`: the one-off links, opened in a browser under any
//! strategy. They answer with a redirect to the page that shows the result.

use app::{
    error::AppError,
    shop::{links, AppState, Shop},
    url_token::with_token,
};
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use session_strategies::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/share/{token}", get(open_share))
        .route("/magic/{token}", get(open_magic))
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
    Path(token): Path<String>,
) -> Response {
    let result = links::open_magic_link(&shop, &session, &token).await;
    redirect(&session, result.map(|_| "/"), "/login")
}

/// To `target` on success, or to `on_error?error=code`; with the URL token where the session
/// travels in URLs.
fn redirect(session: &Session, result: Result<&str, AppError>, on_error: &str) -> Response {
    let target = match result {
        Ok(target) => target.to_owned(),
        Err(error) => format!("{on_error}?error={}", error.code.name()),
    };
    Redirect::to(&with_token(&target, session.url_credential().as_ref())).into_response()
}
