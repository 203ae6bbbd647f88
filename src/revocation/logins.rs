//! Ending a login wherever it is: every logged-in session, whatever its strategy, carries a
//! login handle ([`SessionData::login`](crate::session::data::SessionData::login)), and ending the login
//! ("log out everywhere", ending one session from another device) puts the handle on the
//! revocation ledger. The session layer asks about the handle of every logged-in request it
//! loads; answers are cached for [`FRESH_FOR`], so a busy session costs the ledger one lookup a
//! second and an ended login reaches every instance within about that.

use super::RevokedFamilies;
use crate::session::{error::Unavailable, registry::LoginLedger};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long an instance trusts its last answer about a handle.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// Cached answers kept at most; past that, stale ones are dropped.
const CACHED: usize = 100_000;

/// The logins this server can end, and its cache of which have been.
#[derive(Clone)]
pub struct Logins {
    revocations: Arc<dyn RevokedFamilies>,
    cache: Arc<Mutex<HashMap<String, (bool, Instant)>>>,
}

fn ledger_key(handle: &str) -> String {
    format!("login:{handle}")
}

impl Logins {
    pub fn new(revocations: Arc<dyn RevokedFamilies>) -> Self {
        Self {
            revocations,
            cache: Arc::default(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (bool, Instant)>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl LoginLedger for Logins {
    async fn is_ended(&self, handle: &str) -> Result<bool, Unavailable> {
        if let Some((ended, checked)) = self.cache().get(handle) {
            if *ended || checked.elapsed() < FRESH_FOR {
                return Ok(*ended);
            }
        }
        let ended = self
            .revocations
            .is_family_revoked(&ledger_key(handle))
            .await?;
        let mut cache = self.cache();
        if cache.len() >= CACHED {
            cache.retain(|_, (ended, checked)| *ended && checked.elapsed() < FRESH_FOR * 60);
        }
        cache.insert(handle.to_owned(), (ended, Instant::now()));
        Ok(ended)
    }

    async fn end(&self, handle: &str, until: i64) -> Result<(), Unavailable> {
        self.revocations
            .revoke_family(&ledger_key(handle), until)
            .await?;
        self.cache()
            .insert(handle.to_owned(), (true, Instant::now()));
        Ok(())
    }
}
