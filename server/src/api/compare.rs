//! `/compare`'s figures for API clients: the same measurements the page shows.

use super::extract::ApiPath;
use app::{
    error::{AppError, ErrorBody},
    model::{CompareView, LatencyView},
    shop::{compare, visitor::Visitor, AppState, Shop},
};
use axum::{extract::State, Json};
use http::request::Parts;
use session_strategies::{Session, SessionError, Strategy};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(table))
        .routes(routes!(latency))
}

/// `/compare`'s table and size series, measured by saving a throwaway copy of the caller's
/// session with every backend.
#[utoipa::path(
    get,
    path = "/compare",
    tag = "compare",
    responses(
        (status = 200, body = CompareView),
        (status = 429, description = "too many measurements this minute (`too_many_attempts`); `Retry-After` says when", body = ErrorBody),
    )
)]
async fn table(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
) -> Result<Json<CompareView>, AppError> {
    compare::compare_rationed(&shop, &session, &Visitor::of(&request))
        .await
        .map(Json)
}

/// Load and save latency of one strategy against its live stores. A POST: it writes (and
/// deletes) sessions in the live stores.
#[utoipa::path(
    post,
    path = "/compare/latency/{strategy}",
    tag = "compare",
    params(("strategy" = String, Path, description = "a strategy id, as `GET /strategies` lists them")),
    responses(
        (status = 200, description = "the measurement, or why the strategy is unavailable", body = LatencyView),
        (status = 400, description = "no such strategy (`strategy_unknown`)", body = ErrorBody),
        (status = 429, description = "too many measurements this minute (`too_many_attempts`); `Retry-After` says when", body = ErrorBody),
    )
)]
async fn latency(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
    ApiPath(strategy): ApiPath<String>,
) -> Result<Json<LatencyView>, AppError> {
    let strategy = strategy.parse::<Strategy>().map_err(SessionError::from)?;
    compare::latency_rationed(&shop, &session, &Visitor::of(&request), strategy)
        .await
        .map(Json)
}
