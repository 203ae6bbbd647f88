//! The `cache-aside` strategy: the session id in the `sid` cookie, the session persisted in SQL
//! and read through a Redis cache, served by the server-side backend
//! (`src/backends/server_side.rs`). It pays SQL's durability on writes and Redis' speed on most
//! reads; a stolen `sid` gives what it gives under `sql`.
//!
//! A read tries Redis first; a miss loads from SQL and fills Redis. A write goes to SQL (a
//! compare-and-set there: SQL is where concurrent writes are ordered) and then replaces the
//! cached copy with a short-lived "changed" marker, a logout with a "gone" marker that lasts as
//! long as a cached copy could. Fills only ever add a missing key (`SET NX`), so a read that
//! fetched the old row before a write, or a session before its logout, and fills late cannot
//! put that old copy back: the textbook delete-on-write leaves exactly that window open, and a
//! late fill after a logout would keep serving a session that no longer exists.
//! tower-sessions' `CachingSessionStore` fails whenever the cache fails; here a cache that is
//! down or flushed only costs speed: SQL stays the source of truth and no session is lost.
//! Cache entries live at most [`CACHE_TTL`], which bounds how long a write that could not reach
//! a downed Redis can be served stale.
//!
//! A cached copy is the SQL row's bytes exactly as read (the record in MessagePack), so they
//! are also the row's revision: a write after a cache hit tries its compare-and-set on them
//! straight away, one SQL read fewer per write. A stale copy only makes that first try fail
//! (SQL holds other bytes); the write then reads SQL and tries again, as every store's writes
//! do when another write came first.

use super::{record, RecordStore, StoredSession};
use crate::{
    redis::RedisConnection,
    session::backend::Revision,
    trace::{self, redact::short},
};
use async_trait::async_trait;
use std::{sync::Arc, time::Duration};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_redis_store::fred::{
    interfaces::KeysInterface,
    types::{Expiration, SetOptions},
};

/// The longest a session stays in the cache without being read through again.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// How long reads go straight to SQL after a write: longer than a read between its SQL fetch
/// and its cache fill takes, short enough that the cache soon serves the session again.
pub const CHANGED_MARK_TTL: Duration = Duration::from_secs(1);

/// Cached values that stand for "no copy": compared before anything is decoded, and no
/// MessagePack record (that starts with an array marker; `#` is the integer 35).
const CHANGED_MARK: &str = "#changed";
const GONE_MARK: &str = "#gone";

/// What the cache holds for a session, its copy decoded as the read needs it (a whole
/// `Record`, or only the session).
enum Cached<T> {
    Copy(T),
    /// Nothing usable: read SQL and fill.
    Miss,
    /// Written moments ago: read SQL, do not fill.
    Changed,
    /// Deleted (logged out): nothing to load.
    Gone,
}

/// The key of a session in the cache.
pub fn cache_key(id: &Id) -> String {
    format!("cache:{id}")
}

/// A SQL store read through a Redis cache that is allowed to fail.
#[derive(Clone)]
pub struct CacheAsideStore {
    cache: RedisConnection,
    store: Arc<dyn RecordStore>,
}

impl std::fmt::Debug for CacheAsideStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheAsideStore").finish_non_exhaustive()
    }
}

impl CacheAsideStore {
    pub fn new(cache: RedisConnection, store: Arc<dyn RecordStore>) -> Self {
        Self { cache, store }
    }

    /// The cached copy of session `id`, decoded by `decode` (`None`: undecodable, a miss).
    async fn cache_get<T>(&self, id: &Id, decode: impl FnOnce(Vec<u8>) -> Option<T>) -> Cached<T> {
        let started = std::time::Instant::now();
        let operation = || format!("redis GET cache:{}", short(&id.to_string()));
        if !self.cache.is_connected() {
            trace::step(started, || (operation(), "skipped: cache down"));
            return Cached::Miss;
        }
        let key = cache_key(id);
        let (cached, outcome) = match self.cache.client().get::<Option<Vec<u8>>, _>(&key).await {
            Ok(Some(value)) if value == CHANGED_MARK.as_bytes() => {
                (Cached::Changed, "changed moments ago: read SQL".to_owned())
            }
            Ok(Some(value)) if value == GONE_MARK.as_bytes() => {
                (Cached::Gone, "gone (logged out)".to_owned())
            }
            Ok(Some(bytes)) => match decode(bytes) {
                Some(copy) => (Cached::Copy(copy), "hit".to_owned()),
                None => (Cached::Miss, "undecodable, treated as a miss".to_owned()),
            },
            Ok(None) => (Cached::Miss, "miss".to_owned()),
            Err(error) => {
                tracing::debug!(%error, "cache read failed; reading SQL");
                (Cached::Miss, format!("error: {error}"))
            }
        };
        trace::step(started, || (operation(), outcome));
        cached
    }

