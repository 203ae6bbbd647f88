//! The cart's lines.

use super::extract::{ApiJson, ApiPath};
use app::{
    error::AppError,
    model::SessionView,
    shop::{cart, AppState, Shop},
};
use axum::{
    extract::State,
    routing::{delete, post},
    Json, Router,
};
use serde::Deserialize;
use session_strategies::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cart", delete(empty))
        .route("/cart/items", post(add))
        .route("/cart/items/{product_id}", delete(remove).put(set))
}

#[derive(Deserialize)]
struct AddRequest {
    product_id: i64,
    quantity: i64,
}

#[derive(Deserialize)]
struct SetRequest {
    quantity: i64,
}

async fn add(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<AddRequest>,
) -> Result<Json<SessionView>, AppError> {
    cart::add_item(&shop, &session, body.product_id, body.quantity)
        .await
        .map(Json)
}

async fn set(
    State(shop): State<Shop>,
    session: Session,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetRequest>,
) -> Result<Json<SessionView>, AppError> {
    cart::set_quantity(&shop, &session, product_id, body.quantity)
        .await
        .map(Json)
}

async fn remove(
    State(shop): State<Shop>,
    session: Session,
    ApiPath(product_id): ApiPath<i64>,
) -> Result<Json<SessionView>, AppError> {
    cart::remove_item(&shop, &session, product_id)
        .await
        .map(Json)
}

async fn empty(State(shop): State<Shop>, session: Session) -> Result<Json<SessionView>, AppError> {
    cart::empty_cart(&shop, &session).await.map(Json)
}
