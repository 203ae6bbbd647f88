//! The session itself: read it, move it to another strategy, log in and out, inspect it.

use super::extract::ApiJson;
use app::{
    error::{AppError, ErrorBody},
    model::{InspectionView, SessionView},
    shop::{inspection, session_actions, session_view, visitor::Visitor, AppState, Shop},
};
use axum::{extract::State, Json};
use http::request::Parts;
use serde::Deserialize;
use session_strategies::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current))
        .routes(routes!(switch))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(refresh))
        .routes(routes!(inspect))
}

/// The current session: who, the cart priced from the catalog, and what the client carries.
#[utoipa::path(get, path = "/session", tag = "session", responses((status = 200, body = SessionView)))]
async fn current(State(shop): State<Shop>, session: Session) -> Json<SessionView> {
    Json(session_view::view(&shop, &session))
}

/// Where this session's state lives right now: every credential the request carried (JWTs
/// decoded), the server's copy, and what the session layer did for its last requests.
#[utoipa::path(get, path = "/inspect", tag = "session", responses((status = 200, body = InspectionView)))]
async fn inspect(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
) -> Result<Json<InspectionView>, AppError> {
    inspection::inspect(&shop, &session, &request)
        .await
        .map(Json)
}

#[derive(Deserialize, ToSchema)]
struct RefreshRequest {
    /// The access token the refresh token belongs with; expired is fine, forged is not.
    access_token: String,
    refresh_token: String,
}

/// Trades a refresh token (one use each; a replay revokes its family) for new tokens.
#[utoipa::path(
    post,
    path = "/token/refresh",
    tag = "session",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "the session with new tokens in `credential` and `refresh_token`", body = SessionView),
        (status = 400, description = "a malformed body (`bad_request`)", body = ErrorBody),
        (status = 401, description = "the tokens are invalid, expired or spent (`session_invalid`, `session_expired`)", body = ErrorBody),
    )
)]
async fn refresh(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<SessionView>, AppError> {
    session_actions::refresh_tokens(&shop, &session, &body.access_token, &body.refresh_token)
        .await
        .map(Json)
}

#[derive(Deserialize, ToSchema)]
struct SwitchRequest {
    /// A strategy id, as `GET /strategies` lists them.
    strategy: String,
}

/// Moves the session (login and cart) to another strategy and ends its copy in this one.
#[utoipa::path(
    put,
    path = "/session/strategy",
    tag = "session",
    request_body = SwitchRequest,
    responses(
        (status = 200, description = "the session, now kept by the new strategy", body = SessionView),
        (status = 400, description = "no such strategy (`strategy_unknown`) or a malformed body (`bad_request`)", body = ErrorBody),
    )
)]
async fn switch(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<SwitchRequest>,
) -> Result<Json<SessionView>, AppError> {
    session_actions::switch_strategy(&shop, &session, &body.strategy)
        .await
        .map(Json)
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    username: String,
    password: String,
}

/// Logs in, keeping the guest's cart, under a new session key.
#[utoipa::path(
    post,
    path = "/login",
    tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "the logged-in session", body = SessionView),
        (status = 400, description = "a malformed body (`bad_request`)", body = ErrorBody),
        (status = 401, description = "wrong username or password (`invalid_credentials`)", body = ErrorBody),
        (status = 429, description = "too many failed logins for this username or address (`too_many_attempts`); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
async fn login(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<SessionView>, AppError> {
    let visitor = Visitor::of(&request);
    session_actions::log_in(&shop, &session, &body.username, &body.password, &visitor)
        .await
        .map(Json)
}

/// Ends the session wherever it lives; the answer is a fresh guest.
#[utoipa::path(post, path = "/logout", tag = "session", responses((status = 200, description = "a fresh guest session", body = SessionView)))]
async fn logout(State(shop): State<Shop>, session: Session) -> Result<Json<SessionView>, AppError> {
    session_actions::log_out(&shop, &session).await.map(Json)
}
