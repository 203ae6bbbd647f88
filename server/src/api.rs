//! The JSON API under `/api/v1`, one router per resource, all calling the same shop services as
//! the server functions. Every route is registered through utoipa-axum's `routes!`, which puts
//! it in the router and in the OpenAPI document at once: the document served at
//! `/api/v1/openapi.json` is the contract, and it cannot leave a route out.

mod cart;
mod catalog;
mod compare;
mod docs;
mod extract;
mod health;
pub mod introspect;
mod links;
mod orders;
mod session;
mod your_sessions;

use app::{error::AppError, shop::AppState};
use axum::{Json, Router};
use std::sync::OnceLock;
use utoipa::{openapi::OpenApi, OpenApi as _};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Every route with its documentation.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(health::router())
        .merge(catalog::router())
        .merge(session::router())
        .merge(cart::router())
        .merge(orders::router())
        .merge(links::router())
        .merge(compare::router())
        .merge(your_sessions::router())
        .merge(introspect::router())
        .routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 document of this API, as `/api/v1/openapi.json` serves it.
pub fn document() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| docs::with_layer_responses(documented().split_for_parts().1))
}

pub fn router() -> Router<AppState> {
    let (router, _) = documented().split_for_parts();
    router.fallback(|| async { AppError::not_found("no such API route") })
}

/// This document: every route of the API, its parameters, bodies and the statuses it answers.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json() -> Json<&'static OpenApi> {
    Json(document())
}
