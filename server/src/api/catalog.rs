//! `GET /strategies` and `GET /products`.

use app::{
    model::{Product, StrategyInfo},
    shop::{strategies, AppState, Shop},
};
use axum::{extract::State, Json};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_strategies))
        .routes(routes!(list_products))
}

/// Every strategy this server runs, in display order, with its properties and availability.
#[utoipa::path(
    get,
    path = "/strategies",
    tag = "catalog",
    responses((status = 200, body = Vec<StrategyInfo>))
)]
async fn list_strategies(State(shop): State<Shop>) -> Json<Vec<StrategyInfo>> {
    Json(strategies::list(&shop).await)
}

/// The catalog.
#[utoipa::path(get, path = "/products", tag = "catalog", responses((status = 200, body = Vec<Product>)))]
async fn list_products(State(shop): State<Shop>) -> Json<Vec<Product>> {
    Json(shop.catalog.products().to_vec())
}
