//! `GET /health`: liveness, the instance and each strategy's availability.

use app::shop::{AppState, Shop};
use axum::{extract::State, Json};
use serde::Serialize;
use session_strategies::{revocation::mirror::Freshness, Strategy};
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
    /// `available` or `unavailable`, by strategy id. Why a store does not answer is in the
    /// server's log: its error text is no business of whoever asks.
    strategies: BTreeMap<&'static str, &'static str>,
    /// `current`, or `stale: SQL last read N s ago` when this instance's revocation mirror
    /// cannot read the ledger (lookups then ask the ledger itself, and fail while it is down).
    revocations: String,
}

/// Liveness, the instance that answered, whether each strategy's stores answer, and whether
/// this instance's revocation mirror is current.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, body = Health)))]
async fn health(State(shop): State<Shop>) -> Json<Health> {
    let mut strategies = BTreeMap::new();
    for strategy in Strategy::ALL {
        let status = match shop.registry.availability(strategy).await {
            Ok(()) => "available",
            Err(unavailable) => {
                tracing::warn!(%strategy, reason = unavailable.reason, "a strategy is unavailable");
                "unavailable"
            }
        };
        strategies.insert(strategy.id(), status);
    }
    let revocations = match shop.revocations.freshness() {
        Freshness::Current => "current".to_owned(),
        Freshness::Stale { since } => {
            format!("stale: SQL last read {} s ago", since.as_secs())
        }
    };
    Json(Health {
        status: "ok",
        instance: shop.instance.to_string(),
        strategies,
        revocations,
    })
}
