//! The whole session in one signed and encrypted cookie (axum-extra private cookies, AES-256-GCM).
//!
//! The server keeps no session, so any instance can serve any request and a restart loses
//! none; the price is that the client sends the whole cart with every request and a browser
//! holds at most 4096 bytes per cookie. Deleting nothing can revoke a cookie, so a logged-in
//! session carries a family id that logout (or a new login) puts on the revocation ledger:
//! the standard remedy, and the one piece of server state this strategy needs, looked up only
//! for logged-in sessions. What a stolen cookie gives: the session, from any instance, until it
//! expires or (logged in) its family is revoked; a guest's cookie cannot be revoked.

use crate::{
    clock::now_unix,
    crypto::{
        key_ring::{KeyPosition, KeyRing},
        sealed,
        secrets::random_id,
        verified_tokens::VerifiedTokens,
    },
    revocation::RevokedFamilies,
    session::{
        backend::{Loaded, Saved, SessionBackend, SessionKey},
        data::{SessionData, FORMAT},
        error::{BackendError, LoadError},
        transport::{Carrier, ClientChange},
    },
    strategy::Strategy,
    trace::{self, TraceKey},
};
use async_trait::async_trait;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// The cookie that carries the encrypted session.
pub const SESSION_COOKIE: &str = "session";

/// What browsers promise to keep of one cookie, name and value together (RFC 6265 section 6.1).
pub const COOKIE_LIMIT: usize = 4096;
const CARRIERS: &[Carrier] = &[Carrier::Cookie(SESSION_COOKIE)];
/// How many of a sealed cookie's last characters name it ([`SessionBackend::trace_key`]).
const SEALED_TAIL: usize = 24;

/// The plaintext inside the cookie: the idle expiry and the family travel encrypted with the
/// data, so the client can neither extend the one nor change the other.
#[derive(Clone, Serialize, Deserialize)]
struct Payload {
    exp: i64,
    /// The login's family, for logged-in sessions: what logout revokes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fam: Option<String>,
    session: SessionData,
}

/// The encrypted client-side cookie strategy.
pub struct CookieBackend {
    keys: KeyRing,
    ttl: Duration,
    revocations: Arc<dyn RevokedFamilies>,
    /// Cookies opened here, by their exact value: a browser sends the same sealed cookie until
    /// the next save, and decrypting and parsing it again was a twentieth of a read. The same
    /// bytes always open to the same payload (every value is sealed under the same name,
    /// [`SESSION_COOKIE`]); its expiry and its family's revocation are checked on every use
    /// all the same ([`SessionBackend::load`]).
    opened: VerifiedTokens<(Payload, KeyPosition)>,
}

impl CookieBackend {
    /// `keys` (newest first) must be the same on every instance: cookies are sealed with the
    /// newest and opened with any; `ttl` is the idle timeout; `revocations` is the ledger
    /// every instance shares.
    pub fn new(keys: KeyRing, ttl: Duration, revocations: Arc<dyn RevokedFamilies>) -> Self {
        Self {
            keys,
            ttl,
            revocations,
            opened: VerifiedTokens::default(),
        }
    }

    /// The encrypted cookie value for `data` expiring at `exp`: exactly what the browser gets.
    fn seal(
        &self,
        data: &SessionData,
        fam: Option<&str>,
        exp: i64,
    ) -> Result<String, BackendError> {
        let plaintext = serde_json::to_string(&Payload {
            exp,
            fam: fam.map(str::to_owned),
            session: data.clone(),
        })
        .map_err(|error| BackendError::Encode(error.to_string()))?;
        Ok(sealed::seal(&self.keys, SESSION_COOKIE, plaintext))
    }

    /// The payload of the request's cookie and the key that opened it.
    fn open(&self, request: &Parts) -> Result<Option<(Payload, KeyPosition)>, LoadError> {
        let Some(raw) = CARRIERS[0].peek(request) else {
            return Ok(None);
        };
        let started = Instant::now();
        let operation = || format!("decrypt AES-256-GCM {} B", raw.len());
        if let Some((payload, position)) = self.opened.get(&raw) {
            trace::step(started, || {
                (
                    operation(),
                    format!("ok ({position}): this exact cookie opened here before"),
                )
            });
            return Ok(Some((payload, position)));
        }
        // Only this cookie is decrypted (a jar would parse every cookie of the request again).
        // It was sealed under its name, `session`, whatever name it travels under: over HTTPS
        // it travels as `__Host-session`, and [`Carrier::peek`] reads only that name then, so a
        // value planted under the plain name is never read. (Opening it under the name it
        // travelled under refused every cookie over HTTPS.)
        let opened = sealed::open(&self.keys, SESSION_COOKIE, &raw);
        trace::step(started, || {
            (
                operation(),
                match &opened {
                    Some((_, position)) => format!("ok ({position})"),
                    None => "does not decrypt with any key".to_owned(),
                },
            )
        });
        let (plaintext, position) =
            opened.ok_or(LoadError::Invalid("the session cookie does not decrypt"))?;
        let payload: Payload = serde_json::from_str(&plaintext)
            .map_err(|_| LoadError::Invalid("undecodable session cookie"))?;
        self.opened.insert(&raw, (payload.clone(), position));
        Ok(Some((payload, position)))
    }
}

