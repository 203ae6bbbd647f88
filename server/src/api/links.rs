//! The one-off links through the API: a shared cart, a magic login sent to the demo outbox.

use super::extract::ApiJson;
use app::{
    error::{AppError, ErrorBody},
    model::OutboxMessage,
    shop::{links, outbox, visitor::Visitor, AppState, Shop},
};
use axum::{extract::State, Json};
use http::{request::Parts, StatusCode};
use serde::{Deserialize, Serialize};
use session_strategies::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(share))
        .routes(routes!(magic))
        .routes(routes!(outbox_messages))
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

/// What asking for a magic link answers, whoever asked and whether the user exists.
#[derive(Serialize, ToSchema)]
struct Sent {
    message: &'static str,
}

/// Sends a one-use login link (15 minutes) to the user's mailbox. The answer is the same
/// whether or not the user exists, and never holds the link.
#[utoipa::path(
    post,
    path = "/login/magic",
    tag = "links",
    request_body = MagicRequest,
    responses(
        (status = 202, body = Sent),
        (status = 400, description = "a malformed body (`bad_request`)", body = ErrorBody),
        (status = 429, description = "too many links asked for this username or from this address (`too_many_attempts`); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
async fn magic(
    State(shop): State<Shop>,
    request: Parts,
    ApiJson(body): ApiJson<MagicRequest>,
) -> Result<(StatusCode, Json<Sent>), AppError> {
    links::send_magic_link(&shop, &body.username, &Visitor::of(&request)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Sent {
            message: "If that user exists, a login link is on its way to their mailbox.",
        }),
    ))
}

/// The demo outbox: the mail the shop sent in the last hour, newest first.
#[utoipa::path(
    get,
    path = "/outbox",
    tag = "links",
    responses(
        (status = 200, body = Vec<OutboxMessage>),
        (status = 403, description = "asked from another machine (`forbidden`): the demo outbox answers this machine only", body = ErrorBody),
        (status = 404, description = "the demo outbox is off on this server (`not_found`)", body = ErrorBody),
    )
)]
async fn outbox_messages(
    State(shop): State<Shop>,
    request: Parts,
) -> Result<Json<Vec<OutboxMessage>>, AppError> {
    outbox::visible(&shop, &Visitor::of(&request))
        .await
        .map(Json)
}
