//! The JSON API under `/api/v1` (API.md), one router per resource, all calling the same shop
//! services as the server functions.

mod cart;
mod catalog;
mod compare;
mod extract;
mod health;
mod links;
mod orders;
mod session;

use app::{error::AppError, shop::AppState};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(catalog::router())
        .merge(session::router())
        .merge(cart::router())
        .merge(orders::router())
        .merge(links::router())
        .merge(compare::router())
        .fallback(|| async { AppError::not_found("no such API route") })
}
