//! Token introspection (RFC 7662) for another service: whether a credential is active and the
//! session it stands for, for the strategies whose catalogue entry says another service checks
//! them this way. It answers only a caller holding the service credential (HTTP Basic, user
//! `orders`): whoever may ask learns what a session holds. The token strategies' public keys
//! are served beside it ([`crate::jwks`]).

use app::{
    error::{AppError, ErrorBody},
    shop::{AppState, Shop},
};
use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use session_strategies::{session::transport::own_carrier, strategy::Trust, trust, Strategy};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The user name the service credential goes with.
pub const SERVICE_USER: &str = "orders";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(introspect))
}

/// An introspection request (RFC 7662 section 2.1), form-encoded.
#[derive(Deserialize, ToSchema)]
struct IntrospectionRequest {
    /// The credential, as the client presented it.
    token: String,
    /// The strategy whose credential it is (`signed-url`).
    token_type_hint: String,
}

/// The answer (RFC 7662 section 2.2): `active` and, when it is, what the session holds.
#[derive(Serialize, ToSchema)]
struct Introspection {
    active: bool,
    /// The session, as the shop holds it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    session: Option<session_strategies::SessionData>,
    /// Unix seconds at which it expires unless used again.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// Whether a credential is active, and the session it stands for: for the strategies whose
/// sessions another service checks by asking the shop (the catalogue's `introspection`).
#[utoipa::path(
    post,
    path = "/introspect",
    tag = "services",
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = Introspection),
        (status = 400, description = "a strategy whose sessions are not checked by introspection (`bad_request`)", body = ErrorBody),
        (status = 401, description = "no service credential, or a wrong one (`unauthenticated`)", body = ErrorBody),
    )
)]
async fn introspect(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Form(asked): Form<IntrospectionRequest>,
) -> Result<Response, AppError> {
    // Every accepted credential is compared, so the time taken says nothing of which matched.
    let accepted = shop.service_secrets.iter();
    if !accepted.fold(false, |found, secret| {
        found | presents_service_credential(&headers, secret)
    }) {
        let mut refused = AppError::new(
            app::error::ErrorCode::Unauthenticated,
            "introspection needs the service credential",
        )
        .into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"introspection\""),
        );
        return Ok(refused);
    }
    let strategy: Strategy = asked
        .token_type_hint
        .parse()
        .map_err(|error| AppError::bad_request(format!("{error}")))?;
    if strategy.meta().second_service.trust != Trust::Introspection {
        return Err(AppError::bad_request(format!(
            "{strategy} sessions are not checked by introspection"
        )));
    }
    let backend = shop.registry.get(strategy)?;
    let inactive = Introspection {
        active: false,
        session: None,
        exp: None,
    };
    let carried = own_carrier(backend.carriers()).and_then(|carrier| carrier.carry(&asked.token));
    let Some(request) = carried else {
        return Ok(Json(inactive).into_response());
    };
    let answer = match backend.load(&request).await {
        // As the session layer would refuse it: past its absolute timeout, or its login ended
        // from another device.
        Ok(Some(loaded)) if refused_anyway(&shop, strategy, &loaded.data).await? => inactive,
        Ok(Some(loaded)) => Introspection {
            active: true,
            session: Some(loaded.data),
            exp: Some(loaded.expires_at),
        },
        Ok(None)
        | Err(session_strategies::LoadError::Expired)
        | Err(session_strategies::LoadError::Invalid(_))
        | Err(session_strategies::LoadError::Unknown)
        | Err(session_strategies::LoadError::Rejected { .. }) => inactive,
        Err(session_strategies::LoadError::Unavailable(unavailable)) => {
            return Err(AppError::from(
                session_strategies::SessionError::Unavailable {
                    strategy,
                    reason: unavailable.reason,
                },
            ))
        }
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// Whether the session layer would refuse `data` whatever its strategy says.
async fn refused_anyway(
    shop: &Shop,
    strategy: Strategy,
    data: &session_strategies::SessionData,
) -> Result<bool, AppError> {
    let refusal = trust::lifetime_refusal(data, shop.registry.logins()).await;
    match refusal {
        Ok(refusal) => Ok(refusal.is_some()),
        Err(unavailable) => Err(AppError::from(
            session_strategies::SessionError::Unavailable {
                strategy,
                reason: unavailable.reason,
            },
        )),
    }
}

/// Whether `headers` carry `Authorization: Basic` for [`SERVICE_USER`] and `secret`.
fn presents_service_credential(headers: &HeaderMap, secret: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{SERVICE_USER}:{secret}");
    decoded.ct_eq(expected.as_bytes()).into()
}
