//! A ledger that lives in this process only, for sessions nobody else ever sees: the
//! throwaway copies `/compare` saves to measure a strategy. Writing their revocations and
//! refresh tokens to the shared ledger would make every measurement a write to SQL, a Redis
//! announcement and an entry in every instance's mirror for a quarter of an hour.

use super::{RefreshTokens, RefreshUse, RevokedFamilies};
use crate::{clock::now_unix, session::error::Unavailable};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

/// Entries kept at most; past that the lapsed ones go, then the rest. Forgetting a revocation
/// early is harmless here: the throwaway sessions' credentials never leave the process, and
/// are sealed with keys of their own that nothing else opens.
const KEPT: usize = 10_000;

/// Revoked families and refresh tokens in this process.
#[derive(Clone, Debug, Default)]
pub struct ThrowawayLedger {
    inner: Arc<Mutex<Ledger>>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Family and until when it is revoked.
    revoked: HashMap<String, i64>,
    /// Token hash and (family, subject, expires at, used).
    refresh: HashMap<String, (String, String, i64, bool)>,
}

impl ThrowawayLedger {
    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Ledger {
    /// Keeps the ledger bounded: lapsed entries first, everything if that is not enough.
    fn make_room(&mut self) {
        let now = now_unix();
        if self.revoked.len() >= KEPT {
            self.revoked.retain(|_, until| *until > now);
            if self.revoked.len() >= KEPT {
                self.revoked.clear();
            }
        }
        if self.refresh.len() >= KEPT {
            self.refresh
                .retain(|_, (_, _, expires_at, _)| *expires_at > now);
            if self.refresh.len() >= KEPT {
                self.refresh.clear();
            }
        }
    }
}

#[async_trait]
impl RevokedFamilies for ThrowawayLedger {
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable> {
        let mut ledger = self.lock();
        ledger.make_room();
        ledger.revoked.insert(family.to_owned(), until);
        for (token_family, _, _, used) in ledger.refresh.values_mut() {
            if token_family == family {
                *used = true;
            }
        }
        Ok(())
    }

    async fn is_family_revoked(&self, family: &str) -> Result<bool, Unavailable> {
        let now = now_unix();
        Ok(self
            .lock()
            .revoked
            .get(family)
            .is_some_and(|until| *until > now))
    }
}

#[async_trait]
impl RefreshTokens for ThrowawayLedger {
    async fn store_refresh(
        &self,
        token_hash: &str,
        family: &str,
        subject: &str,
        expires_at: i64,
    ) -> Result<(), Unavailable> {
        let mut ledger = self.lock();
        ledger.make_room();
        ledger.refresh.insert(
            token_hash.to_owned(),
            (family.to_owned(), subject.to_owned(), expires_at, false),
        );
        Ok(())
    }

    /// Spends a token once; a throwaway session is never refreshed twice, so there is no grace
    /// period to keep.
    async fn use_refresh(
        &self,
        token_hash: &str,
        _grace: Duration,
    ) -> Result<RefreshUse, Unavailable> {
        let mut ledger = self.lock();
        let Some((family, subject, expires_at, used)) = ledger.refresh.get_mut(token_hash) else {
            return Ok(RefreshUse::Unknown);
        };
        if *used {
            return Ok(RefreshUse::Reused {
                family: family.clone(),
            });
        }
        *used = true;
        if *expires_at <= now_unix() {
            return Ok(RefreshUse::Expired);
        }
        Ok(RefreshUse::Fresh {
            family: family.clone(),
            subject: subject.clone(),
        })
    }

    async fn record_successor(&self, _token_hash: &str, _sealed: &str) -> Result<(), Unavailable> {
        Ok(())
    }
}
