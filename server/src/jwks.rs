//! `/.well-known/jwks.json` (RFC 7517): the public keys of the token strategies, which another
//! service verifies their tokens with, without being able to mint any. Outside the API's
//! session layer: other services read it, not browsers.

use app::shop::{AppState, Shop};
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use session_strategies::backends::jwt::{Jwk, JwkSet};

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

/// The public keys of every strategy that signs with one (EdDSA): what another service
/// verifies tokens with. Empty under `JWT_ALGORITHM=HS256`, whose key never leaves the shop.
async fn jwks(State(shop): State<Shop>) -> Response {
    let mut keys: Vec<Jwk> = Vec::new();
    for strategy in shop.registry.strategies() {
        if let Ok(backend) = shop.registry.get(strategy) {
            for key in backend.public_keys() {
                if !keys
                    .iter()
                    .any(|held| held.common.key_id == key.common.key_id)
                {
                    keys.push(key);
                }
            }
        }
    }
    let mut response = Json(JwkSet { keys }).into_response();
    // Another service fetches the set again when a token names a key it lacks; a cache in
    // between must not hide a new key for long.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    response
}