    /// A miss: the live record from SQL and its revision (its bytes), and those bytes into the
    /// cache if no one marked it meanwhile.
    async fn load_and_fill(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        let Some((record, revision)) = self.store.load_revision(id).await? else {
            return Ok(None);
        };
        if record.expiry_date <= OffsetDateTime::now_utc() {
            return Ok(None);
        }
        self.cache_put(&record, &revision).await;
        Ok(Some((record, revision)))
    }

    /// Caches `stored`, the bytes SQL holds for `record`.
    async fn cache_put(&self, record: &Record, stored: &Revision) {
        if !self.cache.is_connected() {
            return;
        }
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
                stored.bytes().to_vec(),
                Some(Expiration::EX(ttl)),
                Some(SetOptions::NX),
                false,
            )
            .await;
        trace::step(started, || {
            (
                format!(
                    "redis SET cache:{} NX EX {ttl}",
                    short(&record.id.to_string())
                ),
                trace::outcome(&result),
            )
        });
        if let Err(error) = result {
            tracing::debug!(%error, "cache write failed; SQL has the session");
        }
    }

    /// Puts `mark` where the cached copy was, for `ttl`, so that no late fill brings it back.
    async fn cache_mark(&self, id: &Id, mark: &'static str, ttl: Duration) {
        let started = std::time::Instant::now();
        let operation = || {
            format!(
                "redis SET cache:{} {mark} EX {}",
                short(&id.to_string()),
                ttl.as_secs()
            )
        };
        if !self.cache.is_connected() {
            // Not worth a timeout per write; a stale copy expires within CACHE_TTL.
            trace::step(started, || (operation(), "skipped: cache down"));
            return;
        }
        let result: Result<(), _> = self
            .cache
            .client()
            .set(
                cache_key(id),
                mark,
                Some(Expiration::EX(ttl.as_secs() as i64)),
                None,
                false,
            )
            .await;
        trace::step(started, || (operation(), trace::outcome(&result)));
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
        self.cache_mark(&record.id, CHANGED_MARK, CHANGED_MARK_TTL)
            .await;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let decode = |bytes: Vec<u8>| record::from_msgpack(&bytes).ok();
        match self.cache_get(id, decode).await {
            Cached::Copy(record) => Ok(Some(record)),
            Cached::Gone => Ok(None),
            Cached::Changed => self.store.load(id).await,
            Cached::Miss => Ok(self.load_and_fill(id).await?.map(|(record, _)| record)),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await?;
        self.cache_mark(id, GONE_MARK, CACHE_TTL).await;
        Ok(())
    }
}

/// Writes are ordered by SQL, the source of truth; the cache never takes part in them.
#[async_trait]
impl RecordStore for CacheAsideStore {
    /// As `load`, with a hit decoded straight into the session and its bytes as the revision
    /// to try a write on.
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        let decode = |bytes: Vec<u8>| {
            let stored = StoredSession::from_msgpack(&bytes).ok()?;
            Some(stored.at(Revision::new(bytes)))
        };
        match self.cache_get(id, decode).await {
            Cached::Copy(stored) => Ok(Some(stored)),
            Cached::Gone => Ok(None),
            Cached::Changed => self.store.load_session(id).await,
            Cached::Miss => Ok(self
                .load_and_fill(id)
                .await?
                .map(|(record, revision)| StoredSession::of(record).at(revision))),
        }
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        self.store.load_revision(id).await
    }

    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool> {
        let replaced = self.store.replace(record, revision).await?;
        if replaced {
            self.cache_mark(&record.id, CHANGED_MARK, CHANGED_MARK_TTL)
                .await;
        }
        Ok(replaced)
    }
}
