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
use session_strategies::{session::transport::Carrier, trace, Session, SessionRegistry, Strategy};
use std::time::Instant;

/// `method /api/v1/orders` at the orders service, as `visitor`.
#[async_trait]
pub trait OrdersService: Send + Sync {
    async fn call(&self, method: Method, visitor: &Forwarded) -> Result<OrdersReply, String>;
}

/// What of a visitor's request the shop forwards: the strategy, and the credential wherever it
/// travels (cookies, a Bearer header, the query), as the visitor sent it; and where this very
/// request renewed it (a JWT refreshed in passing), the renewed one in its carrier, since the
/// one sent has just been spent.
pub struct Forwarded {
    pub strategy: Strategy,
    pub cookie: Option<HeaderValue>,
    pub authorization: Option<HeaderValue>,
    pub query: Option<String>,
    pub renewed: Option<(Carrier, String)>,
}

impl Forwarded {
    pub fn of(session: &Session, registry: &SessionRegistry, request: &Parts) -> Self {
        let strategy = session.strategy();
        let carrier = registry.get(strategy).ok().and_then(|backend| {
            let carriers = backend.carriers();
            carriers
                .iter()
                .copied()
                .find(|carrier| !carrier.is_cookie())
        });
        Self {
            strategy,
            cookie: request.headers.get(COOKIE).cloned(),
            authorization: request.headers.get(AUTHORIZATION).cloned(),
            query: request.uri.query().map(str::to_owned),
            renewed: carrier.zip(session.credential()),
        }
    }
}

/// The orders service's answer.
pub struct OrdersReply {
    pub status: u16,
    pub body: Vec<u8>,
    pub served_by: ServedBy,
}

/// Calls the orders service, noting it in the session's trace (`on`): its answer's body as `T`
/// if it answered `200`, else its error as the shop's.
pub async fn ask<T: DeserializeOwned>(
    service: &dyn OrdersService,
    method: Method,
    visitor: &Forwarded,
    on: &trace::Trace,
) -> Result<(T, ServedBy), AppError> {
    let call = async {
        let started = Instant::now();
        let reply = service.call(method.clone(), visitor).await;
        trace::step(started, || describe(&method, &reply));
        reply
    };
    parse(trace::within(on, call).await)
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
    let reply = reply.map_err(|error| {
        AppError::new(
            ErrorCode::ServiceUnavailable,
            format!("the orders service does not answer: {error}"),
        )
    })?;
    if reply.status != 200 {
        let refused: ErrorBody = serde_json::from_slice(&reply.body).map_err(AppError::internal)?;
        let message = format!("the orders service: {}", refused.error.message);
        return Err(AppError::new(refused.error.code, message).with_status(reply.status));
    }
    let answer = serde_json::from_slice(&reply.body).map_err(AppError::internal)?;
    Ok((answer, reply.served_by))
}
