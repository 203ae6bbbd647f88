//! Checkout and the order history, which the shop sends to the orders service
//! (`app/src/shop/orders_service.rs`): in the cluster run HAProxy sends `/api/v1/orders` to
//! the orders service directly; `/checkout` stays with the shop, which empties the cart.

use app::{
    error::{AppError, ErrorBody},
    model::{CheckoutView, OrderView},
    shop::{orders, AppState, Shop},
};
use axum::{extract::State, http::request::Parts, Json};
use session_strategies::Session;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout))
        .routes(routes!(list))
}

/// Turns the cart into an order, priced from the catalog, and empties the cart.
#[utoipa::path(
    post,
    path = "/checkout",
    tag = "orders",
    responses(
        (status = 200, body = CheckoutView),
        (status = 401, description = "not logged in (`unauthenticated`), or the orders service does not accept this session (`session_invalid`: memory sessions, which live in one shop process)", body = ErrorBody),
        (status = 422, description = "the cart is empty (`bad_request`)", body = ErrorBody),
    )
)]
async fn checkout(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
) -> Result<Json<CheckoutView>, AppError> {
    orders::checkout(&shop, &session, &request).await.map(Json)
}

/// The logged-in user's orders, newest first.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    responses(
        (status = 200, body = Vec<OrderView>),
        (status = 401, description = "not logged in (`unauthenticated`), or the orders service does not accept this session (`session_invalid`: memory sessions, which live in one shop process)", body = ErrorBody),
    )
)]
async fn list(
    State(shop): State<Shop>,
    session: Session,
    request: Parts,
) -> Result<Json<Vec<OrderView>>, AppError> {
    let listed = orders::list(&shop, &session, &request).await?;
    Ok(Json(listed.orders))
}
