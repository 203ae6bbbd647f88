//! One small builder per strategy, over the stores they share. Running an eighth strategy here
//! is one builder and one line in [`BUILDERS`].

use super::StartupError;
use crate::config::Config;
use session_strategies::{
    cache_aside::CacheAsideStore,
    cookie::CookieBackend,
    jwt::{JwtBackend, JwtSettings},
    logins::Logins,
    memory_store::MemoryRecords,
    record_store::RecordStore,
    redis_store::RedisConnection,
    revocation::{RedisFirstRevocations, Revocations, SqlRevocations},
    revocation_mirror::MirroredRevocations,
    secrets::derive_secret,
    signed_url::SignedUrlBackend,
    sql_store,
    store::StoreBackend,
    trace::TraceBook,
    traced_store::{self, TracedStore},
    url_signer::UrlSigner,
    SessionBackend, SessionRegistry, Strategy,
};
use sqlx::AnyPool;
use std::{sync::Arc, time::Duration};

/// Redis logical databases: the `redis` strategy and the denylist in one, cache-aside's cache
/// in another, so a cached copy can never be mistaken for a `redis` session.
const REDIS_SESSIONS_DB: u8 = 0;
const REDIS_CACHE_DB: u8 = 1;

/// What the builders share: the configuration and the connections made once at start.
pub struct Shared<'a> {
    config: &'a Config,
    sql_sessions: Arc<dyn RecordStore>,
    /// `None` when `REDIS_URL` is unusable: the strategies that need Redis are then off.
    redis: Option<RedisPair>,
    revocations: Arc<dyn Revocations>,
}

/// The connection for the `redis` strategy (and the revocation ledger's and the login
/// limits' keys) and the one for cache-aside's cache.
#[derive(Clone)]
pub struct RedisPair {
    pub sessions: RedisConnection,
    pub cache: RedisConnection,
}

/// Builds a strategy's backend, or `None` when a store it needs is not configured.
type Builder = fn(&Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError>;

/// Every strategy this server runs, in [`Strategy::ALL`] order.
const BUILDERS: [Builder; 7] = [memory, cookie, jwt, redis, sql, cache_aside, signed_url];

/// Connects the shared stores and builds every backend. Redis may be down (or absent): its
/// strategies then answer `strategy_unavailable` until it comes back, and the rest work.
pub async fn registry(
    config: &Config,
    pool: &AnyPool,
    redis: Option<RedisPair>,
) -> Result<SessionRegistry, StartupError> {
    let sql_sessions =
        sql_store::connect_sweeping_every(&config.database_url, config.session_sweep)
            .await
            .map_err(|error| StartupError::Strategy(Strategy::Sql, error.to_string()))?;
    let ledger = SqlRevocations::new(pool.clone());
    tokio::spawn(sweep_ledger(ledger.clone()));
    let underneath: Arc<dyn Revocations> = match &redis {
        Some(redis) => Arc::new(RedisFirstRevocations::new(
            redis.sessions.clone(),
            ledger.clone(),
        )),
        None => Arc::new(ledger.clone()),
    };
    let mirror = MirroredRevocations::start(
        underneath,
        ledger,
        redis.as_ref().map(|redis| redis.sessions.clone()),
    )
    .await
    .map_err(|error| StartupError::Strategy(Strategy::Jwt, error.to_string()))?;
    let revocations: Arc<dyn Revocations> = Arc::new(mirror);
    let logins = Logins::new(revocations.clone());
    let shared = Shared {
        config,
        sql_sessions,
        redis,
        revocations,
    };
    let mut backends = Vec::new();
    for build in BUILDERS {
        backends.extend(build(&shared)?);
    }
    let mut traces = TraceBook::for_instance(&config.instance_id);
    if let (true, Some(redis)) = (config.shared_traces, &shared.redis) {
        traces = traces.shared(redis.sessions.clone());
    }
    Ok(SessionRegistry::new(config.default_strategy, backends)
        .with_traces(traces)
        .with_max_age(config.session_max_age)
        .with_logins(logins)
        .with_secure_cookies(config.secure_cookies))
}

/// Starts both Redis connections and gives a local Redis a moment, never blocking start-up on it.
pub async fn connect_redis(url: &str) -> Option<RedisPair> {
    let started = RedisConnection::start(url, REDIS_SESSIONS_DB).and_then(|sessions| {
        Ok(RedisPair {
            sessions,
            cache: RedisConnection::start(url, REDIS_CACHE_DB)?,
        })
    });
    let pair = match started {
        Ok(pair) => pair,
        Err(error) => {
            tracing::warn!(%error, "REDIS_URL is unusable: the redis and cache-aside strategies are off");
            return None;
        }
    };
    let wait = Duration::from_secs(2);
    if !(pair.sessions.wait_until_connected(wait).await
        && pair.cache.wait_until_connected(wait).await)
    {
        tracing::warn!(
            url,
            "Redis is not reachable: the redis and cache-aside strategies answer 503 until it is"
        );
    }
    Some(pair)
}

fn ttl(shared: &Shared) -> Duration {
    shared.config.session_ttl
}

fn master_key<'a>(shared: &'a Shared) -> &'a [u8] {
    shared.config.session_secret.key().master()
}

