//! Creating the one-off links through the API: a shared cart, a magic login.

use super::extract::ApiJson;
use app::{
    error::{AppError, ErrorBody},
    shop::{links, AppState, Shop},
};
use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use session_strategies::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(share))
        .routes(routes!(magic))
}

/// A signed link and how long it works.
#[derive(Serialize, ToSchema)]
struct Link {
    /// The path to open, on this site.
    url: String,
    expires_in: i64,
}

/// A link that gives whoever opens it a copy of this cart, for an hour.
#[utoipa::path(
    post,
    path = "/cart/share",
    tag = "links",
    responses(
        (status = 200, body = Link),
        (status = 400, description = "the cart is empty (`bad_request`)", body = ErrorBody),
    )
)]
async fn share(State(shop): State<Shop>, session: Session) -> Result<Json<Link>, AppError> {
    Ok(Json(Link {
        url: links::share_path(&links::share_cart(&shop, &session)?),
        expires_in: links::SHARE_TTL_SECONDS,
    }))
}

#[derive(Deserialize, ToSchema)]
struct MagicRequest {
    username: String,
}

/// A one-use login link for a demo user, valid 15 minutes.
#[utoipa::path(
    post,
    path = "/login/magic",
    tag = "links",
    request_body = MagicRequest,
    responses(
        (status = 200, body = Link),
        (status = 400, description = "a malformed body (`bad_request`)", body = ErrorBody),
        (status = 404, description = "not a demo user (`not_found`)", body = ErrorBody),
    )
)]
async fn magic(
    State(shop): State<Shop>,
    ApiJson(body): ApiJson<MagicRequest>,
) -> Result<Json<Link>, AppError> {
    Ok(Json(Link {
        url: links::magic_path(&links::magic_link(&shop, &body.username).await?),
        expires_in: links::MAGIC_TTL_SECONDS,
    }))
}
