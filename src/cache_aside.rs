//! Cache-aside: sessions persisted in SQL and read through Redis.
//!
//! A read tries Redis first; a miss loads from SQL and fills Redis. A write goes to SQL and
//! then deletes the cached copy, so the next read fills it from the source of truth: the
//! textbook pattern, which cannot leave an older write in the cache after a newer one.
//! tower-sessions' `CachingSessionStore` fails whenever the cache fails; here a cache that is
//! down or flushed only costs speed: SQL stays the source of truth and no session is lost.
//! Cache entries live at most [`CACHE_TTL`], which bounds how long a write that could not reach
//! a downed Redis can be served stale.

use crate::{
    redis_store::RedisConnection,
    trace::{self, short},
};
use async_trait::async_trait;
use std::{sync::Arc, time::Duration};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_redis_store::fred::{interfaces::KeysInterface, types::Expiration};

/// The longest a session stays in the cache without being read through again.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// The key of a session in the cache.
pub fn cache_key(id: &Id) -> String {
    format!("cache:{id}")
}

/// A SQL store read through a Redis cache that is allowed to fail.
#[derive(Clone)]
pub struct CacheAsideStore {
    cache: RedisConnection,
    store: Arc<dyn SessionStore>,
}

impl std::fmt::Debug for CacheAsideStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheAsideStore").finish_non_exhaustive()
    }
}

impl CacheAsideStore {
    pub fn new(cache: RedisConnection, store: Arc<dyn SessionStore>) -> Self {
        Self { cache, store }
    }

    async fn cache_get(&self, id: &Id) -> Option<Record> {
        let started = std::time::Instant::now();
        let operation = || format!("redis GET cache:{}", short(&id.to_string()));
        if !self.cache.is_connected() {
            trace::step(started, || (operation(), "skipped: cache down".into()));
            return None;
        }
        let key = cache_key(id);
        let (record, outcome) = match self.cache.client().get::<Option<String>, _>(&key).await {
            Ok(Some(json)) => match serde_json::from_str(&json) {
                Ok(record) => (Some(record), "hit".to_owned()),
                Err(_) => (None, "undecodable, treated as a miss".to_owned()),
            },
            Ok(None) => (None, "miss".to_owned()),
            Err(error) => {
                tracing::debug!(%error, "cache read failed; reading SQL");
                (None, format!("error: {error}"))
            }
        };
        trace::step(started, || (operation(), outcome));
        record
    }

    async fn cache_put(&self, record: &Record) {
        if !self.cache.is_connected() {
            return;
        }
        let Ok(json) = serde_json::to_string(record) else {
            return;
        };
        let left = (record.expiry_date - OffsetDateTime::now_utc()).whole_seconds();
        let ttl = left.min(CACHE_TTL.as_secs() as i64);
        if ttl <= 0 {
            return;
        }
        let started = std::time::Instant::now();
        let result: Result<(), _> = self
            .cache
            .client()
            .set(
                cache_key(&record.id),
                json,
                Some(Expiration::EX(ttl)),
                None,
                false,
            )
            .await;
        trace::step(started, || {
            (
                format!("redis SET cache:{} EX {ttl}", short(&record.id.to_string())),
                trace::outcome(&result),
            )
        });
        if let Err(error) = result {
            tracing::debug!(%error, "cache write failed; SQL has the session");
        }
    }

    /// Drops the cached copy after a write, so the next read fills it from SQL.
    async fn cache_forget(&self, id: &Id) {
        let started = std::time::Instant::now();
        if !self.cache.is_connected() {
            // Not worth a timeout per write; the stale copy expires within CACHE_TTL.
            trace::step(started, || {
                (
                    format!("redis DEL cache:{}", short(&id.to_string())),
                    "skipped: cache down".into(),
                )
            });
            return;
        }
        let result: Result<(), _> = self.cache.client().del(cache_key(id)).await;
        trace::step(started, || {
            (
                format!("redis DEL cache:{}", short(&id.to_string())),
                trace::outcome(&result),
            )
        });
        if let Err(error) = result {
            tracing::warn!(%error, "could not evict a changed session from the cache");
        }
    }
}

#[async_trait]
impl SessionStore for CacheAsideStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id has nothing cached: the first read fills the cache.
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await?;
        self.cache_forget(&record.id).await;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.cache_get(id).await {
            return Ok(Some(record));
        }
        let record = self.store.load(id).await?;
        if let Some(record) = &record {
            self.cache_put(record).await;
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await?;
        self.cache_forget(id).await;
        Ok(())
    }
}
