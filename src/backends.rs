//! One file or folder per strategy that implements [`SessionBackend`] itself, and [`build`]:
//! the one place that says which backend, over which store, serves each strategy.
//!
//! Each strategy's file starts with a module doc: how it works, what it costs, what a stolen
//! credential gives. The strategies that keep the session in a server store (`memory`,
//! `redis`, `memcached`, `sql`, `cache-aside`) share [`server_side`] and differ only in their store
//! (`src/stores/`, one file each).

pub mod cookie;
pub mod hybrid;
pub mod jwt;
pub mod server_side;
pub mod signed_url;

use self::{
    cookie::CookieBackend,
    hybrid::HybridBackend,
    jwt::{JwtBackend, JwtSettings, NoSigningKey},
    server_side::StoreBackend,
    signed_url::SignedUrlBackend,
};
use crate::{
    crypto::{key_ring::KeyRing, url_signer::UrlSigner},
    redis::RedisConnection,
    revocation::{RefreshTokens, RevokedFamilies},
    session::backend::SessionBackend,
    stores::{
        cache_aside::CacheAsideStore,
        memcached::{self, MemcachedRecords},
        memory::{self, MemoryRecords},
        redis::RedisRecords,
        traced::TracedStore,
        RecordStore,
    },
    strategy::Strategy,
};
use std::{sync::Arc, time::Duration};

/// What the strategies are built from: settings, keys, and the connections made once at start,
/// shared by every strategy that needs them.
#[derive(Clone)]
pub struct Ingredients {
    /// The idle timeout: how long a session lasts without a request.
    pub ttl: Duration,
    /// The most sessions the `memory` strategy keeps in this process; past that it refuses new
    /// ones (`503`) rather than grow without bound.
    pub memory_capacity: usize,
    /// The session keys (`SESSION_KEYS`, newest first): they seal cookies, and every other
    /// secret of the session strategies is derived from them.
    pub session_keys: KeyRing,
    pub jwt: JwtSettings,
    /// The SQL session table, traced (the `sql` strategy, cache-aside's source of truth, the
    /// signed-URL strategy's records).
    pub sql_sessions: Arc<dyn RecordStore>,
    /// The `redis` strategy's sessions (under their ids), cache-aside's cache (`cache:<id>`)
    /// and the revocation fast path, in one Redis. `None` when there is no usable Redis URL:
    /// its strategies are then not built.
    pub redis: Option<RedisConnection>,
    /// The Memcached nodes, `None` when none is configured (the strategy is then not built).
    pub memcached: Option<Arc<MemcachedRecords>>,
    /// Revoked families, as every instance sees them.
    pub revocations: Arc<dyn RevokedFamilies>,
    pub refresh_tokens: Arc<dyn RefreshTokens>,
}

/// The backend that serves `strategy`, built from `from`, or `None` when a store it needs is
/// not configured. A new strategy is one arm here (the `match` fails to compile without it).
pub fn build(
    strategy: Strategy,
    from: &Ingredients,
) -> Result<Option<Arc<dyn SessionBackend>>, NoSigningKey> {
    let ttl = from.ttl;
    let backend: Arc<dyn SessionBackend> = match strategy {
        Strategy::Memory => {
            let records = MemoryRecords::swept(from.memory_capacity);
            let store = TracedStore::wrap(memory::VERBS, Arc::new(records));
            Arc::new(StoreBackend::new(strategy, store, ttl).in_process())
        }
        Strategy::Cookie => Arc::new(CookieBackend::new(
            from.session_keys.clone(),
            ttl,
            from.revocations.clone(),
        )),
        Strategy::Jwt => Arc::new(JwtBackend::new(
            from.jwt.clone(),
            from.revocations.clone(),
            from.refresh_tokens.clone(),
        )?),
        Strategy::Hybrid => Arc::new(HybridBackend::new(
            from.jwt.clone(),
            ttl,
            from.session_keys.clone(),
            from.revocations.clone(),
        )?),
        Strategy::Redis => {
            let Some(redis) = &from.redis else {
                return Ok(None);
            };
            let store = RedisRecords::traced(redis.clone());
            Arc::new(
                StoreBackend::new(strategy, store, ttl).with_availability(Arc::new(redis.clone())),
            )
        }
        Strategy::Memcached => {
            let Some(memcached) = &from.memcached else {
                return Ok(None);
            };
            let store = TracedStore::wrap(memcached::VERBS, memcached.clone());
            Arc::new(StoreBackend::new(strategy, store, ttl).with_availability(memcached.clone()))
        }
        Strategy::Sql => Arc::new(StoreBackend::new(strategy, from.sql_sessions.clone(), ttl)),
        Strategy::CacheAside => {
            let Some(redis) = &from.redis else {
                return Ok(None);
            };
            let cache = redis.clone();
            let store = CacheAsideStore::new(cache.clone(), from.sql_sessions.clone());
            Arc::new(
                StoreBackend::new(strategy, Arc::new(store), ttl).with_description(Arc::new(
                    move || {
                        if cache.is_connected() {
                            "SQL database, read through the Redis cache".to_owned()
                        } else {
                            "SQL database only: the Redis cache is down, reads go straight to SQL"
                                .to_owned()
                        }
                    },
                )),
            )
        }
        Strategy::SignedUrl => Arc::new(SignedUrlBackend::new(
            UrlSigner::derived(&from.session_keys, "signed-url"),
            from.sql_sessions.clone(),
            ttl,
        )),
    };
    Ok(Some(backend))
}
