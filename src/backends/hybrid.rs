//! The session split in two, the "hybrid approach": who the visitor is in a short signed token
//! (a JWT naming the user, the login, the family and the timeouts, but no cart), and the small
//! state (the cart) in an encrypted cookie of its own, bound to that token's family.
//!
//! Why a team picks it: the identity token is small and changes only at login, so other
//! services can verify it alone, statelessly; a cart change rewrites only the state cookie,
//! with no signature computed and the token left as it is. What it costs: two credentials to
//! keep, the state cookie's own 4096-byte limit, and (as for `cookie`) when two tabs change the
//! cart at once, the last response wins. The identity is revoked as a `jwt` family is (logout
//! puts the family on the ledger every instance mirrors); a state cookie presented with another
//! family's token is refused. Both last the idle timeout and are renewed on the first request
//! past half of it. What a stolen identity token gives: the visitor's identity (not their cart)
//! until it expires or its family is revoked; with the state cookie too, the whole session.

use super::{
    cookie::COOKIE_LIMIT,
    jwt::{leeway, JwtSettings, NoSigningKey, TokenCodec},
};
use crate::{
    clock::now_unix,
    crypto::{
        key_ring::{KeyPosition, KeyRing},
        published_keys::PublishedKeys,
        sealed,
        secrets::random_id,
        verified_tokens::VerifiedTokens,
    },
    revocation::RevokedFamilies,
    session::{
        backend::{Loaded, Saved, SessionBackend, SessionKey},
        data::{CartLine, SessionData, SessionUser, FORMAT},
        error::{BackendError, LoadError},
        transport::{Carrier, ClientChange},
    },
    strategy::Strategy,
    trace::{self, TraceKey},
};
use async_trait::async_trait;
use http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use serde::{Deserialize, Serialize};
use std::{
    borrow::Cow,
    sync::Arc,
    time::{Duration, Instant},
};

/// The browser's identity token cookie.
pub const IDENTITY_COOKIE: &str = "identity";
/// The browser's encrypted state cookie.
pub const STATE_COOKIE: &str = "state";
/// The `typ` of an identity token (RFC 8725 section 3.11): a `jwt` access token, signed with the
/// same keys, does not pass for one, nor the other way round.
pub const TOKEN_TYPE: &str = "identity+jwt";
/// A Bearer header first (an API client says which token it means), then the browser's cookie;
/// the state cookie last: it names no session by itself.
const CARRIERS: &[Carrier] = &[
    Carrier::Bearer,
    Carrier::Cookie(IDENTITY_COOKIE),
    Carrier::Cookie(STATE_COOKIE),
];

/// The identity token's claims: the registered ones, the family, and the part of the session
/// that says who the visitor is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub iss: String,
    pub aud: String,
    /// The user id, or `guest`.
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The family: what logout revokes, and what the state cookie is bound to.
    pub fam: String,
    #[serde(rename = "v")]
    pub format: u8,
    pub user: Option<SessionUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    pub created_at: i64,
    pub expires_by: i64,
}

/// The plaintext inside the state cookie: the cart and its bookkeeping, the family it belongs
/// to and its own idle expiry, all sealed together so that the client can change none of them.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    fam: String,
    exp: i64,
    cart: Vec<CartLine>,
    last_seen: i64,
    revision: u64,
}

/// The hybrid strategy.
pub struct HybridBackend {
    settings: JwtSettings,
    /// The idle timeout: how long each credential lasts without a request.
    ttl: Duration,
    codec: TokenCodec,
    /// The state cookie's keys (the session keys, newest first).
    keys: KeyRing,
    revocations: Arc<dyn RevokedFamilies>,
    /// Identity tokens verified here (the expiry is checked again on every use).
    verified: VerifiedTokens<Identity>,
    /// State cookies opened here, by their exact value.
    opened: VerifiedTokens<(State, KeyPosition)>,
}

