//! `GET /health`: liveness, the instance and each strategy's availability.

use app::shop::{AppState, Shop};
use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Map, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(shop): State<Shop>) -> Json<Value> {
    let strategies: Map<String, Value> = session_strategies::Strategy::ALL
        .into_iter()
        .map(|strategy| {
            let status = match shop.registry.get(strategy) {
                Ok(_) => "available".to_owned(),
                Err(error) => error.to_string(),
            };
            (strategy.id().to_owned(), Value::String(status))
        })
        .collect();
    Json(json!({
        "status": "ok",
        "instance": &*shop.instance,
        "strategies": strategies,
    }))
}
