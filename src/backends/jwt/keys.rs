//! Signing keys, and the token codec the `jwt` and `hybrid` strategies share: what signing and
//! verifying with those keys checks (RFC 8725): the pinned algorithm, an explicit `typ` of the
//! strategy's own (so neither strategy's token passes for the other's), the key the header
//! names, issuer, audience and the registered claims.
//!
//! Two algorithms, one per deployment (`JWT_ALGORITHM`): EdDSA (Ed25519, the default), whose
//! public keys the shop publishes as a JWKS so that another service verifies tokens without
//! being able to mint them; and HS256, one shared secret, for a single service only: whoever
//! holds an HMAC key to verify can also sign. Each configured secret is an Ed25519 seed's
//! source (hashed with a label), so every instance derives the same key pair from `JWT_KEYS`.

use super::JwtSettings;
use crate::{crypto::published_keys::PublishedKeys, session::error::BackendError, trace};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{
    decode, decode_header, encode,
    errors::ErrorKind,
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
        OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    },
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use std::{sync::Arc, time::Instant};

/// The algorithms a backend may sign with; it accepts only the one it signs with.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::HS256];
/// Secrets shorter than this are refused: an HS256 key must be as strong as the hash, and an
/// Ed25519 seed is 32 bytes.
pub const MIN_KEY_BYTES: usize = 32;
/// PKCS#8 v1 (RFC 8410) framing of an Ed25519 private key, followed by its 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
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
    pub(super) secret: Vec<u8>,
}

impl SigningKey {
    /// What this key signs with under `algorithm`.
    fn encoding_key(&self, algorithm: Algorithm) -> EncodingKey {
        match algorithm {
            Algorithm::EdDSA => {
                let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
                pkcs8.extend_from_slice(&self.ed25519_seed());
                EncodingKey::from_ed_der(&pkcs8)
            }
            _ => EncodingKey::from_secret(&self.secret),
        }
    }

    /// What verifies this key's signatures under `algorithm`.
    fn decoding_key(&self, algorithm: Algorithm) -> DecodingKey {
        match algorithm {
            Algorithm::EdDSA => DecodingKey::from_ed_der(&self.ed25519_public_key()),
            _ => DecodingKey::from_secret(&self.secret),
        }
    }

    /// The Ed25519 seed this secret stands for: a labelled hash, so the same secret never
    /// serves as an HMAC key and a private key at once.
    fn ed25519_seed(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"session-strategies ed25519 seed\0")
            .chain_update(&self.secret)
            .finalize()
            .into()
    }

    fn ed25519_public_key(&self) -> Vec<u8> {
        Ed25519KeyPair::from_seed_unchecked(&self.ed25519_seed())
            .map(|pair| pair.public_key().as_ref().to_vec())
            // A 32-byte seed is always a valid Ed25519 private key.
            .unwrap_or_default()
    }

    /// This key's public half as a JSON Web Key (RFC 8037), for the shop's JWKS.
    fn public_jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(self.ed25519_public_key()),
            }),
        }
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

/// The validation rules every token of a codec is checked against (pinned algorithm, issuer,
/// audience, required claims, leeway), with the expiry check or without it.
fn validation(
    algorithm: Algorithm,
    settings: &JwtSettings,
    leeway: i64,
    check_exp: bool,
) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = leeway as u64;
    validation.validate_exp = check_exp;
    validation.validate_nbf = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation
}

/// Where a codec finds the key a token's `kid` names.
enum Keys {
    /// The shop's own signing keys, oldest first as `JWT_KEYS` lists them, each with what
    /// verifies it (built once rather than on every request).
    Signing(Vec<(SigningKey, DecodingKey)>),
    /// Another service's view: the public keys the shop publishes, verify-only.
    Published(Arc<PublishedKeys>),
}

