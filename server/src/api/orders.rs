//! Checkout and the order history.

use app::{
    error::AppError,
    model::{CheckoutView, OrderView},
    shop::{orders, AppState, Shop},
};
use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use session_strategies::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checkout", post(checkout))
        .route("/orders", get(list))
}

async fn checkout(
    State(shop): State<Shop>,
    session: Session,
) -> Result<Json<CheckoutView>, AppError> {
    orders::checkout(&shop, &session).await.map(Json)
}

async fn list(
    State(shop): State<Shop>,
    session: Session,
) -> Result<Json<Vec<OrderView>>, AppError> {
    orders::list(&shop, &session).await.map(Json)
}
