//! Checkout and the order history.

use app::{
    error::{AppError, ErrorBody},
    model::{CheckoutView, OrderView},
    shop::{orders, AppState, Shop},
};
use axum::{extract::State, Json};
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
        (status = 401, description = "not logged in (`unauthenticated`)", body = ErrorBody),
        (status = 422, description = "the cart is empty (`bad_request`)", body = ErrorBody),
    )
)]
async fn checkout(
    State(shop): State<Shop>,
    session: Session,
) -> Result<Json<CheckoutView>, AppError> {
    orders::checkout(&shop, &session).await.map(Json)
}

/// The logged-in user's orders, newest first.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    responses(
        (status = 200, body = Vec<OrderView>),
        (status = 401, description = "not logged in (`unauthenticated`)", body = ErrorBody),
    )
)]
async fn list(
    State(shop): State<Shop>,
    session: Session,
) -> Result<Json<Vec<OrderView>>, AppError> {
    orders::list(&shop, &session).await.map(Json)
}
