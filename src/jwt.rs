//! The session in the claims of a signed JSON Web Token (jsonwebtoken, HS256 pinned).
//!
//! Verification needs no server state, so any instance can serve any request; the price is a
//! token that grows with the cart and cannot be taken back before it expires. Hence short-lived
//! access tokens (15 minutes), single-use refresh tokens whose reuse revokes their whole family,
//! and revoked families (logout) that verification checks: every token of a session names its
//! family, so logout ends all of them, not only the last one.

use crate::verified_tokens::VerifiedTokens;
use crate::{
    backend::{
        BackendError, ClientChange, LoadError, Loaded, Saved, SessionBackend, SessionKey,
        Unavailable,
    },
    data::{now_unix, SessionData, FORMAT},
    revocation::{RefreshUse, Revocations},
    secrets::{derive_secret, random_id, random_token},
    strategy::Strategy,
    trace::{self, TraceKey},
    transport::Carrier,
};
use async_trait::async_trait;
use http::request::Parts;
use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    borrow::Cow,
    sync::Arc,
    time::{Duration, Instant},
};

/// How the trace names a check of a token verified before (every read of a session after its
/// first): fixed text, as it is written on every request.
const VERIFIED_BEFORE: &str = "verify HS256: this exact token verified here before";

/// The browser's access token cookie.
pub const ACCESS_COOKIE: &str = "jwt";
/// The browser's refresh token cookie.
pub const REFRESH_COOKIE: &str = "refresh";
/// The one algorithm this backend signs with and accepts.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// HS256 keys shorter than this are refused: the key must be as strong as the hash.
pub const MIN_KEY_BYTES: usize = 32;
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

/// A signing key too short for HS256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an HS256 key needs at least {MIN_KEY_BYTES} bytes, this one has {0}")]
pub struct KeyTooShort(pub usize);

/// A JWT backend configured without any key to sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the JWT strategy needs at least one signing key")]
pub struct NoSigningKey;

/// A signing key and the id that names it in the token header.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    secret: Vec<u8>,
}

impl SigningKey {
    pub fn new(kid: impl Into<String>, secret: Vec<u8>) -> Result<Self, KeyTooShort> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort(secret.len()));
        }
        Ok(Self {
            kid: kid.into(),
            secret,
        })
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.kid)
    }
}

/// How tokens are issued and checked.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// Every key still accepted, oldest first; new tokens are signed with the last one.
    pub keys: Vec<SigningKey>,
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

/// The pair a refresh token was traded for, kept sealed for the grace period.
#[derive(Serialize, Deserialize)]
struct Successor {
    access: String,
    refresh: String,
}

/// The JWT strategy.
pub struct JwtBackend {
    settings: JwtSettings,
    /// What verification needs for each key, built once rather than on every request.
    verifiers: Vec<Verifier>,
    /// Access tokens verified here (with the expiry checked), so that the same token on the
    /// next request skips the signature and the JSON.
    verified: VerifiedTokens<Claims>,
    revocations: Arc<dyn Revocations>,
}

/// One accepted key ready to verify with: its decoding key and the validation rules (pinned
/// algorithm, issuer, audience, required claims, leeway), with and without the expiry check.
struct Verifier {
    kid: String,
    key: DecodingKey,
    checking_exp: Validation,
    ignoring_exp: Validation,
}

impl Verifier {
    fn new(key: &SigningKey, settings: &JwtSettings) -> Self {
        let validation = |check_exp: bool| {
            let mut validation = Validation::new(ALGORITHM);
            validation.algorithms = vec![ALGORITHM];
            validation.leeway = leeway(settings) as u64;
            validation.validate_exp = check_exp;
            validation.validate_nbf = true;
            validation.set_issuer(&[&settings.issuer]);
            validation.set_audience(&[&settings.audience]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            validation
        };
        Self {
            kid: key.kid.clone(),
            key: DecodingKey::from_secret(&key.secret),
            checking_exp: validation(true),
            ignoring_exp: validation(false),
        }
    }
}

/// A failed signature while trading a refresh token: the request cannot go on.
fn load_error(error: BackendError) -> LoadError {
    match error {
        BackendError::Unavailable(unavailable) => LoadError::Unavailable(unavailable),
        other => LoadError::Unavailable(Unavailable::new(other)),
    }
}

/// Refresh tokens are kept only as hashes: a leaked table grants nothing.
pub fn refresh_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The clock skew allowed: [`LEEWAY_SECONDS`], never more than an access token lives.
fn leeway(settings: &JwtSettings) -> i64 {
    LEEWAY_SECONDS.min(settings.access_ttl.as_secs() as i64)
}

fn subject(data: &SessionData) -> String {
    data.user
        .as_ref()
        .map_or_else(|| "guest".to_owned(), |user| user.id.to_string())
}

impl JwtBackend {
    pub fn new(
        settings: JwtSettings,
        revocations: Arc<dyn Revocations>,
    ) -> Result<Self, NoSigningKey> {
        if settings.keys.is_empty() {
            return Err(NoSigningKey);
        }
        let verifiers = settings
            .keys
            .iter()
            .map(|key| Verifier::new(key, &settings))
            .collect();
        Ok(Self {
            settings,
            verifiers,
            verified: VerifiedTokens::default(),
            revocations,
        })
    }

