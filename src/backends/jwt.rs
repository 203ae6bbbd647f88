//! The session in the claims of a signed JSON Web Token (jsonwebtoken; EdDSA, or HS256 for a
//! single service, pinned: see [`keys`]).
//!
//! Verification needs no server state, so any instance can serve any request; the price is a
//! token that grows with the cart and cannot be taken back before it expires. Hence short-lived
//! access tokens (15 minutes), single-use refresh tokens whose reuse revokes their whole family,
//! and revoked families (logout) that verification checks: every token of a session names its
//! family, so logout ends all of them, not only the last one.
//!
//! What a stolen token gives: the session from any instance until the token expires or its
//! family is revoked (logout, a replayed refresh token); a stolen refresh token, new access
//! tokens until it is used by its owner (then the replay revokes the family) or revoked. A
//! spent refresh token presented again within the grace window (`JWT_REFRESH_GRACE_SECONDS`,
//! two tabs refreshing at once) gets the pair it was traded for, not a replay's revocation: a
//! thief racing the owner within those seconds gets that pair too.
//! Signing keys and their checks are in [`keys`], refresh tokens in [`refresh`].

mod keys;
mod refresh;

pub use jsonwebtoken::{
    jwk::{Jwk, JwkSet},
    Algorithm,
};
pub use keys::{KeyTooShort, NoSigningKey, SigningKey, TokenCodec, ALGORITHMS, MIN_KEY_BYTES};
pub use refresh::refresh_hash;

use crate::{
    clock::now_unix,
    crypto::{published_keys::PublishedKeys, secrets::random_id, verified_tokens::VerifiedTokens},
    revocation::{RefreshTokens, RevokedFamilies},
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
use jsonwebtoken::errors::ErrorKind;
use serde::{Deserialize, Serialize};
use std::{
    borrow::Cow,
    sync::Arc,
    time::{Duration, Instant},
};

/// How the trace names a check of a token verified before (every read of a session after its
/// first): fixed text, as it is written on every request.
const VERIFIED_BEFORE: &str = "verify: this exact token verified here before";

/// The browser's access token cookie.
pub const ACCESS_COOKIE: &str = "jwt";
/// The browser's refresh token cookie.
pub const REFRESH_COOKIE: &str = "refresh";
/// The `typ` every access token carries and verification demands (RFC 9068's access-token
/// type, as RFC 8725 section 3.11 advises): a JWT minted for another purpose with the same key
/// cannot pass for a session.
pub const TOKEN_TYPE: &str = "at+jwt";
/// Clock skew allowed on `nbf` and `exp`, so that instances whose clocks differ by a second or
/// two do not log each other's users out; never more than an access token lives.
pub const LEEWAY_SECONDS: i64 = 5;
/// A Bearer header first (an API client says which token it means), then the browser's cookies.
const CARRIERS: &[Carrier] = &[
    Carrier::Bearer,
    Carrier::Cookie(ACCESS_COOKIE),
    Carrier::Cookie(REFRESH_COOKIE),
];

/// How tokens are issued and checked.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// Every key still accepted, oldest first; new tokens are signed with the last one.
    pub keys: Vec<SigningKey>,
    /// What tokens are signed with and the only algorithm accepted (one of [`ALGORITHMS`]).
    pub algorithm: jsonwebtoken::Algorithm,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long a spent refresh token, presented again, still gets the pair it was traded for
    /// (two tabs refreshing at once); after it, a second use counts as a replay.
    pub refresh_grace: Duration,
}

/// The claims: the registered ones, the refresh family, and the session itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id, or `guest`.
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The refresh-token family this access token belongs to.
    pub fam: String,
    pub session: SessionData,
}

/// The JWT strategy.
pub struct JwtBackend {
    settings: JwtSettings,
    codec: TokenCodec,
    /// Access tokens verified here (with the expiry checked), so that the same token on the
    /// next request skips the signature and the JSON.
    verified: VerifiedTokens<Claims>,
    revocations: Arc<dyn RevokedFamilies>,
    refresh_tokens: Arc<dyn RefreshTokens>,
}

/// The clock skew allowed for tokens that live `lifetime`: [`LEEWAY_SECONDS`], never more.
pub fn leeway(lifetime: Duration) -> i64 {
    LEEWAY_SECONDS.min(lifetime.as_secs() as i64)
}

fn subject(data: &SessionData) -> String {
    data.user
        .as_ref()
        .map_or_else(|| "guest".to_owned(), |user| user.id.to_string())
}

impl JwtBackend {
    /// `revocations` and `refresh_tokens` are the ledgers every instance shares.
    pub fn new(
        settings: JwtSettings,
        revocations: Arc<dyn RevokedFamilies>,
        refresh_tokens: Arc<dyn RefreshTokens>,
    ) -> Result<Self, NoSigningKey> {
        let codec = TokenCodec::new(TOKEN_TYPE, &settings, leeway(settings.access_ttl))?;
        Ok(Self::with_codec(
            settings,
            codec,
            revocations,
            refresh_tokens,
        ))
    }

