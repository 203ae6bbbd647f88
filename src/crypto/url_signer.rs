//! Signed, expiring tokens for URLs: `base64url(payload ‖ expiry) . base64url(HMAC-SHA256)`,
//! each signed for one purpose, so a token minted for one use (a shared cart) is worthless for
//! another (a session, a magic login). The signed-URL strategy carries its session ids this
//! way, and the shop's one-off links use the same signer with purposes of their own.

use super::{key_ring::KeyRing, secrets::derive_secret};
use crate::{clock::now_unix, trace};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::{sync::Arc, time::Instant};

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
/// (a shared cart) is worthless for another (a session). Signs with its newest key and accepts
/// any of them ([`super::key_ring`]).
#[derive(Clone)]
pub struct UrlSigner {
    /// Newest first; never empty.
    keys: Arc<[Vec<u8>]>,
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
        Self {
            keys: Arc::from(vec![key.to_vec()]),
        }
    }

    /// A signer with a key for `purpose` derived from each of the ring's keys.
    pub fn derived(ring: &KeyRing, purpose: &str) -> Self {
        Self {
            keys: ring
                .keys()
                .map(|(_, key)| derive_secret(key.master(), purpose))
                .collect(),
        }
    }

    fn mac(key: &[u8], purpose: &str, signed: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = HmacSha256::new_from_slice(key)
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
        let tag = Self::mac(&self.keys[0], purpose, &signed)
            .finalize()
            .into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&signed),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The payload of a token signed for `purpose`, with any of the keys, and not yet expired.
    /// The tag is compared in constant time (`Mac::verify_slice`).
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
        let signed_here = self
            .keys
            .iter()
            .any(|key| Self::mac(key, purpose, &signed).verify_slice(&tag).is_ok());
        if !signed_here {
            return Err(TokenError::BadSignature);
        }
        let (payload, expiry) = signed.split_at(signed.len() - 8);
        let expires_at = i64::from_be_bytes(expiry.try_into().map_err(|_| TokenError::Malformed)?);
        if expires_at <= now_unix() {
            return Err(TokenError::Expired);
        }
        Ok(payload.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum_extra::extract::cookie::Key;

    #[test]
    fn a_token_signed_with_a_retired_key_verifies_until_the_key_is_dropped() {
        let (old, new) = (Key::generate(), Key::generate());
        let before = UrlSigner::derived(&KeyRing::single(old.clone()), "session");
        let token = before.sign("session", b"id", now_unix() + 60);
        let rotated = UrlSigner::derived(&KeyRing::new(vec![new.clone(), old]).unwrap(), "session");
        assert_eq!(rotated.verify("session", &token), Ok(b"id".to_vec()));
        let fresh = rotated.sign("session", b"id", now_unix() + 60);
        let after = UrlSigner::derived(&KeyRing::single(new), "session");
        assert_eq!(after.verify("session", &fresh), Ok(b"id".to_vec()));
        assert_eq!(
            after.verify("session", &token),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            rotated.verify("share-cart", &token),
            Err(TokenError::BadSignature),
            "another purpose"
        );
    }
}
