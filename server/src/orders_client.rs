//! The shop's side of the orders service: [`app::shop::orders_service::OrdersService`] as HTTP
//! calls to `ORDERS_URL`, forwarding the visitor's strategy and credential, and reading which
//! instance answered (`X-Instance`) and how it checked the session (`X-Session-Verified`,
//! `Server-Timing`).

use crate::{http_client::HttpClient, orders::VERIFIED_HEADER};
use app::{
    model::ServedBy,
    shop::orders_service::{Forwarded, OrdersReply, OrdersService},
};
use async_trait::async_trait;
use http::{header, HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use session_strategies::{
    session::transport::{Carrier, BEARER_SCHEME},
    STRATEGY_HEADER,
};
use std::time::Duration;

/// An order call gives up after this: the page says the orders service does not answer.
const DEADLINE: Duration = Duration::from_secs(5);

pub struct OrdersClient {
    http: HttpClient,
    /// `http://host:port/api/v1/orders`.
    url: String,
}

impl OrdersClient {
    pub fn new(orders_url: &str) -> Self {
        Self {
            http: HttpClient::new(DEADLINE),
            url: format!("{}/api/v1/orders", orders_url.trim_end_matches('/')),
        }
    }
}

#[async_trait]
impl OrdersService for OrdersClient {
    async fn call(&self, method: Method, visitor: &Forwarded) -> Result<OrdersReply, String> {
        let mut query = visitor.query.clone();
        let mut authorization = visitor.authorization.clone();
        match &visitor.current {
            Some((Carrier::UrlParam(name), token)) => query = Some(format!("{name}={token}")),
            Some((Carrier::Bearer, token)) => {
                authorization = HeaderValue::from_str(&format!("{BEARER_SCHEME} {token}")).ok();
            }
            _ => {}
        }
        let url = match query {
            Some(query) => format!("{}?{query}", self.url),
            None => self.url.clone(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(STRATEGY_HEADER, visitor.strategy.id());
        if let Some(cookie) = &visitor.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::default())
            .map_err(|error| error.to_string())?;
        let answer = self.http.send(request).await?;
        Ok(OrdersReply {
            status: answer.status.as_u16(),
            served_by: served_by(&answer.headers),
            body: answer.body.to_vec(),
        })
    }
}

/// Which instance answered and how it checked the session, from its headers.
fn served_by(headers: &HeaderMap) -> ServedBy {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("unknown")
            .to_owned()
    };
    // `session;desc="store read";dur=0.412`: milliseconds.
    let micros = text("server-timing")
        .rsplit_once("dur=")
        .and_then(|(_, ms)| ms.parse::<f64>().ok())
        .map_or(0, |ms| (ms * 1000.0).round() as u64);
    ServedBy {
        instance: text(crate::observability::INSTANCE_HEADER),
        verified: text(VERIFIED_HEADER.as_str()),
        micros,
    }
}
