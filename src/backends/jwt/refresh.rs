//! Refresh tokens: single-use, grouped in the access token's family, kept only as hashes in the
//! ledger. Trading one gives a new access and refresh token; presenting it again within the
//! grace period (two tabs refreshing at once) gives the same pair again, sealed in the ledger
//! meanwhile; presenting it later is a replay, and revokes the whole family.

use super::{Claims, JwtBackend, REFRESH_COOKIE};
use crate::{
    clock::now_unix,
    crypto::secrets::{derive_secret, random_token},
    revocation::RefreshUse,
    session::{
        backend::Loaded,
        error::{BackendError, LoadError, Unavailable},
        transport::ClientChange,
    },
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The pair a refresh token was traded for, kept sealed for the grace period.
#[derive(Serialize, Deserialize)]
struct Successor {
    access: String,
    refresh: String,
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

impl JwtBackend {
    /// What the client must hold after a new refresh token.
    pub(super) fn refresh_changes(&self, token: String) -> Vec<ClientChange> {
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
        self.refresh_tokens
            .store_refresh(&refresh_hash(&token), family, subject, expires_at)
            .await
            .map_err(BackendError::Unavailable)?;
        Ok(token)
    }

    pub(super) async fn new_refresh_token(
        &self,
        family: &str,
        subject: &str,
    ) -> Result<Vec<ClientChange>, BackendError> {
        Ok(self.refresh_changes(self.mint_refresh(family, subject).await?))
    }

    /// The key that seals a traded pair while the grace period lasts: derived from the
    /// newest signing key, so only this service can open it; none in a service that only
    /// verifies tokens.
    fn successor_key(&self) -> Option<cookie::Key> {
        let secret = &self.newest_key()?.secret;
        let material = [
            derive_secret(secret, "refresh-successor-signing"),
            derive_secret(secret, "refresh-successor-encryption"),
        ]
        .concat();
        Some(cookie::Key::from(&material))
    }

    /// The new pair a refresh token was traded for, sealed (AES-256-GCM) for the ledger.
    fn seal_successor(&self, pair: &Successor) -> Option<String> {
        let plaintext = serde_json::to_string(pair).ok()?;
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.successor_key()?)
            .add(cookie::Cookie::new("successor", plaintext));
        jar.get("successor").map(|sealed| sealed.value().to_owned())
    }

    fn open_successor(&self, sealed: &str) -> Option<Successor> {
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new("successor", sealed.to_owned()));
        let opened = jar.private(&self.successor_key()?).get("successor")?;
        serde_json::from_str(opened.value()).ok()
    }

    /// Trades `refresh_token` for a new access and refresh token carrying the session of
    /// `expired` (a token whose signature checks out, expired or not). Reusing a spent refresh
    /// token revokes its whole family.
    pub(super) async fn trade(
        &self,
        expired: Claims,
        refresh_token: &str,
    ) -> Result<Loaded, LoadError> {
        let token_hash = refresh_hash(refresh_token);
        let outcome = self
            .refresh_tokens
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
            self.refresh_tokens
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
    pub(super) fn verify_for_refresh(&self, token: &str) -> Result<Claims, LoadError> {
        self.verify(token, false)
            .map_err(|_| LoadError::Invalid("the access token does not verify"))
    }
}
