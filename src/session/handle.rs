//! The per-request session handle that handlers and server functions change.
//!
//! The layer loads the session once and puts a [`Session`] in the request's extensions, where
//! handlers take it as an extractor. Changes go through methods that say what they mean
//! (`change`, `log_in`, `log_out`, `switch_to`) and store the result at once, so a handler can
//! answer with the new credential, and a failed store (a cookie grown too large, a store gone
//! down) leaves the session as it was.

use super::{
    backend::{Loaded, Revision, SessionKey, Stored},
    data::{SessionData, SessionUser},
    error::SessionError,
    registry::SessionRegistry,
    transport::{client_bytes, url_param, Carrier, ClientChange},
};
use crate::{
    clock::now_unix,
    crypto::secrets::random_id,
    strategy::Strategy,
    trace::{self, Tracing},
    url_credential::UrlCredential,
};
use axum::{
    extract::{FromRef, FromRequestParts},
    response::Response,
};
use http::request::Parts;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard};

/// Why a request was served as a new guest although it carried a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    SessionExpired,
    SessionInvalid,
}

/// The current request's session. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    registry: SessionRegistry,
    state: Mutex<State>,
    /// Serialises the store round trips of one request; the state lock is never held across
    /// an await.
    io: tokio::sync::Mutex<()>,
    tracing: Tracing,
}

/// How many times a write re-applies its change when other writes to the session keep coming
/// first. Every write of this instance waits its turn, so the competitors are the other
/// instances' writes, at most one each at a time, and each round one of them lands: with three
/// instances a write loses 64 rounds in a row about once in 10^11.
pub const WRITE_ATTEMPTS: u32 = 64;

/// A short random pause before re-reading (under a millisecond at first, at most four), so
/// that writers from several instances do not keep colliding in step.
fn retry_pause(attempt: u32) -> std::time::Duration {
    let ceiling = 500 * u64::from(attempt.min(8));
    std::time::Duration::from_micros(rand::random_range(0..ceiling))
}

struct State {
    strategy: Strategy,
    /// Where the current strategy's credentials travel (its backend's carriers).
    carriers: &'static [Carrier],
    data: SessionData,
    key: Option<SessionKey>,
    expires_at: Option<i64>,
    notice: Option<Notice>,
    /// The credential the client must send back itself (a Bearer or URL token), if any.
    credential: Option<String>,
    refresh_token: Option<String>,
    /// Bytes of session credential the client sends with each request.
    client_bytes: usize,
    /// The client keeps its own tokens (it sent a Bearer header, or no cookie at all): only
    /// then may a response body carry an access or refresh token.
    keeps_tokens: bool,
    /// `data` changed since it was loaded or stored: the next commit stores it.
    dirty: bool,
    /// The next store must put the session under a new key and retire the old one (login).
    rotate: bool,
    /// The server copy `data` was read from by [`Session::change`]: the next commit writes
    /// only over that copy (compare-and-set), never over a newer one or a deleted one.
    revision: Option<Revision>,
    /// The revision of the server copy this request loaded, with the strategy and key it was
    /// loaded under, until something is stored: [`Session::change`]'s first attempt applies
    /// the change to `data` and writes over that revision, instead of reading the copy again
    /// (a write read the same row twice). The store checks it, so a stale guess costs one
    /// conflict and the usual read.
    loaded_revision: Option<(Strategy, SessionKey, Revision)>,
    /// What the response must tell the client: cookies to set or remove, credentials.
    client: Vec<ClientChange>,
    /// The session moved to another strategy during this request: the layer updates the
    /// browser's strategy cookie.
    switched: bool,
}

/// What the layer must send back: cookie changes and, after a switch, the new strategy.
pub struct ClientUpdate {
    pub changes: Vec<ClientChange>,
    pub switched_to: Option<Strategy>,
    /// The strategy's credential travels in URLs: the browser keeps no cookie for it at all.
    pub url_carried: bool,
}

