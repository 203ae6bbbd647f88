//! The JWT strategy's signing keys, and what verifying with one of them checks: the pinned
//! algorithm, the key the header names, issuer, audience and the registered claims.

use super::{leeway, JwtSettings};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};

/// The one algorithm this backend signs with and accepts.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// HS256 keys shorter than this are refused: the key must be as strong as the hash.
pub const MIN_KEY_BYTES: usize = 32;

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
    pub(super) secret: Vec<u8>,
}

impl SigningKey {
    /// What this key signs with.
    pub(super) fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_secret(&self.secret)
    }

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

/// One accepted key ready to verify with: its decoding key and the validation rules (pinned
/// algorithm, issuer, audience, required claims, leeway), with and without the expiry check.
pub(super) struct Verifier {
    pub kid: String,
    pub key: DecodingKey,
    pub checking_exp: Validation,
    pub ignoring_exp: Validation,
}

impl Verifier {
    pub fn new(key: &SigningKey, settings: &JwtSettings) -> Self {
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
