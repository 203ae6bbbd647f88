//! Signing keys, and the token codec the `jwt` and `hybrid` strategies share: what signing and
//! verifying with those keys checks (RFC 8725): the pinned algorithm, an explicit `typ` of the
//! strategy's own (so neither strategy's token passes for the other's), the key the header
//! names, issuer, audience and the registered claims.

use super::JwtSettings;
use crate::{session::error::BackendError, trace};
use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};
use serde::{de::DeserializeOwned, Serialize};
use std::time::Instant;

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
struct Verifier {
    kid: String,
    key: DecodingKey,
    checking_exp: Validation,
    ignoring_exp: Validation,
}

impl Verifier {
    fn new(key: &SigningKey, settings: &JwtSettings, leeway: i64) -> Self {
        let validation = |check_exp: bool| {
            let mut validation = Validation::new(ALGORITHM);
            validation.algorithms = vec![ALGORITHM];
            validation.leeway = leeway as u64;
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

/// Signs tokens of one type with the newest key, and verifies them with any.
pub struct TokenCodec {
    typ: &'static str,
    /// Oldest first, as `JWT_KEYS` lists them.
    keys: Vec<SigningKey>,
    /// What verification needs for each key, built once rather than on every request.
    verifiers: Vec<Verifier>,
}

impl TokenCodec {
    /// Tokens of type `typ` under `settings`' keys, issuer and audience, `leeway` seconds of
    /// clock skew forgiven.
    pub fn new(
        typ: &'static str,
        settings: &JwtSettings,
        leeway: i64,
    ) -> Result<Self, NoSigningKey> {
        if settings.keys.is_empty() {
            return Err(NoSigningKey);
        }
        Ok(Self {
            typ,
            keys: settings.keys.clone(),
            verifiers: settings
                .keys
                .iter()
                .map(|key| Verifier::new(key, settings, leeway))
                .collect(),
        })
    }

    /// The key new tokens are signed with.
    pub fn newest_key(&self) -> &SigningKey {
        // `new` refuses an empty key list.
        &self.keys[self.keys.len() - 1]
    }

    /// Signs `claims` with the newest key, in the trace.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, BackendError> {
        let started = Instant::now();
        let key = self.newest_key();
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(self.typ.to_owned());
        header.kid = Some(key.kid.clone());
        let token = encode(&header, claims, &key.encoding_key())
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

    /// Verifies `token`: its header (the pinned algorithm, this codec's `typ`, a known `kid`,
    /// left in `kid` for the trace), its signature and its registered claims; `check_exp` is off
    /// only to read an expired token during a refresh.
    pub fn decode<C: DeserializeOwned>(
        &self,
        token: &str,
        check_exp: bool,
        kid: &mut Option<String>,
    ) -> Result<C, ErrorKind> {
        let header = decode_header(token).map_err(|error| error.into_kind())?;
        *kid = header.kid;
        if header.alg != ALGORITHM {
            return Err(ErrorKind::InvalidAlgorithm);
        }
        if header.typ.as_deref() != Some(self.typ) {
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
        decode::<C>(token, &verifier.key, validation)
            .map(|data| data.claims)
            .map_err(|error| error.into_kind())
    }
}
