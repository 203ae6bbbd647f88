//! The cart's lines.

use super::extract::{ApiJson, ApiPath};
use app::{
    error::{AppError, ErrorBody},
    model::SessionView,
    shop::{cart, AppState, Shop},
};
use axum::{extract::State, Json};
use serde::Deserialize;
use session_strategies::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(empty))
        .routes(routes!(add))
        .routes(routes!(set, remove))
}

#[derive(Deserialize, ToSchema)]
struct AddRequest {
    product_id: i64,
    /// 1 to 99, added to what the line holds.
    quantity: i64,
}

#[derive(Deserialize, ToSchema)]
struct SetRequest {
    /// 0 to 99; 0 removes the line.
    quantity: i64,
}

/// Adds to a line (the line's sum must stay within 1 to 99).
#[utoipa::path(
    post,
    path = "/cart/items",
    tag = "cart",
    request_body = AddRequest,
    responses(
        (status = 200, description = "the session with the changed cart", body = SessionView),
        (status = 400, description = "a quantity outside 1 to 99 (`invalid_quantity`) or a malformed body (`bad_request`)", body = ErrorBody),
        (status = 404, description = "no such product (`not_found`)", body = ErrorBody),
    )
)]
async fn add(
    State(shop): State<Shop>,
    session: Session,
    ApiJson(body): ApiJson<AddRequest>,
) -> Result<Json<SessionView>, AppError> {
    cart::add_item(&shop, &session, body.product_id, body.quantity)
        .await
        .map(Json)
}

/// Sets a line's quantity; 0 removes the line.
#[utoipa::path(
    put,
    path = "/cart/items/{product_id}",
    tag = "cart",
    params(("product_id" = i64, Path, description = "the product's id")),
    request_body = SetRequest,
    responses(
        (status = 200, description = "the session with the changed cart", body = SessionView),
        (status = 400, description = "a quantity outside 0 to 99 (`invalid_quantity`) or a malformed body or path (`bad_request`)", body = ErrorBody),
        (status = 404, description = "no such product (`not_found`)", body = ErrorBody),
    )
)]
async fn set(
    State(shop): State<Shop>,
    session: Session,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetRequest>,
) -> Result<Json<SessionView>, AppError> {
    cart::set_quantity(&shop, &session, product_id, body.quantity)
        .await
        .map(Json)
}

/// Removes a line; removing one that is not there is not an error.
#[utoipa::path(
    delete,
    path = "/cart/items/{product_id}",
    tag = "cart",
    params(("product_id" = i64, Path, description = "the product's id")),
    responses(
        (status = 200, description = "the session with the changed cart", body = SessionView),
        (status = 400, description = "a malformed path (`bad_request`)", body = ErrorBody),
        (status = 404, description = "no such product (`not_found`)", body = ErrorBody),
    )
)]
async fn remove(
    State(shop): State<Shop>,
    session: Session,
    ApiPath(product_id): ApiPath<i64>,
) -> Result<Json<SessionView>, AppError> {
    cart::remove_item(&shop, &session, product_id)
        .await
        .map(Json)
}

/// Empties the cart.
#[utoipa::path(
    delete,
    path = "/cart",
    tag = "cart",
    responses((status = 200, description = "the session with an empty cart", body = SessionView))
)]
async fn empty(State(shop): State<Shop>, session: Session) -> Result<Json<SessionView>, AppError> {
    cart::empty_cart(&shop, &session).await.map(Json)
}
