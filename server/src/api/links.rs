//! Creating the one-off links through the API: a shared cart, a magic login.

use super::extract::ApiJson;
use app::{
    error::AppError,
    shop::{links, AppState, Shop},
};
use axum::{extract::State, routing::post, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use session_strategies::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cart/share", post(share))
        .route("/login/magic", post(magic))
}

async fn share(State(shop): State<Shop>, session: Session) -> Result<Json<Value>, AppError> {
    let url = links::share_path(&links::share_cart(&shop, &session)?);
    Ok(Json(
        json!({ "url": url, "expires_in": links::SHARE_TTL_SECONDS }),
    ))
}

#[derive(Deserialize)]
struct MagicRequest {
    username: String,
}

async fn magic(
    State(shop): State<Shop>,
    ApiJson(body): ApiJson<MagicRequest>,
) -> Result<Json<Value>, AppError> {
    let url = links::magic_path(&links::magic_link(&shop, &body.username).await?);
    Ok(Json(
        json!({ "url": url, "expires_in": links::MAGIC_TTL_SECONDS }),
    ))
}
