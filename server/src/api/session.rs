//! The session itself: read it, move it to another strategy, log in and out.

use super::extract::ApiJson;
use app::{
    error::AppError,
    model::SessionView,
    shop::{session_actions, session_view, AppState, Shop},
};
use axum::{
    extract::State,
    routing::{get, post, put},
    Json, Router,
};
use serde::Deserialize;
use session_strategies::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", get(current))
        .route("/session/strategy", put(switch))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/token/refresh", post(refresh))
        .route("/inspect", get(inspect))
}

/// Where this session's state lives right now.
async fn inspect(
    State(shop): State<Shop>,
    session: Session,
    request: http::request::Parts,
) -> Result<Json<session_strategies::inspect::Inspection>, AppError> {
    session_strategies::inspect::inspect(&shop.registry, &session, &request)
        .await
        .map(Json)
        .map_err(AppError::from)
}

#[derive(Deserialize)]
struct RefreshRequest {
    /// The access token the refresh token belongs with; expired is fine, forged is not.
    access_token: String,
    refresh_token: String,
}

async fn refresh(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<SessionView>, AppError> {
    session_actions::refresh_tokens(&shop, &session, &body.access_token, &body.refresh_token)
        .await
        .map(Json)
}

async fn current(State(shop): State<Shop>, session: Session) -> Json<SessionView> {
    Json(session_view::view(&shop, &session))
}

#[derive(Deserialize)]
struct SwitchRequest {
    strategy: String,
}

async fn switch(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<SwitchRequest>,
) -> Result<Json<SessionView>, AppError> {
    session_actions::switch_strategy(&shop, &session, &body.strategy)
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<SessionView>, AppError> {
    session_actions::log_in(&shop, &session, &body.username, &body.password)
        .await
        .map(Json)
}

async fn logout(State(shop): State<Shop>, session: Session) -> Result<Json<SessionView>, AppError> {
    session_actions::log_out(&shop, &session).await.map(Json)
}
