//! The signed-in user's sessions across strategies: list them, end one, end all others.

use super::extract::ApiPath;
use app::{
    error::{AppError, ErrorBody},
    model::SessionsView,
    shop::{your_sessions, AppState, Shop},
};
use axum::{extract::State, Json};
use session_strategies::Session;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(end))
        .routes(routes!(end_all_others))
}

/// Every session of the signed-in user, whatever strategy keeps it, newest first.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "session",
    responses(
        (status = 200, body = SessionsView),
        (status = 401, description = "not logged in (`unauthenticated`)", body = ErrorBody),
    )
)]
async fn list(State(shop): State<Shop>, session: Session) -> Result<Json<SessionsView>, AppError> {
    your_sessions::list(&shop, &session).await.map(Json)
}

/// Ends one of the user's other sessions: wherever it is, it loads as a guest from then on.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "session",
    params(("id" = String, Path, description = "a session's id, as `GET /sessions` lists it")),
    responses(
        (status = 200, description = "the sessions left", body = SessionsView),
        (status = 400, description = "the session making the request (`bad_request`): log out instead", body = ErrorBody),
        (status = 401, description = "not logged in (`unauthenticated`)", body = ErrorBody),
        (status = 404, description = "no such session of this user (`not_found`)", body = ErrorBody),
    )
)]
async fn end(
    State(shop): State<Shop>,
    session: Session,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SessionsView>, AppError> {
    your_sessions::end_one(&shop, &session, &id).await.map(Json)
}

/// Ends every session of the user but this one, in every strategy.
#[utoipa::path(
    post,
    path = "/logout-everywhere",
    tag = "session",
    responses(
        (status = 200, description = "the one session left", body = SessionsView),
        (status = 401, description = "not logged in (`unauthenticated`)", body = ErrorBody),
    )
)]
async fn end_all_others(
    State(shop): State<Shop>,
    session: Session,
) -> Result<Json<SessionsView>, AppError> {
    your_sessions::end_all_others(&shop, &session)
        .await
        .map(Json)
}