/// Signs tokens of one type with the newest key, and verifies them with any.
pub struct TokenCodec {
    typ: &'static str,
    algorithm: Algorithm,
    keys: Keys,
    checking_exp: Validation,
    ignoring_exp: Validation,
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
        let algorithm = settings.algorithm;
        let keys = settings
            .keys
            .iter()
            .map(|key| (key.clone(), key.decoding_key(algorithm)))
            .collect();
        Ok(Self::with_keys(typ, settings, leeway, Keys::Signing(keys)))
    }

    /// A codec that only verifies, with the keys `published` holds (EdDSA pinned): what a
    /// second service runs. Signing with it fails.
    pub fn verifying(
        typ: &'static str,
        settings: &JwtSettings,
        leeway: i64,
        published: Arc<PublishedKeys>,
    ) -> Self {
        let settings = JwtSettings {
            algorithm: Algorithm::EdDSA,
            ..settings.clone()
        };
        Self::with_keys(typ, &settings, leeway, Keys::Published(published))
    }

    fn with_keys(typ: &'static str, settings: &JwtSettings, leeway: i64, keys: Keys) -> Self {
        let algorithm = settings.algorithm;
        Self {
            typ,
            algorithm,
            keys,
            checking_exp: validation(algorithm, settings, leeway, true),
            ignoring_exp: validation(algorithm, settings, leeway, false),
        }
    }

    /// What this codec signs and accepts.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key new tokens are signed with, unless this codec only verifies.
    pub fn newest_key(&self) -> Option<&SigningKey> {
        match &self.keys {
            Keys::Signing(keys) => keys.last().map(|(key, _)| key),
            Keys::Published(_) => None,
        }
    }

    /// Signs `claims` with the newest key, in the trace.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, BackendError> {
        let started = Instant::now();
        let key = self.newest_key().ok_or_else(|| {
            BackendError::Encode("this service verifies tokens and cannot sign them".into())
        })?;
        let mut header = Header::new(self.algorithm);
        header.typ = Some(self.typ.to_owned());
        header.kid = Some(key.kid.clone());
        let token = encode(&header, claims, &key.encoding_key(self.algorithm))
            .map_err(|error| BackendError::Encode(error.to_string()));
        trace::step(started, || {
            (
                format!("sign {:?} kid={}", self.algorithm, key.kid),
                match &token {
                    Ok(token) => format!("ok, {} B", token.len()),
                    Err(error) => format!("error: {error}"),
                },
            )
        });
        token
    }

    /// How the trace says where the key came from: nothing for the shop's own keys.
    pub fn key_note(&self) -> &'static str {
        match self.keys {
            Keys::Signing(_) => "",
            Keys::Published(_) => " (the shop's published key)",
        }
    }

    /// Before a verification: if `token` names a key this codec has not seen, and the keys are
    /// the shop's published ones, fetches them again (the shop may have rotated). Nothing
    /// happens for the shop's own keys, or for a token whose key is known.
    pub async fn learn_key_of(&self, token: &str) {
        let Keys::Published(published) = &self.keys else {
            return;
        };
        if let Ok(Header { kid: Some(kid), .. }) = decode_header(token) {
            published.refresh_unless_known(&kid).await;
        }
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
        if header.alg != self.algorithm {
            return Err(ErrorKind::InvalidAlgorithm);
        }
        if header.typ.as_deref() != Some(self.typ) {
            return Err(ErrorKind::InvalidToken);
        }
        let wanted = kid.as_deref().ok_or(ErrorKind::InvalidToken)?;
        let validation = if check_exp {
            &self.checking_exp
        } else {
            &self.ignoring_exp
        };
        let verify = |key: &DecodingKey| {
            decode::<C>(token, key, validation)
                .map(|data| data.claims)
                .map_err(|error| error.into_kind())
        };
        match &self.keys {
            Keys::Signing(keys) => keys
                .iter()
                .find(|(key, _)| key.kid == wanted)
                .map_or(Err(ErrorKind::InvalidToken), |(_, key)| verify(key)),
            Keys::Published(published) => published
                .key(wanted)
                .map_or(Err(ErrorKind::InvalidToken), |key| verify(&key)),
        }
    }

    /// The public keys that verify this codec's tokens (RFC 7517), for other services: none
    /// under HS256, whose key must never leave the shop, and none from a verify-only codec.
    pub fn public_keys(&self) -> Vec<Jwk> {
        match (&self.keys, self.algorithm) {
            (Keys::Signing(keys), Algorithm::EdDSA) => {
                keys.iter().map(|(key, _)| key.public_jwk()).collect()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use std::time::Duration;

    fn settings(algorithm: Algorithm) -> JwtSettings {
        JwtSettings {
            keys: vec![SigningKey::new("k1", vec![7; 32]).unwrap()],
            algorithm,
            issuer: "shop".into(),
            audience: "shoppers".into(),
            access_ttl: Duration::from_secs(60),
            refresh_ttl: Duration::from_secs(600),
            refresh_grace: Duration::from_secs(1),
        }
    }

    #[derive(Serialize, serde::Deserialize)]
    struct Claims {
        iss: String,
        aud: String,
        sub: String,
        nbf: i64,
        exp: i64,
    }

    fn claims() -> Claims {
        let now = crate::clock::now_unix();
        Claims {
            iss: "shop".into(),
            aud: "shoppers".into(),
            sub: "1".into(),
            nbf: now,
            exp: now + 60,
        }
    }

    #[tokio::test]
    async fn an_eddsa_token_verifies_with_the_published_key_alone() {
        let settings = settings(Algorithm::EdDSA);
        let codec = TokenCodec::new("at+jwt", &settings, 0).unwrap();
        let token = codec.sign(&claims()).unwrap();
        let published = JwkSet {
            keys: codec.public_keys(),
        };
        assert_eq!(published.keys.len(), 1);
        // The published set is not the secret.
        let text = serde_json::to_string(&published).unwrap();
        assert!(!text.contains(&URL_SAFE_NO_PAD.encode([7u8; 32])));

        let fetched = PublishedKeys::fetch_with(Arc::new(move || {
            let set = published.clone();
            Box::pin(async move { Ok(set) })
        }))
        .await
        .unwrap();
        let verifying = TokenCodec::verifying("at+jwt", &settings, 0, fetched);
        let mut kid = None;
        let verified: Claims = verifying.decode(&token, true, &mut kid).unwrap();
        assert_eq!(verified.sub, "1");
        assert_eq!(kid.as_deref(), Some("k1"));
        assert!(
            verifying.sign(&claims()).is_err(),
            "a verify-only codec cannot mint"
        );
    }

    #[test]
    fn an_hs256_codec_publishes_no_key_and_refuses_eddsa_tokens() {
        let hs = TokenCodec::new("at+jwt", &settings(Algorithm::HS256), 0).unwrap();
        assert!(hs.public_keys().is_empty());
        let ed = TokenCodec::new("at+jwt", &settings(Algorithm::EdDSA), 0).unwrap();
        let token = ed.sign(&claims()).unwrap();
        let refused = hs.decode::<Claims>(&token, true, &mut None);
        assert_eq!(refused.err(), Some(ErrorKind::InvalidAlgorithm));
    }
}
