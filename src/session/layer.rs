//! The axum middleware: choose the strategy, load the session before the handler, store it and
//! send the client its cookies after.

use super::{
    backend::Loaded,
    error::{LoadError, SessionError},
    handle::{ClientUpdate, Notice, RejectWith, Session},
    registry::SessionRegistry,
    transport::{
        bearer_token, presented_bytes, request_cookie, Carrier, ClientChange, HostPrefixedCookies,
        RequestCookies, HOST_PREFIX,
    },
};
use crate::{
    clock::now_ms,
    strategy::Strategy,
    trace::{self, Tracing},
};
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use axum_extra::extract::cookie::{Cookie, SameSite};
use http::{
    header::{CACHE_CONTROL, COOKIE, REFERRER_POLICY, SET_COOKIE},
    request::Parts,
    HeaderMap, HeaderValue,
};
use std::{collections::BTreeMap, time::Duration};

/// The request header that picks a strategy (API clients).
pub const STRATEGY_HEADER: &str = "x-session-strategy";
/// The cookie that remembers the browser's strategy.
pub const STRATEGY_COOKIE: &str = "strategy";
/// How long the browser remembers its chosen strategy.
const STRATEGY_COOKIE_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

/// What the middleware needs: the backends, the cookie policy and how the application renders
/// an error (the layer knows no HTTP error shape of its own).
#[derive(Clone)]
pub struct SessionLayerState {
    /// The backends, and the cookie policy (`Secure` or not).
    pub registry: SessionRegistry,
    pub reject: RejectWith,
}