fn memory(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    let store = TracedStore::wrap(traced_store::MEMORY, Arc::new(MemoryRecords::swept()));
    Ok(Some(Arc::new(
        StoreBackend::new(Strategy::Memory, store, ttl(shared)).in_process(),
    )))
}

fn cookie(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    let key = shared.config.session_secret.key().clone();
    let backend = CookieBackend::new(key, ttl(shared), shared.revocations.clone());
    Ok(Some(Arc::new(backend)))
}

fn jwt(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    let settings = JwtSettings {
        keys: shared.config.jwt_keys.clone(),
        issuer: "session-strategies".into(),
        audience: "session-strategies-shop".into(),
        access_ttl: shared.config.jwt_access_ttl,
        // A refresh family ends at the idle timeout like every other session (and at the
        // absolute one, which the session layer enforces).
        refresh_ttl: shared.config.session_ttl,
        refresh_grace: shared.config.jwt_refresh_grace,
    };
    let backend = JwtBackend::new(settings, shared.revocations.clone())
        .map_err(|error| StartupError::Strategy(Strategy::Jwt, error.to_string()))?;
    Ok(Some(Arc::new(backend)))
}

fn redis(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    Ok(shared
        .redis
        .as_ref()
        .map(|redis| -> Arc<dyn SessionBackend> {
            Arc::new(
                StoreBackend::new(Strategy::Redis, redis.sessions.session_store(), ttl(shared))
                    .with_availability(Arc::new(redis.sessions.clone())),
            )
        }))
}

fn sql(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    Ok(Some(Arc::new(StoreBackend::new(
        Strategy::Sql,
        shared.sql_sessions.clone(),
        ttl(shared),
    ))))
}

fn cache_aside(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    Ok(shared
        .redis
        .as_ref()
        .map(|redis| -> Arc<dyn SessionBackend> {
            let cache = redis.cache.clone();
            let store = CacheAsideStore::new(redis.cache.clone(), shared.sql_sessions.clone());
            Arc::new(
                StoreBackend::new(Strategy::CacheAside, Arc::new(store), ttl(shared))
                    .with_description(Arc::new(move || {
                        if cache.is_connected() {
                            "SQL database, read through the Redis cache".to_owned()
                        } else {
                            "SQL database only: the Redis cache is down, reads go straight to SQL"
                                .to_owned()
                        }
                    })),
            )
        }))
}

fn signed_url(shared: &Shared) -> Result<Option<Arc<dyn SessionBackend>>, StartupError> {
    let signer = UrlSigner::new(&derive_secret(master_key(shared), "signed-url"));
    Ok(Some(Arc::new(SignedUrlBackend::new(
        signer,
        shared.sql_sessions.clone(),
        ttl(shared),
    ))))
}

/// Deletes spent refresh tokens and lapsed denylist entries now and then.
async fn sweep_ledger(ledger: SqlRevocations) {
    let mut interval = tokio::time::interval(sql_store::SWEEP_PERIOD);
    loop {
        interval.tick().await;
        if let Err(error) = ledger.delete_expired().await {
            tracing::warn!(%error, "could not sweep the token ledger");
        }
    }
}