impl Session {
    /// A handle over what the backend for `strategy` loaded, or a new guest.
    pub fn new(
        registry: SessionRegistry,
        strategy: Strategy,
        loaded: Option<Loaded>,
        notice: Option<Notice>,
        tracing: Tracing,
    ) -> Self {
        let (data, key, expires_at, client, revision) = match loaded {
            Some(loaded) => (
                loaded.data,
                loaded.key,
                Some(loaded.expires_at),
                loaded.client,
                loaded.revision,
            ),
            None => (
                SessionData::guest_for(registry.max_age()),
                None,
                None,
                Vec::new(),
                None,
            ),
        };
        let loaded_revision = key
            .clone()
            .zip(revision)
            .map(|(key, revision)| (strategy, key, revision));
        let mut state = State {
            strategy,
            carriers: carriers_of(&registry, strategy),
            data,
            key,
            expires_at,
            notice,
            credential: None,
            refresh_token: None,
            client_bytes: 0,
            keeps_tokens: false,
            dirty: false,
            rotate: false,
            revision: None,
            loaded_revision,
            client: Vec::new(),
            switched: false,
        };
        state.receive(client);
        Self {
            inner: Arc::new(Inner {
                registry,
                state: Mutex::new(state),
                io: tokio::sync::Mutex::new(()),
                tracing,
            }),
        }
    }

    /// This request's trace and the ring of earlier requests it continues.
    pub fn tracing(&self) -> &Tracing {
        &self.inner.tracing
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still consistent enough
        // to read: recover rather than poison every later request.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn strategy(&self) -> Strategy {
        self.state().strategy
    }

    /// A copy of the session's current data.
    pub fn data(&self) -> SessionData {
        self.state().data.clone()
    }

    /// The handle of the login this session belongs to, without copying the rest of the data.
    pub fn login(&self) -> Option<String> {
        self.state().data.login.clone()
    }

    pub fn notice(&self) -> Option<Notice> {
        self.state().notice
    }

    /// Unix seconds at which the stored copy expires; `None` while nothing is stored.
    pub fn expires_at(&self) -> Option<i64> {
        self.state().expires_at
    }

    /// What the client must send back itself (a Bearer token, a URL token), if anything.
    pub fn credential(&self) -> Option<String> {
        self.state().credential.clone()
    }

    /// Bytes of session credential the client sends with every request (cookies, a Bearer token
    /// or a URL token): what the strategy costs on the wire.
    pub fn client_bytes(&self) -> usize {
        self.state().client_bytes
    }

    /// Records what the request itself carried, measured by the layer.
    pub fn set_client_bytes(&self, bytes: usize) {
        self.state().client_bytes = bytes;
    }

    /// Records whether the client keeps its own tokens (a Bearer header, or no cookies at all),
    /// as the layer saw the request.
    pub fn set_keeps_tokens(&self, keeps_tokens: bool) {
        self.state().keeps_tokens = keeps_tokens;
    }

    /// Whether a response body may carry this session's access and refresh tokens. A client
    /// whose cookies carry the session must never find them there: one injected script could
    /// read them, while the HttpOnly cookies stay out of its reach.
    pub fn keeps_tokens(&self) -> bool {
        self.state().keeps_tokens
    }

    /// Whether this strategy keeps the session in cookies. The app's own cookies go only
    /// with such strategies: a visitor under one that carries it in URLs may have cookies
    /// blocked, and was promised none.
    pub fn carried_by_cookies(&self) -> bool {
        self.state()
            .carriers
            .iter()
            .any(|carrier| matches!(carrier, Carrier::Cookie(_)))
    }

    /// The credential when this strategy carries it in URLs (signed-url), with its parameter,
    /// for every link, form and redirect the response writes.
    pub fn url_credential(&self) -> Option<UrlCredential> {
        let state = self.state();
        let param = url_param(state.carriers)?;
        Some(UrlCredential {
            param: param.to_owned(),
            value: state.credential.clone()?,
        })
    }

