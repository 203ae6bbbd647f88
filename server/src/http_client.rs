//! The calls between the shop and the orders service (the key set, introspection, order
//! calls), over hyper-util's pooled HTTP/1.1 client: each call has a deadline, and an answer's
//! body is read up to a limit.

use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The largest answer body read.
const BODY_LIMIT: usize = 1 << 20;

/// An answer: status, headers and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|error| format!("unreadable answer: {error}"))
    }
}

#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    deadline: Duration,
}

impl HttpClient {
    /// Calls that give up after `deadline`.
    pub fn new(deadline: Duration) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            deadline,
        }
    }

    /// Sends `request` and reads the answer.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, String> {
        // Errors name the address without its query, which may hold a credential.
        let uri = format!(
            "{}{}",
            request
                .uri()
                .authority()
                .map_or("", |authority| authority.as_str()),
            request.uri().path()
        );
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| format!("{uri}: {error}"))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, BODY_LIMIT)
                .collect()
                .await
                .map_err(|error| format!("{uri}: {error}"))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.deadline, call)
            .await
            .map_err(|_| format!("{uri}: no answer within {:?}", self.deadline))?
    }

    /// `GET url`, expecting `200` and JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let request = Request::get(url)
            .body(Full::default())
            .map_err(|error| error.to_string())?;
        let answer = self.send(request).await?;
        if answer.status != StatusCode::OK {
            return Err(format!("{url} answered {}", answer.status));
        }
        answer.json()
    }
}