#[async_trait]
impl SessionBackend for CookieBackend {
    fn strategy(&self) -> Strategy {
        Strategy::Cookie
    }

    fn carriers(&self) -> &'static [Carrier] {
        CARRIERS
    }

    /// A sealed cookie ends with its AES-GCM tag (16 bytes, the last 24 base64 characters
    /// cover it), a MAC over a ciphertext sealed under a fresh nonce: it names the cookie as
    /// well as the whole value does, and hashing the whole value for every read was a
    /// fiftieth of the read.
    fn trace_key(&self, credential: &str) -> TraceKey {
        let tail = credential.len().saturating_sub(SEALED_TAIL);
        TraceKey::of(credential.get(tail..).unwrap_or(credential))
    }

    async fn load(&self, request: &Parts) -> Result<Option<Loaded>, LoadError> {
        let Some((payload, position)) = self.open(request)? else {
            return Ok(None);
        };
        if payload.session.format != FORMAT {
            return Err(LoadError::Invalid("session cookie of another format"));
        }
        let now = now_unix();
        if payload.exp <= now {
            return Err(LoadError::Expired);
        }
        if let Some(family) = &payload.fam {
            if self.revocations.is_family_revoked(family).await? {
                return Err(LoadError::Invalid("the session was logged out"));
            }
        }
        // Activity renews the idle timeout: past half of it, the cookie is sealed afresh; and a
        // cookie an older key sealed is sealed with the newest at once, so the older key can go.
        let mut loaded = Loaded {
            data: payload.session,
            key: payload.fam.map(SessionKey),
            expires_at: payload.exp,
            client: Vec::new(),
            revision: None,
        };
        let remaining = payload.exp as f64
            - time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        if remaining < self.ttl.as_secs_f64() / 2.0 || position.is_retired() {
            if let Ok(saved) = self.save(&loaded.data, loaded.key.as_ref(), false).await {
                loaded.expires_at = saved.expires_at;
                loaded.client = saved.client;
            }
        }
        Ok(Some(loaded))
    }

    async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
    ) -> Result<Saved, BackendError> {
        // A fresh nonce on every seal means the cookie changes on every save. A login (`rotate`)
        // also starts a new family and revokes the old one, so a cookie copied before it is
        // worthless after it; a guest has no family and costs the ledger nothing.
        let family = match (data.user.is_some(), key, rotate) {
            (false, _, _) => None,
            (true, Some(SessionKey(family)), false) => Some(family.clone()),
            (true, _, _) => Some(random_id()),
        };
        if let (Some(SessionKey(old)), true) = (key, rotate) {
            self.retire(old).await?;
        }
        let expires_at = now_unix() + self.ttl.as_secs() as i64;
        let started = Instant::now();
        let value = self.seal(data, family.as_deref(), expires_at)?;
        let bytes = CARRIERS[0].wire_bytes(&value);
        trace::step(started, || {
            (
                format!("encrypt AES-256-GCM {} B", value.len()),
                if bytes > COOKIE_LIMIT {
                    "too large for a cookie"
                } else {
                    "ok"
                },
            )
        });
        if bytes > COOKIE_LIMIT {
            return Err(BackendError::TooLarge {
                bytes,
                limit: COOKIE_LIMIT,
            });
        }
        Ok(Saved {
            key: family.map(SessionKey),
            client: vec![ClientChange::SetCookie {
                name: SESSION_COOKIE,
                value,
                max_age: self.ttl,
            }],
            expires_at,
        })
    }

    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError> {
        if let Some(SessionKey(family)) = key {
            self.retire(family).await?;
        }
        Ok(vec![ClientChange::RemoveCookie {
            name: SESSION_COOKIE,
        }])
    }
}

impl CookieBackend {
    /// Revokes a family until every cookie it could have sealed has expired.
    async fn retire(&self, family: &str) -> Result<(), BackendError> {
        let until = now_unix() + self.ttl.as_secs() as i64;
        Ok(self.revocations.revoke_family(family, until).await?)
    }
}
