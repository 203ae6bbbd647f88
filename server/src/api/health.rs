//! `GET /health`: liveness, the instance and each strategy's availability.

use app::shop::{AppState, Shop};
use axum::{extract::State, Json};
use serde::Serialize;
use session_strategies::Strategy;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

#[derive(Serialize, ToSchema)]
struct Health {
    /// Always `ok`: the process answers.
    status: &'static str,
    /// Which instance answered (also in the `X-Instance` header).
    instance: String,
    /// `available`, or why a strategy is not, by strategy id.
    strategies: BTreeMap<&'static str, String>,
}

/// Liveness, the instance that answered, and whether each strategy's stores answer.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, body = Health)))]
async fn health(State(shop): State<Shop>) -> Json<Health> {
    let mut strategies = BTreeMap::new();
    for strategy in Strategy::ALL {
        let status = match shop.registry.availability(strategy).await {
            Ok(()) => "available".to_owned(),
            Err(unavailable) => unavailable.reason,
        };
        strategies.insert(strategy.id(), status);
    }
    Json(Health {
        status: "ok",
        instance: shop.instance.to_string(),
        strategies,
    })
}
