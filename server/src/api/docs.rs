//! What the OpenAPI document says beyond the handlers' own annotations: the API's description,
//! and the answers the session layer gives on every route before any handler runs.

use app::error::{ErrorBody, ErrorCode};
use utoipa::{
    openapi::{path::Operation, ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder},
    OpenApi as DeriveOpenApi,
};

#[derive(DeriveOpenApi)]
#[openapi(
    info(
        title = "Session Strategies API",
        description = "One shop, every way to keep its session. Pick a strategy with the \
            `X-Session-Strategy` header (or a Bearer token for `jwt` and `hybrid`, `?s=` for `signed-url`); \
            the session travels in cookies, a Bearer header or the URL accordingly. Every \
            error has the body `{\"error\": {\"code\", \"message\"}}`."
    ),
    servers((url = "/api/v1")),
    components(schemas(ErrorBody, ErrorCode)),
    tags(
        (name = "meta", description = "health and this document"),
        (name = "catalog", description = "strategies and products"),
        (name = "session", description = "the session itself: log in and out, switch, inspect"),
        (name = "cart", description = "the cart's lines"),
        (name = "orders", description = "checkout and order history"),
        (name = "links", description = "share-cart and magic login links"),
        (name = "compare", description = "the figures behind /compare"),
    )
)]
pub struct ApiDoc;

/// What the session layer answers on any route, before the handler runs.
pub const LAYER_RESPONSES: [(u16, &str); 3] = [
    (
        400,
        "`X-Session-Strategy` names no strategy (`strategy_unknown`)",
    ),
    (
        401,
        "the Bearer token is expired or invalid (`session_expired`, `session_invalid`)",
    ),
    (
        503,
        "the chosen strategy's store is down (`strategy_unavailable`); `Retry-After` says when to try again",
    ),
];

/// What a state-changing route answers a cookie-carried request from another site.
pub const CROSS_SITE_RESPONSE: (u16, &str) = (
    403,
    "a state-changing request carried by a cookie came from another site (`csrf`)",
);

/// `document` with the session layer's answers on every operation, and the cross-site check's
/// on every one that changes state, where the operation does not describe that status itself.
pub fn with_layer_responses(mut document: OpenApi) -> OpenApi {
    for item in document.paths.paths.values_mut() {
        if let Some(operation) = &mut item.get {
            add_responses(operation, &LAYER_RESPONSES);
        }
        for operation in [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_responses(operation, &LAYER_RESPONSES);
            add_responses(operation, &[CROSS_SITE_RESPONSE]);
        }
    }
    document
}

fn add_responses(operation: &mut Operation, responses: &[(u16, &str)]) {
    for &(status, description) in responses {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}
