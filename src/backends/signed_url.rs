//! No cookies at all: the session id travels in the URL parameter `s` as an HMAC-SHA256 signed,
//! expiring token ([`UrlSigner`]), and the state sits in a server store.
//!
//! This is how password-reset and magic links work, stretched to a whole visit. Anyone holding
//! the URL holds the session, and URLs leak (history, logs, the Referer header), so tokens
//! expire, pages send `Referrer-Policy: no-referrer` and `Cache-Control: no-store`, and login
//! rotates the id. What a leaked URL gives: the session until the token expires, the session
//! is logged out, or its absolute timeout passes.

use super::server_side::SessionRecords;
use crate::{
    crypto::url_signer::{TokenError, UrlSigner},
    session::{
        backend::{Loaded, Revision, Saved, ServerCopy, SessionBackend, SessionKey, Stored},
        data::SessionData,
        error::{BackendError, LoadError},
        transport::{Carrier, ClientChange},
    },
    stores::RecordStore,
    strategy::Strategy,
};
use async_trait::async_trait;
use http::request::Parts;
use std::{sync::Arc, time::Duration};
use tower_sessions::session::Id;

/// The query parameter that carries the session token.
pub const URL_PARAM: &str = "s";
pub const CARRIERS: &[Carrier] = &[Carrier::UrlParam(URL_PARAM)];

/// The signed-URL strategy.
pub struct SignedUrlBackend {
    signer: UrlSigner,
    records: SessionRecords,
}

const PURPOSE: &str = "session";

impl SignedUrlBackend {
    pub fn new(signer: UrlSigner, store: Arc<dyn RecordStore>, ttl: Duration) -> Self {
        Self {
            signer,
            records: SessionRecords::new(Strategy::SignedUrl, store, ttl),
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

    fn carriers(&self) -> &'static [Carrier] {
        CARRIERS
    }

    async fn stored(&self, key: &SessionKey) -> Result<Stored, LoadError> {
        self.records.stored(key).await
    }

    async fn server_copy(&self, key: &SessionKey) -> Option<ServerCopy> {
        let store = Strategy::SignedUrl.meta().state_location;
        self.records.copy(store, key).await
    }

    async fn load(&self, request: &Parts) -> Result<Option<Loaded>, LoadError> {
        let Some(token) = CARRIERS[0].peek(request) else {
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
            token.into_owned()
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
        let token = |id, expires_at| ClientChange::Credential(self.token_for(id, expires_at));
        self.records.save(data, key, rotate, token).await
    }

    async fn replace(
        &self,
        data: &SessionData,
        key: &SessionKey,
        revision: &Revision,
    ) -> Result<Saved, BackendError> {
        let token = |id, expires_at| ClientChange::Credential(self.token_for(id, expires_at));
        self.records.replace(data, key, revision, token).await
    }

    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError> {
        self.records.delete(key).await?;
        Ok(Vec::new())
    }
}
