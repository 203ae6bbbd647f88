//! Where a session lives right now: every credential the request carried, decoded where it can
//! be, and the server's copy. Read-only: inspecting changes nothing.

use crate::{
    backend::ServerCopy,
    error::SessionError,
    registry::SessionRegistry,
    session::Session,
    trace::{now_ms, request_label, RequestTrace},
};
use http::request::Parts;
use serde::Serialize;

/// What `GET /api/v1/inspect` answers (its schema is in the OpenAPI document).
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
    /// Bytes on the wire: `name=value` for a cookie or parameter, `Bearer value` for a header.
    pub bytes: usize,
    pub value: String,
    /// A JWT's header and claims; `None` where the value is opaque or encrypted.
    pub decoded: Option<serde_json::Value>,
}

/// Inspects `session` as loaded from `request`: every credential the request carried through
/// the backend's carriers, in the order the backend lists them.
pub async fn inspect(
    registry: &SessionRegistry,
    session: &Session,
    request: &Parts,
) -> Result<Inspection, SessionError> {
    let backend = registry.get(session.strategy())?;
    let client = backend
        .carriers()
        .iter()
        .filter_map(|carrier| {
            let value = carrier.read(request)?;
            Some(ClientArtifact {
                transport: carrier.kind(),
                name: carrier.name().to_owned(),
                bytes: carrier.wire_bytes(&value),
                decoded: backend.decode_credential(&value),
                value,
            })
        })
        .collect();
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
