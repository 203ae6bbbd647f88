//! The session backends this server runs: the shared stores and ledgers are connected here,
//! once, and `session_strategies::backends::build` makes each strategy's backend from them.

use super::StartupError;
use crate::config::{derived_jwt_keys, Config};
use axum_extra::extract::cookie::Key;
use session_strategies::{
    backends::{self, jwt::JwtSettings, Ingredients},
    crypto::key_ring::KeyRing,
    redis::RedisConnection,
    revocation::{
        logins::Logins, mirror::MirroredFamilies, redis::RedisFirstFamilies, sql::SqlLedger,
        throwaway::ThrowawayLedger, RevokedFamilies,
    },
    stores::memcached::MemcachedRecords,
    stores::{sql, sweep::SWEEP_PERIOD},
    trace::book::TraceBook,
    SessionBackend, SessionRegistry, Strategy,
};
use sqlx::AnyPool;
use std::{sync::Arc, time::Duration};

/// Throwaway `memory` sessions `/compare` may hold at once (each measurement deletes its own).
const MEASURING_MEMORY_SESSIONS: usize = 1_000;

/// The backends this server runs.
pub struct Registries {
    /// The visitors' sessions.
    pub serving: SessionRegistry,
    /// `/compare`'s throwaway sessions: the same strategies over the same stores, but sealed
    /// with keys of their own and their revocations and refresh tokens in this process only,
    /// never the shared ledger.
    pub measuring: SessionRegistry,
    /// The revoked families as this instance knows them, for health checks.
    pub revocations: MirroredFamilies,
}

/// Connects the shared stores and builds every backend. Redis may be down (or absent): its
/// strategies then answer `strategy_unavailable` until it comes back, and the rest work.
pub async fn registries(
    config: &Config,
    pool: &AnyPool,
    redis: Option<RedisConnection>,
) -> Result<Registries, StartupError> {
    let (ingredients, mirror) = shared_ingredients(config, pool, redis).await?;
    let revocations: Arc<dyn RevokedFamilies> = Arc::new(mirror.clone());
    // The throwaway sessions must open nothing outside a measurement: keys made up at start,
    // a ledger in this process, a small memory store of their own.
    let throwaway = ThrowawayLedger::default();
    let throwaway_keys = KeyRing::single(Key::generate());
    let measuring = Ingredients {
        memory_capacity: MEASURING_MEMORY_SESSIONS,
        jwt: JwtSettings {
            keys: derived_jwt_keys(&throwaway_keys),
            ..ingredients.jwt.clone()
        },
        session_keys: throwaway_keys,
        revocations: Arc::new(throwaway.clone()),
        refresh_tokens: Arc::new(throwaway),
        ..ingredients.clone()
    };
    let mut traces = TraceBook::for_instance(&config.instance_id);
    if let (true, Some(redis)) = (config.shared_traces, &ingredients.redis) {
        traces = traces.shared(redis.clone());
    }
    Ok(Registries {
        serving: SessionRegistry::new(config.default_strategy, every_backend(&ingredients)?)
            .with_traces(traces)
            .with_max_age(config.session_max_age)
            .with_logins(Arc::new(Logins::new(revocations)))
            .with_secure_cookies(config.secure_cookies),
        measuring: SessionRegistry::new(config.default_strategy, every_backend(&measuring)?),
        revocations: mirror,
    })
}

/// The stores and ledgers every strategy is built from, connected once: the SQL session table,
/// Redis, Memcached, the revocation ledger and this process's mirror of it. The shop and the
/// orders service both start from these.
pub async fn shared_ingredients(
    config: &Config,
    pool: &AnyPool,
    redis: Option<RedisConnection>,
) -> Result<(Ingredients, MirroredFamilies), StartupError> {
    let sql_sessions = sql::connect_sweeping_every(&config.database_url, config.session_sweep)
        .await
        .map_err(|error| StartupError::Strategy(Strategy::Sql, error.to_string()))?;
    let ledger = SqlLedger::new(pool.clone());
    tokio::spawn(sweep_ledger(ledger.clone()));
    let underneath: Arc<dyn RevokedFamilies> = match &redis {
        Some(redis) => Arc::new(RedisFirstFamilies::new(redis.clone(), ledger.clone())),
        None => Arc::new(ledger.clone()),
    };
    let mirror = MirroredFamilies::start(
        underneath,
        ledger.clone(),
        redis.clone(),
        config.revocation_sync,
    )
    .await
    .map_err(|error| StartupError::Strategy(Strategy::Jwt, error.to_string()))?;
    let revocations: Arc<dyn RevokedFamilies> = Arc::new(mirror.clone());
    let ingredients = Ingredients {
        ttl: config.session_ttl,
        memory_capacity: config.memory_sessions_max,
        session_keys: config.session_keys.clone(),
        jwt: JwtSettings {
            keys: config.jwt_keys.clone(),
            algorithm: config.jwt_algorithm,
            issuer: "session-strategies".into(),
            audience: "session-strategies-shop".into(),
            access_ttl: config.jwt_access_ttl,
            // A refresh family ends at the idle timeout like every other session (and at the
            // absolute one, which the session layer enforces).
            refresh_ttl: config.session_ttl,
            refresh_grace: config.jwt_refresh_grace,
        },
        sql_sessions,
        redis,
        memcached: Some(Arc::new(
            MemcachedRecords::new(&config.memcached_url)
                .map_err(|error| StartupError::Strategy(Strategy::Memcached, error))?,
        )),
        revocations,
        refresh_tokens: Arc::new(ledger),
    };
    Ok((ingredients, mirror))
}

/// Every strategy's backend that `ingredients` can build.
fn every_backend(ingredients: &Ingredients) -> Result<Vec<Arc<dyn SessionBackend>>, StartupError> {
    let mut running = Vec::new();
    for strategy in Strategy::ALL {
        let built = backends::build(strategy, ingredients)
            .map_err(|error| StartupError::Strategy(strategy, error.to_string()))?;
        running.extend(built);
    }
    Ok(running)
}

/// Starts the Redis connection and gives a local Redis a moment, never blocking start-up on it.
/// Session writes wait for `min_replicas` replicas.
pub async fn connect_redis(url: &str, min_replicas: u8) -> Option<RedisConnection> {
    let min_replicas = if url.contains("-cluster://") && min_replicas > 0 {
        tracing::warn!(
            "REDIS_MIN_REPLICAS is ignored on a Redis Cluster: WAIT would reach any node"
        );
        0
    } else {
        min_replicas
    };
    let redis = match RedisConnection::start(url) {
        Ok(redis) => redis.with_min_replicas(min_replicas),
        Err(error) => {
            tracing::warn!(%error, "REDIS_URL is unusable: the redis and cache-aside strategies are off");
            return None;
        }
    };
    if !redis.wait_until_connected(Duration::from_secs(2)).await {
        tracing::warn!(
            url,
            "Redis is not reachable: the redis and cache-aside strategies answer 503 until it is"
        );
    }
    Some(redis)
}

/// Deletes spent refresh tokens and lapsed denylist entries now and then.
async fn sweep_ledger(ledger: SqlLedger) {
    let mut interval = tokio::time::interval(SWEEP_PERIOD);
    loop {
        interval.tick().await;
        if let Err(error) = ledger.delete_expired().await {
            tracing::warn!(%error, "could not sweep the token ledger");
        }
    }
}
