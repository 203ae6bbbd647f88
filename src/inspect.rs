//! Where a session lives right now: every credential the request carried, decoded where it can
//! be, and the server's copy. Read-only: inspecting changes nothing. It never hands back a
//! credential whole: a page that shows the inspection must not be able to replay an HttpOnly
//! cookie, so credentials and store keys appear as their first and last characters.
//! [`measure`] runs the backends for `/compare`.

pub mod measure;

use crate::{
    clock::now_ms,
    session::{
        backend::ServerCopy, error::SessionError, handle::Session, layer::cookie_flags,
        registry::SessionRegistry,
    },
    trace::{request_label, RequestTrace},
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
    /// The first and last characters: enough to tell credentials apart, too few to replay.
    pub preview: String,
    /// The attributes the server set a cookie with; `None` for headers and URLs.
    pub flags: Option<String>,
    /// A JWT's header and claims (never its signature); `None` where the value is opaque or
    /// encrypted.
    pub decoded: Option<serde_json::Value>,
}

/// `eyJhbG…x3Qk`: the first six and the last four characters of a secret.
pub fn preview(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 12 {
        return "…".repeat(chars.len().min(1));
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
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
                preview: preview(&value),
                flags: carrier
                    .is_cookie()
                    .then(|| cookie_flags(registry.secure_cookies())),
                // Only what opened this session: a captured credential that did not (a
                // state cookie without its token) is not opened for whoever shows it.
                decoded: session
                    .key()
                    .and_then(|_| backend.decode_credential(&value)),
            })
        })
        .collect();
    let server = match session.key() {
        Some(key) => backend.server_copy(&key).await.map(|mut copy| {
            copy.key = preview(&copy.key);
            copy
        }),
        None => None,
    };
    let tracing = session.tracing();
    let mut trace = registry.traces().recent(tracing.ring).await;
    let mut current =
        tracing
            .trace
            .entry(request_label(request), session.strategy().id(), now_ms());
    current.instance = registry.traces().instance().to_owned();
    trace.push(current);
    Ok(Inspection {
        strategy: session.strategy().id().to_owned(),
        client,
        server,
        trace,
    })
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn a_preview_is_too_short_to_replay() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        assert_eq!(preview(token), "eyJhbG…dXJl");
        assert_eq!(preview("short"), "…");
        assert_eq!(preview(""), "");
    }
}