    /// Whether this strategy's credential travels in URLs, so pages must keep their URLs out
    /// of Referer headers and caches.
    pub fn credential_in_url(&self) -> bool {
        url_param(self.state().carriers).is_some()
    }

    /// A refresh token issued by this request, for clients that keep their own tokens.
    pub fn refresh_token(&self) -> Option<String> {
        self.state().refresh_token.clone()
    }

    /// The backend's key for this session (a store id), if it has one.
    pub fn key(&self) -> Option<SessionKey> {
        self.state().key.clone()
    }

    /// Applies `change` and stores the result. If `change` fails nothing happens; if storing
    /// fails the data goes back to what it was and the error is returned.
    ///
    /// Where the server keeps the session, the change is applied to the copy stored now, and
    /// stored with a compare-and-set on that copy's revision. The first try takes the copy
    /// this request loaded to be the one stored now, when the store named its revision and
    /// nothing was stored since (one read fewer per write); the compare-and-set proves it or
    /// fails, and then the copy is read again without counting that try. In every case,
    /// when another write (from this instance or any other) lands in between, the change is
    /// applied again to the newer copy, up to [`WRITE_ATTEMPTS`] times, then the answer is
    /// [`SessionError::Conflict`]. This instance's own writes to one session also take turns,
    /// so that they do not spend those attempts on each other. A session ended meanwhile
    /// (logged out) is not written again: the answer is [`SessionError::Ended`].
    pub async fn change<T, E>(
        &self,
        mut change: impl FnMut(&mut SessionData) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<SessionError>,
    {
        let (strategy, key) = {
            let state = self.state();
            (state.strategy, state.key.clone())
        };
        let _turn = match &key {
            Some(key) => Some(self.inner.registry.lock_writes(strategy, key).await),
            None => None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded_revision = self.state().take_loaded_revision(strategy, key.as_ref());
            let guessed = loaded_revision.is_some();
            if let Some(revision) = loaded_revision {
                self.state().revision = Some(revision);
            } else if let Some(key) = &key {
                let backend = self.inner.registry.get(strategy)?;
                let stored = trace::within(&self.inner.tracing.trace, backend.stored(key))
                    .await
                    .map_err(|error| SessionError::from_load(strategy, error))?;
                match stored {
                    Stored::Found(fresh, revision) => {
                        let mut state = self.state();
                        state.data = fresh;
                        state.revision = Some(revision);
                    }
                    Stored::Gone => return Err(SessionError::Ended.into()),
                    Stored::NotKept => {}
                }
            }
            let before = {
                let mut state = self.state();
                let before = state.data.clone();
                let value = change(&mut state.data).inspect_err(|_| state.revision = None)?;
                if state.data == before {
                    state.revision = None;
                    return Ok(value);
                }
                state.dirty = true;
                (before, value)
            };
            match self.commit().await {
                Ok(()) => return Ok(before.1),
                Err(error) => {
                    {
                        let mut state = self.state();
                        state.data = before.0;
                        state.dirty = false;
                    }
                    if error == SessionError::Conflict && guessed {
                        // Written since this request loaded it: read it now, as a first try.
                        attempt -= 1;
                        continue;
                    }
                    if error == SessionError::Conflict && attempt < WRITE_ATTEMPTS {
                        // Another write came first: let it finish, then re-read and re-apply.
                        tokio::time::sleep(retry_pause(attempt)).await;
                        continue;
                    }
                    return Err(error.into());
                }
            }
        }
    }

    /// Logs `user` in, keeping the cart, under a new session key so that a key fixed before
    /// login (session fixation) is worthless after it.
    pub async fn log_in(&self, user: SessionUser) -> Result<(), SessionError> {
        let before = {
            let mut state = self.state();
            let before = (state.data.clone(), state.rotate);
            state.data.user = Some(user);
            state.data.login = Some(random_id());
            // The absolute timeout counts from login.
            state.data.expires_by =
                now_unix().saturating_add(self.inner.registry.max_age().as_secs() as i64);
            state.dirty = true;
            state.rotate = true;
            before
        };
        self.commit().await.inspect_err(|_| {
            let mut state = self.state();
            (state.data, state.rotate) = before;
            state.dirty = false;
        })
    }

    /// Ends the session wherever it lives and continues as a fresh guest.
    pub async fn log_out(&self) -> Result<(), SessionError> {
        let _io = self.inner.io.lock().await;
        let (strategy, key) = {
            let state = self.state();
            (state.strategy, state.key.clone())
        };
        let backend = self.inner.registry.get(strategy)?;
        let changes = trace::within(&self.inner.tracing.trace, backend.destroy(key.as_ref()))
            .await
            .map_err(|error| SessionError::from_backend(strategy, error))?;
        let mut state = self.state();
        state.data = SessionData::guest_for(self.inner.registry.max_age());
        state.key = None;
        state.expires_at = None;
        state.credential = None;
        state.refresh_token = None;
        state.client_bytes = 0;
        state.dirty = false;
        state.rotate = false;
        state.client.extend(changes);
        Ok(())
    }

    /// Moves the session (login and cart) to `target` and destroys the copy in the current
    /// strategy. The new copy is written first, so a failure leaves the old one intact.
    pub async fn switch_to(&self, target: Strategy) -> Result<(), SessionError> {
        let _io = self.inner.io.lock().await;
        let (current, mut data, key) = {
            let state = self.state();
            (state.strategy, state.data.clone(), state.key.clone())
        };
        if current == target {
            return Ok(());
        }
        let new_backend = self.inner.registry.get(target)?;
        let old_backend = self.inner.registry.get(current)?;
        data.touch();
        // Saved even when blank: a URL strategy needs its token from the first page on.
        let saved = trace::within(
            &self.inner.tracing.trace,
            new_backend.save(&data, None, false),
        )
        .await
        .map_err(|error| SessionError::from_backend(target, error))?;
        let removed = match trace::within(
            &self.inner.tracing.trace,
            old_backend.destroy(key.as_ref()),
        )
        .await
        {
            Ok(changes) => changes,
            Err(error) => {
                // The new copy is live; the old one is only orphaned until its TTL ends.
                tracing::warn!(strategy = %current, %error, "could not destroy the old session copy");
                Vec::new()
            }
        };
        let mut state = self.state();
        state.strategy = target;
        state.carriers = new_backend.carriers();
        state.data = data;
        state.client.extend(removed);
        state.credential = None;
        state.dirty = false;
        state.rotate = false;
        state.switched = true;
        state.key = saved.key;
        state.expires_at = Some(saved.expires_at);
        state.receive(saved.client);
        Ok(())
    }

    /// Trades a refresh token (and the access token it belongs with, expired or not) for new
    /// ones with the strategy that issues them, replacing this request's session with the
    /// refreshed one.
    pub async fn refresh(
        &self,
        access_token: &str,
        refresh_token: &str,
    ) -> Result<(), SessionError> {
        let _io = self.inner.io.lock().await;
        let strategy = self
            .inner
            .registry
            .refreshing()
            .ok_or(SessionError::Rejected { expired: false })?;
        let backend = self.inner.registry.get(strategy)?;
        let loaded = trace::within(
            &self.inner.tracing.trace,
            backend.refresh(access_token, refresh_token),
        )
        .await
        .map_err(|error| SessionError::from_load(strategy, error))?;
        if loaded.data.is_past_max_age() {
            return Err(SessionError::Rejected { expired: true });
        }
        let mut state = self.state();
        state.switched = state.strategy != strategy;
        state.strategy = strategy;
        state.carriers = backend.carriers();
        state.data = loaded.data;
        state.key = loaded.key;
        state.loaded_revision = None;
        state.expires_at = Some(loaded.expires_at);
        state.notice = None;
        state.dirty = false;
        state.rotate = false;
        state.receive(loaded.client);
        Ok(())
    }

    /// Stores pending changes, if any. The layer calls it after every handler; handlers that
    /// answer with the stored result call it themselves (through `change` and friends).
    pub async fn commit(&self) -> Result<(), SessionError> {
        let _io = self.inner.io.lock().await;
        let (strategy, mut data, key, rotate) = {
            let state = self.state();
            if !state.dirty {
                return Ok(());
            }
            (
                state.strategy,
                state.data.clone(),
                state.key.clone(),
                state.rotate,
            )
        };
        data.touch();
        let backend = self.inner.registry.get(strategy)?;
        let revision = {
            let mut state = self.state();
            // Whatever happens now, the loaded copy is no longer known to be the stored one.
            state.loaded_revision = None;
            state.revision.take()
        };
        let saving = async {
            match (&key, &revision) {
                (Some(key), Some(revision)) if !rotate => {
                    backend.replace(&data, key, revision).await
                }
                _ => backend.save(&data, key.as_ref(), rotate).await,
            }
        };
        let saved = trace::within(&self.inner.tracing.trace, saving)
            .await
            .map_err(|error| SessionError::from_backend(strategy, error))?;
        let mut state = self.state();
        state.data = data;
        state.key = saved.key;
        state.expires_at = Some(saved.expires_at);
        state.dirty = false;
        state.rotate = false;
        state.receive(saved.client);
        Ok(())
    }

    /// Queues changes for the client, such as clearing a credential that failed to load.
    pub fn push_client_changes(&self, changes: impl IntoIterator<Item = ClientChange>) {
        self.state().client.extend(changes);
    }

    /// Takes what the response must tell the client; called once by the layer.
    pub fn take_client_update(&self) -> ClientUpdate {
        let mut state = self.state();
        ClientUpdate {
            changes: std::mem::take(&mut state.client),
            switched_to: state.switched.then_some(state.strategy),
            url_carried: url_param(state.carriers).is_some(),
        }
    }
}

impl State {
    /// The revision the session was loaded at, once, if `data` is still that copy: nothing
    /// stored or pending since, same strategy and key.
    fn take_loaded_revision(
        &mut self,
        strategy: Strategy,
        key: Option<&SessionKey>,
    ) -> Option<Revision> {
        let (loaded_strategy, loaded_key, revision) = self.loaded_revision.take()?;
        (!self.dirty && loaded_strategy == strategy && Some(&loaded_key) == key).then_some(revision)
    }

