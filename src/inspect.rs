//! Where a session lives right now: every credential the request carried, decoded where it can
//! be, and the server's copy. Read-only: inspecting changes nothing.

use crate::{
    backend::ServerCopy,
    error::SessionError,
    registry::SessionRegistry,
    session::Session,
    signed_url::{query_param, URL_PARAM},
    trace::{now_ms, request_label, RequestTrace},
    transport::request_cookie,
};
use http::{header::AUTHORIZATION, request::Parts};
use serde::Serialize;

/// API.md's Inspection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    pub strategy: String,
    pub client: Vec<ClientArtifact>,
    pub server: Option<ServerCopy>,
    /// What the session layer did for this session's last requests, oldest first, ending with
    /// this request so far.
    pub trace: Vec<RequestTrace>,
}

/// One thing the client sends for its session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientArtifact {
    /// `cookie`, `header` or `url`.
    pub transport: &'static str,
    pub name: String,
    /// Bytes on the wire: `name=value` for a cookie or parameter, the value for a header.
    pub bytes: usize,
    pub value: String,
    /// A JWT's header and claims; `None` where the value is opaque or encrypted.
    pub decoded: Option<serde_json::Value>,
}

/// Inspects `session` as loaded from `request`.
pub async fn inspect(
    registry: &SessionRegistry,
    session: &Session,
    request: &Parts,
) -> Result<Inspection, SessionError> {
    let backend = registry.get(session.strategy())?;
    let mut client = Vec::new();
    for name in backend.cookie_names() {
        if let Some(value) = request_cookie(request, name) {
            client.push(ClientArtifact {
                transport: "cookie",
                name: (*name).to_owned(),
                bytes: name.len() + 1 + value.len(),
                decoded: backend.decode_credential(&value),
                value,
            });
        }
    }
    if backend.recognizes(request) {
        if let Some(token) = request
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
        {
            client.push(ClientArtifact {
                transport: "header",
                name: "Authorization".into(),
                bytes: token.len() + "Bearer ".len(),
                decoded: backend.decode_credential(token),
                value: token.to_owned(),
            });
        }
        if let Some(token) = query_param(request, URL_PARAM) {
            client.push(ClientArtifact {
                transport: "url",
                name: URL_PARAM.into(),
                bytes: URL_PARAM.len() + 1 + token.len(),
                decoded: None,
                value: token,
            });
        }
    }
    let server = match session.key() {
        Some(key) => backend.server_copy(&key).await,
        None => None,
    };
    let tracing = session.tracing();
    let mut trace = registry.traces().recent(tracing.ring);
    trace.push(
        tracing
            .trace
            .entry(request_label(request), session.strategy().id(), now_ms()),
    );
    Ok(Inspection {
        strategy: session.strategy().id().to_owned(),
        client,
        server,
        trace,
    })
}
