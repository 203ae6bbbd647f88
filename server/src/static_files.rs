//! Static files (the WebAssembly, the JavaScript that loads it, CSS, images) served as a CDN
//! would: outside the session layer, so an asset costs no session look-up; brotli or gzip from
//! files compressed at build time (`scripts/precompress.mjs`) when the client accepts them;
//! `Last-Modified`, and `304 Not Modified` when the client already has the file. Files whose
//! names carry a content hash (cargo-leptos `hash-files`) can be cached for a year; the rest
//! are revalidated on every use. A path that names no file renders the app's 404 page.

use crate::asset_table::AssetTable;
use app::{shell, shop::AppState};
use axum::{
    extract::Request,
    handler::Handler,
    middleware::{from_fn_with_state, Next},
    response::Response,
    routing::Router,
};
use http::{header::CACHE_CONTROL, HeaderValue, StatusCode};
use session_strategies::{session_layer, SessionLayerState};
use std::{path::Path, sync::Arc};
use tower::Layer;
use tower_http::services::ServeDir;

/// Everything no route matched: a file under the site root, else the app's 404 page. The 404
/// page is a page of the shop like any other (its header shows the visitor's cart and login),
/// so it alone goes through the session layer: without it every unknown path rendered a guest's
/// header and logged three "session layer is not installed" errors.
pub fn service(state: &AppState, sessions: SessionLayerState) -> Router {
    let not_found = from_fn_with_state(sessions, session_layer)
        .layer(leptos_axum::file_and_error_handler::<AppState, _>(shell).with_state(state.clone()));
    let files = ServeDir::new(&*state.leptos_options.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    let immutable = state.leptos_options.hash_files;
    let router = Router::new().fallback_service(files);
    // Hashed names never change their content, so they can be held in memory; unhashed ones
    // (a debug build, `cargo leptos watch`) are rebuilt under the running server.
    let router = if immutable {
        let table = Arc::new(AssetTable::load(Path::new(
            &*state.leptos_options.site_root,
        )));
        tracing::info!(files = table.len(), "hashed assets held in memory");
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let table = table.clone();
                async move {
                    match table.answer(&request) {
                        Some(response) => response,
                        None => next.run(request).await,
                    }
                }
            },
        ))
    } else {
        router
    };
    router.layer(axum::middleware::from_fn(move |request, next| {
        cache_policy(immutable, request, next)
    }))
}

/// Hashed assets for a year; everything else revalidated (`no-cache` still stores, and asks).
async fn cache_policy(hashed_names: bool, request: Request, next: Next) -> Response {
    let hashed = hashed_names && request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let cacheable = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    if cacheable && !response.headers().contains_key(CACHE_CONTROL) {
        let policy = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}