    fn newest_key(&self) -> &SigningKey {
        // `new` refuses an empty key list.
        &self.settings.keys[self.settings.keys.len() - 1]
    }

    /// Signs `claims` with the newest key.
    pub fn sign(&self, claims: &Claims) -> Result<String, BackendError> {
        let started = Instant::now();
        let key = self.newest_key();
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        let token = encode(&header, claims, &EncodingKey::from_secret(&key.secret))
            .map_err(|error| BackendError::Encode(error.to_string()));
        trace::step(started, || {
            (
                format!("sign {ALGORITHM:?} kid={}", key.kid),
                match &token {
                    Ok(token) => format!("ok, {} B", token.len()),
                    Err(error) => format!("error: {error}"),
                },
            )
        });
        token
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
            (
                format!("verify {ALGORITHM:?} kid={kid}"),
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
        let header = decode_header(token).map_err(|error| error.into_kind())?;
        *kid = header.kid;
        if header.alg != ALGORITHM {
            return Err(ErrorKind::InvalidAlgorithm);
        }
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(ErrorKind::InvalidToken);
        }
        let wanted = kid.as_deref().ok_or(ErrorKind::InvalidToken)?;
        let verifier = self
            .verifiers
            .iter()
            .find(|verifier| verifier.kid == wanted)
            .ok_or(ErrorKind::InvalidToken)?;
        let validation = if check_exp {
            &verifier.checking_exp
        } else {
            &verifier.ignoring_exp
        };
        let claims = decode::<Claims>(token, &verifier.key, validation)
            .map_err(|error| error.into_kind())?
            .claims;
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

    /// What the client must hold after a new refresh token.
    fn refresh_changes(&self, token: String) -> Vec<ClientChange> {
        vec![
            ClientChange::SetCookie {
                name: REFRESH_COOKIE,
                value: token.clone(),
                max_age: self.settings.refresh_ttl,
            },
            ClientChange::RefreshToken(token),
        ]
    }

    /// A refresh token for `family`, recorded (as a hash) in the ledger.
    async fn mint_refresh(&self, family: &str, subject: &str) -> Result<String, BackendError> {
        let token = random_token();
        let expires_at = now_unix() + self.settings.refresh_ttl.as_secs() as i64;
        self.revocations
            .store_refresh(&refresh_hash(&token), family, subject, expires_at)
            .await
            .map_err(BackendError::Unavailable)?;
        Ok(token)
    }

    async fn new_refresh_token(
        &self,
        family: &str,
        subject: &str,
    ) -> Result<Vec<ClientChange>, BackendError> {
        Ok(self.refresh_changes(self.mint_refresh(family, subject).await?))
    }

    /// The key that seals a traded pair while the grace period lasts: derived from the
    /// newest signing key, so only this service can open it.
    fn successor_key(&self) -> cookie::Key {
        let secret = &self.newest_key().secret;
        let material = [
            derive_secret(secret, "refresh-successor-signing"),
            derive_secret(secret, "refresh-successor-encryption"),
        ]
        .concat();
        cookie::Key::from(&material)
    }

    /// The new pair a refresh token was traded for, sealed (AES-256-GCM) for the ledger.
    fn seal_successor(&self, pair: &Successor) -> Option<String> {
        let plaintext = serde_json::to_string(pair).ok()?;
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.successor_key())
            .add(cookie::Cookie::new("successor", plaintext));
        jar.get("successor").map(|sealed| sealed.value().to_owned())
    }

    fn open_successor(&self, sealed: &str) -> Option<Successor> {
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new("successor", sealed.to_owned()));
        let opened = jar.private(&self.successor_key()).get("successor")?;
        serde_json::from_str(opened.value()).ok()
    }

    /// The clock skew forgiven, in seconds: [`LEEWAY_SECONDS`], or less for tokens that live
    /// less.
    fn leeway(&self) -> i64 {
        leeway(&self.settings)
    }

    /// Whether `claims` are past their expiry and its leeway. jsonwebtoken accepts
    /// `exp + leeway == now`; a token is spent at that second.
    fn is_spent(&self, claims: &Claims) -> bool {
        claims.exp + self.leeway() <= now_unix()
    }