impl HybridBackend {
    /// Identity tokens under `settings`' keys, issuer and audience, lasting `ttl`; state
    /// cookies sealed with `keys`; `revocations` is the ledger every instance shares.
    pub fn new(
        settings: JwtSettings,
        ttl: Duration,
        keys: KeyRing,
        revocations: Arc<dyn RevokedFamilies>,
    ) -> Result<Self, NoSigningKey> {
        let codec = TokenCodec::new(TOKEN_TYPE, &settings, leeway(ttl))?;
        Ok(Self::with_codec(settings, ttl, codec, keys, revocations))
    }

    /// A backend that verifies identity tokens with the keys the shop publishes and cannot
    /// sign any, and opens state cookies with `keys`: what a second service runs.
    pub fn verifying(
        settings: JwtSettings,
        ttl: Duration,
        published: Arc<PublishedKeys>,
        keys: KeyRing,
        revocations: Arc<dyn RevokedFamilies>,
    ) -> Self {
        let codec = TokenCodec::verifying(TOKEN_TYPE, &settings, leeway(ttl), published);
        Self::with_codec(settings, ttl, codec, keys, revocations)
    }

    fn with_codec(
        settings: JwtSettings,
        ttl: Duration,
        codec: TokenCodec,
        keys: KeyRing,
        revocations: Arc<dyn RevokedFamilies>,
    ) -> Self {
        Self {
            settings,
            ttl,
            codec,
            keys,
            revocations,
            verified: VerifiedTokens::default(),
            opened: VerifiedTokens::default(),
        }
    }

    fn identity_for(&self, data: &SessionData, family: String) -> Identity {
        let now = now_unix();
        Identity {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: data
                .user
                .as_ref()
                .map_or_else(|| "guest".to_owned(), |user| user.id.to_string()),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: random_id(),
            fam: family,
            format: FORMAT,
            user: data.user.clone(),
            login: data.login.clone(),
            created_at: data.created_at,
            expires_by: data.expires_by,
        }
    }

    /// A new identity token for `data` in `family`, and what the client must hold after it.
    fn mint(
        &self,
        data: &SessionData,
        family: String,
    ) -> Result<(Identity, Vec<ClientChange>), BackendError> {
        let identity = self.identity_for(data, family);
        let token = self.codec.sign(&identity)?;
        let client = vec![
            ClientChange::SetCookie {
                name: IDENTITY_COOKIE,
                value: token.clone(),
                max_age: self.ttl,
            },
            ClientChange::Credential(token),
        ];
        Ok((identity, client))
    }