    /// A backend that verifies the tokens the shop signs with the keys it publishes, and
    /// cannot sign any: what a second service runs (`settings.keys` is not used).
    pub fn verifying(
        settings: JwtSettings,
        published: Arc<PublishedKeys>,
        revocations: Arc<dyn RevokedFamilies>,
        refresh_tokens: Arc<dyn RefreshTokens>,
    ) -> Self {
        let leeway = leeway(settings.access_ttl);
        let codec = TokenCodec::verifying(TOKEN_TYPE, &settings, leeway, published);
        Self::with_codec(settings, codec, revocations, refresh_tokens)
    }

    fn with_codec(
        settings: JwtSettings,
        codec: TokenCodec,
        revocations: Arc<dyn RevokedFamilies>,
        refresh_tokens: Arc<dyn RefreshTokens>,
    ) -> Self {
        Self {
            settings,
            codec,
            verified: VerifiedTokens::default(),
            revocations,
            refresh_tokens,
        }
    }

    fn newest_key(&self) -> Option<&SigningKey> {
        self.codec.newest_key()
    }

    /// Signs `claims` with the newest key.
    pub fn sign(&self, claims: &Claims) -> Result<String, BackendError> {
        self.codec.sign(claims)
    }

    fn claims_for(&self, data: &SessionData, family: String) -> Claims {
        let now = now_unix();
        Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: subject(data),
            iat: now,
            nbf: now,
            exp: now + self.settings.access_ttl.as_secs() as i64,
            jti: random_id(),
            fam: family,
            session: data.clone(),
        }
    }

    /// Checks the signature with the key the header names, the pinned algorithm, and every
    /// registered claim; `check_exp` is off only to read an expired token during a refresh.
    pub fn verify(&self, token: &str, check_exp: bool) -> Result<Claims, ErrorKind> {
        let started = Instant::now();
        if check_exp {
            if let Some(claims) = self.verified.get(token) {
                // The signature was checked when this token first came; time was not.
                let claims = if self.is_spent(&claims) {
                    Err(ErrorKind::ExpiredSignature)
                } else {
                    Ok(claims)
                };
                trace::step(started, || {
                    (
                        VERIFIED_BEFORE,
                        match &claims {
                            Ok(_) => "ok, expiry checked again",
                            Err(_) => "expired",
                        },
                    )
                });
                return claims;
            }
        }
        let mut kid = None;
        let claims = self.verify_untraced(token, check_exp, &mut kid);
        if let (true, Ok(claims)) = (check_exp, &claims) {
            self.verified.insert(token, claims.clone());
        }
        trace::step(started, || {
            let kid: String =
                kid.map_or_else(|| "none".into(), |kid| kid.chars().take(16).collect());
            let (algorithm, note) = (self.codec.algorithm(), self.codec.key_note());
            (
                format!("verify {algorithm:?} kid={kid}{note}"),
                match &claims {
                    Ok(_) => "ok".into(),
                    Err(ErrorKind::ExpiredSignature) => "expired".into(),
                    Err(error) => format!("refused: {error:?}"),
                },
            )
        });
        claims
    }

    /// Verifies `token`, leaving the key id its header names in `kid` for the trace.
    fn verify_untraced(
        &self,
        token: &str,
        check_exp: bool,
        kid: &mut Option<String>,
    ) -> Result<Claims, ErrorKind> {
        let claims: Claims = self.codec.decode(token, check_exp, kid)?;
        if claims.session.format != FORMAT {
            return Err(ErrorKind::InvalidToken);
        }
        if check_exp && self.is_spent(&claims) {
            return Err(ErrorKind::ExpiredSignature);
        }
        Ok(claims)
    }

    /// The access token and the carrier it came in: a bad Bearer token is answered with 401,
    /// a bad cookie with a fresh guest session.
    fn token_in(request: &Parts) -> Option<(Cow<'_, str>, Carrier)> {
        CARRIERS[..2]
            .iter()
            .find_map(|carrier| carrier.peek(request).map(|token| (token, *carrier)))
    }

    /// Issues an access token (and, for a new family, a refresh token) for `data`.
    async fn issue(
        &self,
        data: &SessionData,
        family: Option<String>,
    ) -> Result<(Claims, Vec<ClientChange>), BackendError> {
        let (family, refresh) = match family {
            Some(family) => (family, Vec::new()),
            None => {
                let family = random_id();
                let refresh = self.new_refresh_token(&family, &subject(data)).await?;
                (family, refresh)
            }
        };
        let claims = self.claims_for(data, family);
        let token = self.sign(&claims)?;
        let mut client = self.access_changes(token);
        client.extend(refresh);
        Ok((claims, client))
    }

    /// What the client must hold after a new access token.
    fn access_changes(&self, token: String) -> Vec<ClientChange> {
        vec![
            ClientChange::SetCookie {
                name: ACCESS_COOKIE,
                value: token.clone(),
                // The cookie outlives the token so an expired token can still be refreshed.
                max_age: self.settings.refresh_ttl,
            },
            ClientChange::Credential(token),
        ]
    }

    /// The clock skew forgiven, in seconds: [`LEEWAY_SECONDS`], or less for tokens that live
    /// less.
    fn leeway(&self) -> i64 {
        leeway(self.settings.access_ttl)
    }

    /// Whether `claims` are past their expiry and its leeway. jsonwebtoken accepts
    /// `exp + leeway == now`; a token is spent at that second.
    fn is_spent(&self, claims: &Claims) -> bool {
        claims.exp + self.leeway() <= now_unix()
    }

    /// Ends a family: every access token it ever issued is refused from now until the last
    /// of them would have expired, and its refresh tokens are spent.
    async fn retire(&self, family: &str) -> Result<(), BackendError> {
        // As long as a refresh token of the family could live, not only its access tokens: a
        // refresh traded just before the logout could otherwise store its new refresh token
        // after the logout spent the family's, and use it once the revocation lapsed.
        let lives = self.settings.access_ttl.max(self.settings.refresh_ttl);
        let until = now_unix() + lives.as_secs() as i64 + self.leeway();
        self.revocations
            .revoke_family(family, until)
            .await
            .map_err(BackendError::Unavailable)
    }

    /// A session's key is its family: what logout and login revoke.
    fn key_of(claims: &Claims) -> SessionKey {
        SessionKey(claims.fam.clone())
    }
}

