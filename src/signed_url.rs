//! No cookies at all: the session id travels in the URL parameter `s` as an HMAC-SHA256 signed,
//! expiring token, and the state sits in a server store.
//!
//! This is how password-reset and magic links work, stretched to a whole visit. Anyone holding
//! the URL holds the session, and URLs leak (history, logs, the Referer header), so tokens
//! expire, pages send `Referrer-Policy: no-referrer` and `Cache-Control: no-store`, and login
//! rotates the id. [`UrlSigner`] also signs the one-off links (shared carts, magic logins).

use crate::{
    backend::{
        BackendError, ClientChange, LoadError, Loaded, Saved, ServerCopy, SessionBackend,
        SessionKey,
    },
    data::{now_unix, SessionData},
    store::{parse_key, SessionRecords},
    strategy::Strategy,
    trace,
};
use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use http::request::Parts;
use sha2::Sha256;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tower_sessions::{session::Id, SessionStore};

/// The query parameter that carries the session token.
pub const URL_PARAM: &str = "s";

/// Why a signed token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Signs and checks `payload.expiry` tokens for one purpose each, so a token minted for one use
/// (a shared cart) is worthless for another (a session).
#[derive(Clone)]
pub struct UrlSigner {
    key: Arc<[u8]>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner([redacted])")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl UrlSigner {
    /// `key` should be at least 32 random bytes.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.into() }
    }

    fn mac(&self, purpose: &str, signed: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(signed);
        mac
    }

    /// `base64url(payload ‖ expiry) . base64url(HMAC)`.
    pub fn sign(&self, purpose: &str, payload: &[u8], expires_at: i64) -> String {
        let started = Instant::now();
        let token = self.sign_untraced(purpose, payload, expires_at);
        trace::step(started, || {
            (
                format!("sign HMAC-SHA256 {purpose}"),
                format!("ok, {} B", token.len()),
            )
        });
        token
    }

    fn sign_untraced(&self, purpose: &str, payload: &[u8], expires_at: i64) -> String {
        let mut signed = payload.to_vec();
        signed.extend_from_slice(&expires_at.to_be_bytes());
        let tag = self.mac(purpose, &signed).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&signed),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The payload of a token signed for `purpose` and not yet expired. The tag is compared in
    /// constant time (`Mac::verify_slice`).
    pub fn verify(&self, purpose: &str, token: &str) -> Result<Vec<u8>, TokenError> {
        let started = Instant::now();
        let payload = self.verify_untraced(purpose, token);
        trace::step(started, || {
            (
                format!("verify HMAC-SHA256 {purpose}"),
                match &payload {
                    Ok(_) => "ok".into(),
                    Err(error) => format!("refused: {error}"),
                },
            )
        });
        payload
    }

    fn verify_untraced(&self, purpose: &str, token: &str) -> Result<Vec<u8>, TokenError> {
        let (body, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let signed = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed)?;
        if signed.len() < 8 {
            return Err(TokenError::Malformed);
        }
        self.mac(purpose, &signed)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let (payload, expiry) = signed.split_at(signed.len() - 8);
        let expires_at = i64::from_be_bytes(expiry.try_into().map_err(|_| TokenError::Malformed)?);
        if expires_at <= now_unix() {
            return Err(TokenError::Expired);
        }
        Ok(payload.to_vec())
    }
}

/// 128 random bits, base64url: ids for one-off links.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A 32-byte secret for one `purpose`, derived from the master key, so one configured secret
/// yields independent keys for cookies, JWTs and URLs.
pub fn derive_secret(master: &[u8], purpose: &str) -> Vec<u8> {
    UrlSigner::new(master)
        .mac("derive", purpose.as_bytes())
        .finalize()
        .into_bytes()
        .to_vec()
}

/// The value of query parameter `name`, if present.
pub fn query_param(request: &Parts, name: &str) -> Option<String> {
    let query = request.uri.query()?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_owned())
    })
}

/// The signed-URL strategy.
pub struct SignedUrlBackend {
    signer: UrlSigner,
    records: SessionRecords,
}

const PURPOSE: &str = "session";

impl SignedUrlBackend {
    pub fn new(signer: UrlSigner, store: Arc<dyn SessionStore>, ttl: Duration) -> Self {
        Self {
            signer,
            records: SessionRecords::new(store, ttl),
        }
    }

    /// The URL token for session `id`, valid until `expires_at`.
    pub fn token_for(&self, id: Id, expires_at: i64) -> String {
        self.signer.sign(PURPOSE, &id.0.to_le_bytes(), expires_at)
    }
}

#[async_trait]
impl SessionBackend for SignedUrlBackend {
    fn strategy(&self) -> Strategy {
        Strategy::SignedUrl
    }

    fn recognizes(&self, request: &Parts) -> bool {
        query_param(request, URL_PARAM).is_some()
    }

    fn presented_credential(&self, request: &Parts) -> Option<String> {
        query_param(request, URL_PARAM)
    }

    async fn server_copy(&self, key: &SessionKey) -> Option<ServerCopy> {
        let store = Strategy::SignedUrl.properties().state_location;
        self.records
            .copy(store, key.0.clone(), parse_key(key)?)
            .await
    }

    async fn load(&self, request: &Parts) -> Result<Option<Loaded>, LoadError> {
        let Some(token) = query_param(request, URL_PARAM) else {
            return Ok(None);
        };
        let payload = self
            .signer
            .verify(PURPOSE, &token)
            .map_err(|error| match error {
                TokenError::Expired => LoadError::Expired,
                TokenError::Malformed => LoadError::Invalid("malformed URL token"),
                TokenError::BadSignature => LoadError::Invalid("URL token signature mismatch"),
            })?;
        let bytes: [u8; 16] = payload
            .try_into()
            .map_err(|_| LoadError::Invalid("URL token of the wrong shape"))?;
        let id = Id(i128::from_le_bytes(bytes));
        let (mut loaded, renewed) = self.records.load(id).await?;
        // Links on this page carry the token the request came with, or a renewed one.
        let token = if renewed {
            self.token_for(id, loaded.expires_at)
        } else {
            token
        };
        loaded.client = vec![ClientChange::Credential(token)];
        Ok(Some(loaded))
    }

    async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
    ) -> Result<Saved, BackendError> {
        let (id, expires_at) = self
            .records
            .save(data, key.and_then(parse_key), rotate)
            .await?;
        Ok(Saved {
            key: Some(SessionKey(id.to_string())),
            client: vec![ClientChange::Credential(self.token_for(id, expires_at))],
            expires_at,
        })
    }

    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError> {
        if let Some(id) = key.and_then(parse_key) {
            self.records.delete(id).await?;
        }
        Ok(Vec::new())
    }
}