    /// The state cookie for `data` in `family`, sealed afresh.
    fn seal_state(&self, data: &SessionData, family: &str) -> Result<ClientChange, BackendError> {
        let state = State {
            fam: family.to_owned(),
            exp: now_unix() + self.ttl.as_secs() as i64,
            cart: data.cart.clone(),
            last_seen: data.last_seen,
            revision: data.revision,
        };
        let started = Instant::now();
        let plaintext = serde_json::to_string(&state)
            .map_err(|error| BackendError::Encode(error.to_string()))?;
        let value = sealed::seal(&self.keys, STATE_COOKIE, plaintext);
        let bytes = CARRIERS[2].wire_bytes(&value);
        trace::step(started, || {
            (
                format!("encrypt state AES-256-GCM {} B", value.len()),
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
        Ok(ClientChange::SetCookie {
            name: STATE_COOKIE,
            value,
            max_age: self.ttl,
        })
    }

    /// Verifies an identity token: signature, type, key, issuer, audience, expiry; a token
    /// verified here before skips the signature, not the expiry.
    fn verify(&self, token: &str) -> Result<Identity, ErrorKind> {
        let started = Instant::now();
        if let Some(identity) = self.verified.get(token) {
            let fresh = !self.is_spent(&identity);
            trace::step(started, || {
                (
                    "verify: this exact identity token verified here before",
                    if fresh {
                        "ok, expiry checked again"
                    } else {
                        "expired"
                    },
                )
            });
            return if fresh {
                Ok(identity)
            } else {
                Err(ErrorKind::ExpiredSignature)
            };
        }
        let mut kid = None;
        let identity = self
            .codec
            .decode::<Identity>(token, true, &mut kid)
            .and_then(|identity| match identity.format == FORMAT {
                true if self.is_spent(&identity) => Err(ErrorKind::ExpiredSignature),
                true => Ok(identity),
                false => Err(ErrorKind::InvalidToken),
            });
        if let Ok(identity) = &identity {
            self.verified.insert(token, identity.clone());
        }
        trace::step(started, || {
            let kid: String =
                kid.map_or_else(|| "none".into(), |kid| kid.chars().take(16).collect());
            let (algorithm, note) = (self.codec.algorithm(), self.codec.key_note());
            (
                format!("verify {algorithm:?} kid={kid}{note}"),
                match &identity {
                    Ok(_) => "ok".into(),
                    Err(ErrorKind::ExpiredSignature) => "expired".into(),
                    Err(error) => format!("refused: {error:?}"),
                },
            )
        });
        identity
    }

    /// Past its expiry and the leeway: jsonwebtoken accepts `exp + leeway == now`; a token is
    /// spent at that second.
    fn is_spent(&self, identity: &Identity) -> bool {
        identity.exp + leeway(self.ttl) <= now_unix()
    }

    /// The request's state cookie and the key that opened it; `None` without one.
    fn open_state(&self, request: &Parts) -> Result<Option<(State, KeyPosition)>, LoadError> {
        let Some(raw) = CARRIERS[2].peek(request) else {
            return Ok(None);
        };
        if let Some(opened) = self.opened.get(&raw) {
            return Ok(Some(opened));
        }
        let started = Instant::now();
        let opened = sealed::open(&self.keys, STATE_COOKIE, &raw);
        trace::step(started, || {
            (
                format!("decrypt state AES-256-GCM {} B", raw.len()),
                match &opened {
                    Some((_, position)) => format!("ok ({position})"),
                    None => "does not decrypt with any key".to_owned(),
                },
            )
        });
        let (plaintext, position) =
            opened.ok_or(LoadError::Invalid("the state cookie does not decrypt"))?;
        let state: State = serde_json::from_str(&plaintext)
            .map_err(|_| LoadError::Invalid("undecodable state cookie"))?;
        self.opened.insert(&raw, (state.clone(), position));
        Ok(Some((state, position)))
    }

    /// The identity token and the carrier it came in: a bad Bearer token is answered with
    /// 401, a bad cookie with a fresh guest session.
    fn token_in(request: &Parts) -> Option<(Cow<'_, str>, Carrier)> {
        CARRIERS[..2]
            .iter()
            .find_map(|carrier| carrier.peek(request).map(|token| (token, *carrier)))
    }

    /// Ends a family: every identity token it issued is refused until the last would expire.
    async fn retire(&self, family: &str) -> Result<(), BackendError> {
        let until = now_unix() + self.ttl.as_secs() as i64 + leeway(self.ttl);
        Ok(self.revocations.revoke_family(family, until).await?)
    }

    /// Whether a credential expiring at `exp` is past half its life.
    fn past_half(&self, exp: i64) -> bool {
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        (exp as f64 - now) < self.ttl.as_secs_f64() / 2.0
    }
}

#[async_trait]
impl SessionBackend for HybridBackend {
    fn strategy(&self) -> Strategy {
        Strategy::Hybrid
    }

    fn public_keys(&self) -> Vec<jsonwebtoken::jwk::Jwk> {
        self.codec.public_keys()
    }

    fn carriers(&self) -> &'static [Carrier] {
        CARRIERS
    }

    /// The identity token's header and claims (base64url: anyone holding it reads them); the
    /// state cookie opened with the server's key, as only the server can.
    fn decode_credential(&self, value: &str) -> Option<serde_json::Value> {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let mut parts = value.split('.');
        let mut part = || -> Option<serde_json::Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()
        };
        if let (Some(header), Some(claims)) = (part(), part()) {
            return Some(serde_json::json!({ "header": header, "claims": claims }));
        }
        let (plaintext, _) = sealed::open(&self.keys, STATE_COOKIE, value)?;
        let state: serde_json::Value = serde_json::from_str(&plaintext).ok()?;
        Some(serde_json::json!({ "opened by the server": state }))
    }

    /// A token's signature names it as well as the whole token does.
    fn trace_key(&self, credential: &str) -> TraceKey {
        TraceKey::of(
            credential
                .rsplit_once('.')
                .map_or(credential, |(_, signature)| signature),
        )
    }

    async fn load(&self, request: &Parts) -> Result<Option<Loaded>, LoadError> {
        let Some((token, transport)) = Self::token_in(request) else {
            return Ok(None);
        };
        let rejected = |expired, reason| LoadError::refused(transport, expired, reason);
        self.codec.learn_key_of(&token).await;
        let identity = match self.verify(&token) {
            Ok(identity) => identity,
            Err(ErrorKind::ExpiredSignature) => return Err(rejected(true, "expired")),
            Err(_) => return Err(rejected(false, "the identity token does not verify")),
        };
        if self.revocations.is_family_revoked(&identity.fam).await? {
            return Err(rejected(false, "revoked token"));
        }
        let state = self.open_state(request)?;
        if let Some((state, _)) = &state {
            if state.fam != identity.fam {
                return Err(rejected(
                    false,
                    "the state cookie belongs to another session",
                ));
            }
            if state.exp <= now_unix() {
                return Err(rejected(true, "expired"));
            }
        }
        let mut data = SessionData {
            format: FORMAT,
            user: identity.user.clone(),
            cart: Vec::new(),
            created_at: identity.created_at,
            last_seen: identity.iat,
            revision: 0,
            expires_by: identity.expires_by,
            login: identity.login.clone(),
        };
        if let Some((state, _)) = &state {
            data.cart = state.cart.clone();
            data.last_seen = state.last_seen;
            data.revision = state.revision;
        }
        // Activity renews each credential past half its life, and a state cookie an older key
        // sealed is sealed with the newest at once, so the older key can go.
        let mut client = Vec::new();
        let mut expires_at = identity.exp;
        if self.past_half(identity.exp) {
            if let Ok((renewed, changes)) = self.mint(&data, identity.fam.clone()) {
                expires_at = renewed.exp;
                client.extend(changes);
            }
        }
        let stale_state = match &state {
            Some((state, position)) => self.past_half(state.exp) || position.is_retired(),
            None => false,
        };
        if stale_state {
            client.extend(self.seal_state(&data, &identity.fam).ok());
        }
        Ok(Some(Loaded {
            key: Some(SessionKey(identity.fam)),
            expires_at,
            data,
            client,
            revision: None,
        }))
    }

    async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
    ) -> Result<Saved, BackendError> {
        // Who the visitor is changes only at login (`rotate`: a new family, the old one
        // revoked) or when the session starts here: only then is a token signed. Any other
        // change is the cart's, and rewrites the state cookie alone.
        let (family, mint) = match (key, rotate) {
            (Some(SessionKey(family)), false) => (family.clone(), false),
            (Some(SessionKey(old)), true) => {
                self.retire(old).await?;
                (random_id(), true)
            }
            (None, _) => (random_id(), true),
        };
        let mut client = Vec::new();
        let mut expires_at = now_unix() + self.ttl.as_secs() as i64;
        if mint {
            let (identity, changes) = self.mint(data, family.clone())?;
            expires_at = identity.exp;
            client.extend(changes);
        }
        client.push(self.seal_state(data, &family)?);
        Ok(Saved {
            key: Some(SessionKey(family)),
            client,
            expires_at,
        })
    }

    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError> {
        if let Some(SessionKey(family)) = key {
            self.retire(family).await?;
        }
        Ok(vec![
            ClientChange::RemoveCookie {
                name: IDENTITY_COOKIE,
            },
            ClientChange::RemoveCookie { name: STATE_COOKIE },
        ])
    }
}