#[async_trait]
impl SessionBackend for JwtBackend {
    fn strategy(&self) -> Strategy {
        Strategy::Jwt
    }

    fn carriers(&self) -> &'static [Carrier] {
        CARRIERS
    }

    fn issues_refresh_tokens(&self) -> bool {
        true
    }

    /// A JWT's header and claims are only base64url: anyone holding the token can read them,
    /// which is the point the inspector makes. (Reading is not verifying.)
    fn decode_credential(&self, value: &str) -> Option<serde_json::Value> {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let mut parts = value.split('.');
        let mut part = || -> Option<serde_json::Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()
        };
        let header = part()?;
        let claims = part()?;
        Some(serde_json::json!({ "header": header, "claims": claims }))
    }

    /// A token's signature names it as well as the whole token does (an HMAC over the header
    /// and claims, it changes whenever they do) in 43 characters instead of a kilobyte: hashing
    /// the whole token for every read was a fortieth of the read.
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
        let claims = match self.verify(&token, true) {
            Ok(claims) => claims,
            Err(ErrorKind::ExpiredSignature) => {
                // A browser's expired access token is refreshed in passing from its cookie, by
                // the shop only: a service that cannot sign would spend the refresh token for
                // nothing, and the owner's next use of it would count as a replay.
                let refresh = CARRIERS[2]
                    .read(request)
                    .filter(|_| self.newest_key().is_some());
                return match (transport, refresh) {
                    (Carrier::Cookie(_), Some(refresh)) => {
                        let expired = self.verify_for_refresh(&token)?;
                        self.trade(expired, &refresh).await.map(Some)
                    }
                    _ => Err(rejected(true, "expired")),
                };
            }
            Err(_) => return Err(rejected(false, "the token does not verify")),
        };
        if self
            .revocations
            .is_family_revoked(&claims.fam)
            .await
            .map_err(LoadError::Unavailable)?
        {
            return Err(rejected(false, "revoked token"));
        }
        Ok(Some(Loaded {
            key: Some(Self::key_of(&claims)),
            expires_at: claims.exp,
            data: claims.session,
            client: Vec::new(),
            revision: None,
        }))
    }

    async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
    ) -> Result<Saved, BackendError> {
        let family = match (key, rotate) {
            (Some(SessionKey(family)), true) => {
                // Login: every token of the guest's family ends here.
                self.retire(family).await?;
                None
            }
            (Some(SessionKey(family)), false) => Some(family.clone()),
            (None, _) => None,
        };
        let (claims, client) = self.issue(data, family).await?;
        Ok(Saved {
            key: Some(Self::key_of(&claims)),
            client,
            expires_at: claims.exp,
        })
    }

    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError> {
        if let Some(SessionKey(family)) = key {
            self.retire(family).await?;
        }
        Ok(vec![
            ClientChange::RemoveCookie {
                name: ACCESS_COOKIE,
            },
            ClientChange::RemoveCookie {
                name: REFRESH_COOKIE,
            },
        ])
    }

    fn public_keys(&self) -> Vec<jsonwebtoken::jwk::Jwk> {
        self.codec.public_keys()
    }

    async fn refresh(&self, access_token: &str, refresh_token: &str) -> Result<Loaded, LoadError> {
        let expired = self.verify_for_refresh(access_token)?;
        self.trade(expired, refresh_token).await
    }
}
