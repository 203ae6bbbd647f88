//! The orders service as the shop calls it: the shop's pages and API list and place orders
//! through it, forwarding the visitor's strategy and credential as the browser sent them, and
//! the trace notes which instance answered and how it checked the session. The HTTP call itself
//! is the server's ([`OrdersService`] is implemented in `server/src/orders_client.rs`).

use crate::{
    error::{AppError, ErrorBody, ErrorCode},
    model::ServedBy,
};
use async_trait::async_trait;
use http::{
    header::{AUTHORIZATION, COOKIE},
    request::Parts,
    HeaderValue, Method,
};
use serde::de::DeserializeOwned;
use session_strategies::{
    session::transport::{own_carrier, Carrier},
    trace, Session, SessionRegistry, Strategy,
};
use std::time::Instant;

/// `method /api/v1/orders` at the orders service, as `visitor`.
#[async_trait]
pub trait OrdersService: Send + Sync {
    async fn call(&self, method: Method, visitor: &Forwarded) -> Result<OrdersReply, String>;
}

/// What of a visitor's request the shop forwards: the strategy, and the credential wherever it
/// travels (cookies, a Bearer header, the query), as the visitor sent it; and the credential
/// the session holds now, in the strategy's own carrier, which goes in place of the one sent:
/// this very request may have renewed it (a JWT refreshed in passing spends the one sent).
pub struct Forwarded {
    pub strategy: Strategy,
    pub cookie: Option<HeaderValue>,
    pub authorization: Option<HeaderValue>,
    pub query: Option<String>,
    pub current: Option<(Carrier, String)>,
}

impl Forwarded {
    pub fn of(session: &Session, registry: &SessionRegistry, request: &Parts) -> Self {
        let strategy = session.strategy();
        let carrier = registry
            .get(strategy)
            .ok()
            .and_then(|backend| own_carrier(backend.carriers()));
        Self {
            strategy,
            cookie: request.headers.get(COOKIE).cloned(),
            authorization: request.headers.get(AUTHORIZATION).cloned(),
            query: request.uri.query().map(str::to_owned),
            current: carrier.zip(session.credential()),
        }
    }
}

/// The orders service's answer.
pub struct OrdersReply {
    pub status: u16,
    pub body: Vec<u8>,
    pub served_by: ServedBy,
}

/// Calls the orders service as the visitor whose `session` and `request` these are, noting the
/// call in the session's trace: its answer's body as `T` if it answered `200`, else its error
/// as the shop's.
pub async fn ask<T: DeserializeOwned>(
    service: &dyn OrdersService,
    method: Method,
    session: &Session,
    registry: &SessionRegistry,
    request: &Parts,
) -> Result<(T, ServedBy), AppError> {
    let visitor = Forwarded::of(session, registry, request);
    let call = async {
        let started = Instant::now();
        let reply = service.call(method.clone(), &visitor).await;
        trace::step(started, || describe(&method, &reply));
        reply
    };
    parse(trace::within(&session.tracing().trace, call).await)
}

/// The trace's step for a call: which instance, what it answered, how it checked the session.
fn describe(method: &Method, reply: &Result<OrdersReply, String>) -> (String, String) {
    match reply {
        Ok(reply) => (
            format!(
                "orders service {} {method} /orders",
                reply.served_by.instance
            ),
            format!(
                "{}: {} in {} µs there",
                reply.status, reply.served_by.verified, reply.served_by.micros
            ),
        ),
        Err(error) => (format!("orders service {method} /orders"), error.clone()),
    }
}

fn parse<T: DeserializeOwned>(
    reply: Result<OrdersReply, String>,
) -> Result<(T, ServedBy), AppError> {
    // What went wrong inside goes to the log; the visitor learns that it did.
    let reply = reply.map_err(|error| {
        tracing::warn!(%error, "the orders service does not answer");
        AppError::new(
            ErrorCode::ServiceUnavailable,
            "the orders service does not answer",
        )
    })?;
    if reply.status != 200 {
        let refused: ErrorBody = serde_json::from_slice(&reply.body).map_err(AppError::internal)?;
        let message = if reply.status >= 500 {
            let detail = refused.error.message;
            tracing::warn!(status = reply.status, detail, "the orders service failed");
            "the orders service could not answer: try again in a moment".to_owned()
        } else {
            format!("the orders service: {}", refused.error.message)
        };
        return Err(AppError::new(refused.error.code, message).with_status(reply.status));
    }
    let answer = serde_json::from_slice(&reply.body).map_err(AppError::internal)?;
    Ok((answer, reply.served_by))
}
