//! `GET /strategies` and `GET /products`.

use app::{
    model::{Product, StrategyInfo},
    shop::{strategies, AppState, Shop},
};
use axum::{extract::State, routing::get, Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/strategies", get(list_strategies))
        .route("/products", get(list_products))
}

async fn list_strategies(State(shop): State<Shop>) -> Json<Vec<StrategyInfo>> {
    Json(strategies::list(&shop).await)
}

async fn list_products(State(shop): State<Shop>) -> Json<Vec<Product>> {
    Json(shop.catalog.products().to_vec())
}