/// Use with `axum::middleware::from_fn_with_state`.
pub async fn session_layer(
    State(layer): State<SessionLayerState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if layer.registry.secure_cookies() {
        parts.extensions.insert(HostPrefixedCookies);
    }
    parts.extensions.insert(RequestCookies::of(&parts.headers));
    let arrived_ms = now_ms();
    let label = trace::request_label(&parts);
    let session = match open_session(&layer.registry, &parts).await {
        Ok(session) => session,
        Err(error) => return (layer.reject.0)(error),
    };
    parts.extensions.insert(session.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Err(error) = session.commit().await {
        tracing::warn!(%error, "session could not be stored after the handler");
        return (layer.reject.0)(error);
    }
    let headers = response.headers_mut();
    // What this response shows depends on the session: no shared cache may keep it, and no
    // browser cache may hand it to the next person at this computer.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if session.credential_in_url() {
        // The page's URLs hold the session: keep them out of Referer headers.
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    let update = session.take_client_update();
    record_trace(&layer.registry, &session, &update, label, arrived_ms);
    write_client_update(
        response.headers_mut(),
        update,
        layer.registry.secure_cookies(),
    );
    response
}

/// Files this request's steps in the session's trace ring, under the credential the client
/// holds from now on.
fn record_trace(
    registry: &SessionRegistry,
    session: &Session,
    update: &ClientUpdate,
    label: String,
    arrived_ms: i64,
) {
    let tracing = session.tracing();
    let strategy = session.strategy();
    let Ok(backend) = registry.get(strategy) else {
        return;
    };
    // The cookie that names the session, if the strategy keeps one.
    let primary = backend.carriers().iter().find_map(|carrier| match carrier {
        Carrier::Cookie(name) => Some(*name),
        _ => None,
    });
    let mut after = if update.switched_to.is_some() {
        None
    } else {
        tracing.ring
    };
    for change in &update.changes {
        match change {
            ClientChange::Credential(value) => after = Some(backend.trace_key(value)),
            ClientChange::SetCookie { name, value, .. } if Some(*name) == primary => {
                after = Some(backend.trace_key(value));
            }
            ClientChange::RemoveCookie { name } if Some(*name) == primary => after = None,
            _ => {}
        }
    }
    let entry = tracing.trace.finish(label, strategy.id(), arrived_ms);
    registry.traces().record(tracing.ring, after, entry);
}

/// The strategy a request asks for: the header, else the strategy whose own credential the
/// request carries (a Bearer token, a URL token), else the cookie, else the default. An unknown
/// id in the header is an error; in the cookie it is stale and ignored.
pub fn requested_strategy(
    registry: &SessionRegistry,
    request: &Parts,
) -> Result<Strategy, SessionError> {
    strategy_asked(
        request,
        || registry.recognizing(request),
        registry.default_strategy(),
    )
}

/// [`requested_strategy`] for a service that recognizes credentials its own way (the orders
/// service): `recognizing` names the strategy whose own credential the request carries.
pub fn strategy_asked(
    request: &Parts,
    recognizing: impl FnOnce() -> Option<Strategy>,
    default: Strategy,
) -> Result<Strategy, SessionError> {
    if let Some(header) = request.headers.get(STRATEGY_HEADER) {
        let id = header.to_str().unwrap_or_default();
        return Ok(id.parse::<Strategy>()?);
    }
    if let Some(strategy) = recognizing() {
        return Ok(strategy);
    }
    Ok(request_cookie(request, STRATEGY_COOKIE)
        .and_then(|id| id.parse().ok())
        .unwrap_or(default))
}

/// Loads the request's session with the chosen backend. An expired or invalid credential gives
/// a fresh guest with a notice and tells the client to drop it; an unavailable store is an error.
pub async fn open_session(
    registry: &SessionRegistry,
    request: &Parts,
) -> Result<Session, SessionError> {
    let strategy = requested_strategy(registry, request)?;
    let backend = registry.get(strategy)?;
    let mut tracing = Tracing::default();
    backend
        .availability()
        .await
        .map_err(|unavailable| SessionError::Unavailable {
            strategy,
            reason: unavailable.reason,
        })?;
    let mut unknown_here = false;
    let (loaded, notice) = match trace::within(&tracing.trace, backend.load(request)).await {
        // The absolute timeout: over however active, and ended for real.
        Ok(Some(loaded)) if loaded.data.is_past_max_age() => {
            let ended = trace::within(&tracing.trace, backend.destroy(loaded.key.as_ref())).await;
            if let Err(error) = ended {
                tracing::warn!(%strategy, %error, "could not end a session past its absolute timeout");
            }
            (None, Some(Notice::SessionExpired))
        }
        // A login ended from elsewhere (another device, "log out everywhere").
        Ok(Some(loaded)) if login_ended(registry, strategy, &loaded).await? => {
            let ended = trace::within(&tracing.trace, backend.destroy(loaded.key.as_ref())).await;
            if let Err(error) = ended {
                tracing::warn!(%strategy, %error, "could not end a session whose login was ended");
            }
            (None, Some(Notice::SessionInvalid))
        }
        Ok(loaded) => (loaded, None),
        Err(LoadError::Expired) => (None, Some(Notice::SessionExpired)),
        Err(LoadError::Invalid(reason)) => {
            tracing::info!(%strategy, reason, "serving a fresh guest for an invalid session");
            (None, Some(Notice::SessionInvalid))
        }
        Err(LoadError::Unknown) => {
            unknown_here = backend.keeps_state_in_process();
            (None, Some(Notice::SessionInvalid))
        }
        Err(error @ (LoadError::Unavailable(_) | LoadError::Rejected { .. })) => {
            return Err(SessionError::from_load(strategy, error))
        }
    };
    // The ring is named by the credential only once it has opened a session: anyone can
    // present a new made-up credential with every request, and each would start a ring (in
    // Redis too, where the instances share them).
    if loaded.is_some() {
        tracing.ring = backend
            .presented_credential(request)
            .map(|value| backend.trace_key(&value));
    }
    let session = Session::new(registry.clone(), strategy, loaded, notice, tracing.clone());
    session
        .set_keeps_tokens(bearer_token(request).is_some() || !request.headers.contains_key(COOKIE));
    let carried = presented_bytes(backend.carriers(), request);
    if carried > 0 {
        session.set_client_bytes(carried);
    }
    // An id that only this instance does not know stays with the client: another may hold it.
    if notice.is_some() && !unknown_here {
        let forget = trace::within(&tracing.trace, backend.destroy(None))
            .await
            .map_err(|error| SessionError::from_backend(strategy, error))?;
        session.push_client_changes(forget);
    }
    Ok(session)
}

/// Whether `loaded`, a session of `strategy`, belongs to a login that was ended from elsewhere.
async fn login_ended(
    registry: &SessionRegistry,
    strategy: Strategy,
    loaded: &Loaded,
) -> Result<bool, SessionError> {
    let (Some(logins), Some(handle)) = (registry.logins(), &loaded.data.login) else {
        return Ok(false);
    };
    logins
        .is_ended(handle)
        .await
        .map_err(|unavailable| SessionError::Unavailable {
            strategy,
            reason: unavailable.reason,
        })
}

/// Turns client changes into `Set-Cookie` headers, one per cookie name. When a commit both
/// removes and sets a name (switching between two strategies that use `sid`), the set wins.
pub fn write_client_update(headers: &mut HeaderMap, update: ClientUpdate, secure: bool) {
    let mut cookies: BTreeMap<&str, Cookie<'static>> = BTreeMap::new();
    for change in update.changes {
        match change {
            ClientChange::SetCookie {
                name,
                value,
                max_age,
            } => {
                cookies.insert(name, build_cookie(name, value, max_age, secure));
            }
            ClientChange::RemoveCookie { name } => {
                let already_set = cookies
                    .get(name)
                    .is_some_and(|cookie| !cookie.value().is_empty());
                if !already_set {
                    cookies.insert(
                        name,
                        build_cookie(name, String::new(), Duration::ZERO, secure),
                    );
                }
            }
            ClientChange::Credential(_) | ClientChange::RefreshToken(_) => {}
        }
    }
    if let Some(strategy) = update.switched_to {
        // A URL strategy sets no cookie at all: its token names the strategy by itself.
        let (value, age) = if update.url_carried {
            (String::new(), Duration::ZERO)
        } else {
            (strategy.id().to_owned(), STRATEGY_COOKIE_AGE)
        };
        cookies.insert(
            STRATEGY_COOKIE,
            build_cookie(STRATEGY_COOKIE, value, age, secure),
        );
    }
    for cookie in cookies.into_values() {
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            headers.append(SET_COOKIE, value);
        }
    }
}

/// The attributes of every cookie this app sets, as the inspector describes them.
pub fn cookie_flags(secure: bool) -> String {
    let flags = "HttpOnly; SameSite=Lax; Path=/";
    if secure {
        format!("{flags}; Secure")
    } else {
        flags.to_owned()
    }
}

/// Every cookie this app sets: HttpOnly (no script reads a session), SameSite=Lax (no
/// cross-site POST carries it), path `/`, and over HTTPS `Secure` and a `__Host-` name
/// ([`cookie_flags`] says so).
fn build_cookie(
    name: &'static str,
    value: String,
    max_age: Duration,
    secure: bool,
) -> Cookie<'static> {
    let name = if secure {
        format!("{HOST_PREFIX}{name}")
    } else {
        name.to_owned()
    };
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(time::Duration::seconds(max_age.as_secs() as i64))
        .build()
}