    /// Takes in what a backend told the client: credentials are remembered for the response
    /// body, everything is queued for the layer.
    fn receive(&mut self, changes: Vec<ClientChange>) {
        // What the client sends from now on: its new cookies, or (no cookies) the credential.
        if let Some(bytes) = client_bytes(self.carriers, &changes) {
            self.client_bytes = bytes;
        }
        for change in &changes {
            match change {
                ClientChange::Credential(value) => self.credential = Some(value.clone()),
                ClientChange::RefreshToken(value) => self.refresh_token = Some(value.clone()),
                ClientChange::SetCookie { .. } | ClientChange::RemoveCookie { .. } => {}
            }
        }
        self.client.extend(changes);
    }
}

fn carriers_of(registry: &SessionRegistry, strategy: Strategy) -> &'static [Carrier] {
    registry
        .get(strategy)
        .map_or(&[], |backend| backend.carriers())
}

/// How the application answers a session error: the session crate knows no HTTP error shape of
/// its own, so the application's state provides one (`FromRef`), and a handler that asks for the
/// session where the layer is missing is answered in the application's shape.
#[derive(Clone, Copy)]
pub struct RejectWith(pub fn(SessionError) -> Response);

/// The session the layer loaded for this request, as tower-sessions hands out its `Session`.
impl<S> FromRequestParts<S> for Session
where
    S: Send + Sync,
    RejectWith: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| (RejectWith::from_ref(state).0)(SessionError::LayerMissing))
    }
}
