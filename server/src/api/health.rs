//! `GET /health`: liveness, the instance and each strategy's availability.

use app::shop::{AppState, Shop};
use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Map, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(shop): State<Shop>) -> Json<Value> {
    let mut strategies = Map::new();
    for strategy in session_strategies::Strategy::ALL {
        let status = match shop.registry.availability(strategy).await {
            Ok(()) => "available".to_owned(),
            Err(unavailable) => unavailable.reason,
        };
        strategies.insert(strategy.id().to_owned(), Value::String(status));
    }
    Json(json!({
        "status": "ok",
        "instance": &*shop.instance,
        "strategies": strategies,
    }))
}