    /// Ends a family: every access token it ever issued is refused from now until the last
    /// of them would have expired, and its refresh tokens are spent.
    async fn retire(&self, family: &str) -> Result<(), BackendError> {
        let until = now_unix() + self.settings.access_ttl.as_secs() as i64 + self.leeway();
        self.revocations
            .revoke_family(family, until)
            .await
            .map_err(BackendError::Unavailable)
    }

    /// A session's key is its family: what logout and login revoke.
    fn key_of(claims: &Claims) -> SessionKey {
        SessionKey(claims.fam.clone())
    }

    /// Trades `refresh_token` for a new access and refresh token carrying the session of
    /// `expired` (a token whose signature checks out, expired or not). Reusing a spent refresh
    /// token revokes its whole family.
    async fn trade(&self, expired: Claims, refresh_token: &str) -> Result<Loaded, LoadError> {
        let token_hash = refresh_hash(refresh_token);
        let outcome = self
            .revocations
            .use_refresh(&token_hash, self.settings.refresh_grace)
            .await
            .map_err(LoadError::Unavailable)?;
        match outcome {
            RefreshUse::Fresh { family, subject }
                if family == expired.fam && subject == expired.sub => {}
            // Presented again within the grace period (two tabs, a retried request): the same
            // pair again, rather than a replay alarm that would log both tabs out.
            RefreshUse::Repeated { successor } => {
                let pair = self
                    .open_successor(&successor)
                    .ok_or(LoadError::Invalid("unreadable successor"))?;
                let claims = self
                    .verify(&pair.access, true)
                    .map_err(|_| LoadError::Invalid("the traded token no longer verifies"))?;
                if claims.fam != expired.fam
                    || self
                        .revocations
                        .is_family_revoked(&claims.fam)
                        .await
                        .map_err(LoadError::Unavailable)?
                {
                    return Err(LoadError::Invalid("revoked token"));
                }
                let mut client = self.refresh_changes(pair.refresh);
                client.extend(self.access_changes(pair.access));
                return Ok(Loaded {
                    key: Some(Self::key_of(&claims)),
                    expires_at: claims.exp,
                    data: claims.session,
                    client,
                    revision: None,
                });
            }
            RefreshUse::Fresh { family, .. } | RefreshUse::Reused { family } => {
                tracing::warn!("a refresh token was reused or mismatched: revoking its family");
                self.retire(&family).await.map_err(load_error)?;
                return Err(LoadError::Invalid("refresh token reused"));
            }
            RefreshUse::Revoked => return Err(LoadError::Invalid("revoked refresh token")),
            RefreshUse::Unknown => return Err(LoadError::Invalid("unknown refresh token")),
            RefreshUse::Expired => return Err(LoadError::Expired),
        }
        if self
            .revocations
            .is_family_revoked(&expired.fam)
            .await
            .map_err(LoadError::Unavailable)?
        {
            return Err(LoadError::Invalid("revoked token"));
        }
        let refresh = self
            .mint_refresh(&expired.fam, &expired.sub)
            .await
            .map_err(load_error)?;
        let claims = self.claims_for(&expired.session, expired.fam.clone());
        let token = self.sign(&claims).map_err(load_error)?;
        let pair = Successor {
            access: token,
            refresh,
        };
        if let Some(sealed) = self.seal_successor(&pair) {
            self.revocations
                .record_successor(&token_hash, &sealed)
                .await
                .map_err(LoadError::Unavailable)?;
        }
        let mut client = self.refresh_changes(pair.refresh);
        client.extend(self.access_changes(pair.access));
        Ok(Loaded {
            key: Some(Self::key_of(&claims)),
            expires_at: claims.exp,
            data: claims.session,
            client,
            revision: None,
        })
    }

    /// The claims of a token whose signature and claims check out except, possibly, expiry.
    fn verify_for_refresh(&self, token: &str) -> Result<Claims, LoadError> {
        self.verify(token, false)
            .map_err(|_| LoadError::Invalid("the access token does not verify"))
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
        let rejected = |expired: bool, reason: &'static str| match transport {
            Carrier::Cookie(_) if expired => LoadError::Expired,
            Carrier::Cookie(_) => LoadError::Invalid(reason),
            Carrier::Bearer | Carrier::UrlParam(_) => LoadError::Rejected { expired },
        };
        let claims = match self.verify(&token, true) {
            Ok(claims) => claims,
            Err(ErrorKind::ExpiredSignature) => {
                // A browser's expired access token is refreshed in passing from its cookie.
                let refresh = CARRIERS[2].read(request);
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

    async fn refresh(&self, access_token: &str, refresh_token: &str) -> Result<Loaded, LoadError> {
        let expired = self.verify_for_refresh(access_token)?;
        self.trade(expired, refresh_token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_names_the_pinned_algorithm() {
        assert!(VERIFIED_BEFORE.starts_with(&format!("verify {ALGORITHM:?}:")));
    }
}
