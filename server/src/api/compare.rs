//! `/compare`'s figures for API clients: the same measurements the page shows.

use super::extract::ApiPath;
use app::{
    error::AppError,
    model::{CompareView, LatencyView},
    shop::{compare, AppState, Shop},
};
use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use session_strategies::{Session, SessionError, Strategy};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/compare", get(table))
        .route("/compare/latency/{strategy}", post(latency))
}

async fn table(State(shop): State<Shop>, session: Session) -> Json<CompareView> {
    Json(compare::compare(&shop, &session.data()).await)
}

/// A POST: it writes (and deletes) sessions in the live stores.
async fn latency(
    State(shop): State<Shop>,
    session: Session,
    ApiPath(strategy): ApiPath<String>,
) -> Result<Json<LatencyView>, AppError> {
    let strategy = strategy.parse::<Strategy>().map_err(SessionError::from)?;
    Ok(Json(
        compare::latency(&shop, strategy, &session.data()).await,
    ))
}
