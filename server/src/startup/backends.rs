//! The session backends this server runs: the shared stores and ledgers are connected here,
//! once, and `session_strategies::backends::build` makes each strategy's backend from them.

use super::StartupError;
use crate::config::Config;
use session_strategies::{
    backends::{self, jwt::JwtSettings, Ingredients, RedisPair},
    redis::RedisConnection,
    revocation::{
        logins::Logins, mirror::MirroredFamilies, redis::RedisFirstFamilies, sql::SqlLedger,
        RevokedFamilies,
    },
    stores::{sql, sweep::SWEEP_PERIOD},
    trace::book::TraceBook,
    SessionRegistry, Strategy,
};
use sqlx::AnyPool;
use std::{sync::Arc, time::Duration};

/// Redis logical databases: the `redis` strategy and the denylist in one, cache-aside's cache
/// in another, so a cached copy can never be mistaken for a `redis` session.
const REDIS_SESSIONS_DB: u8 = 0;
const REDIS_CACHE_DB: u8 = 1;

/// Connects the shared stores and builds every backend. Redis may be down (or absent): its
/// strategies then answer `strategy_unavailable` until it comes back, and the rest work.
pub async fn registry(
    config: &Config,
    pool: &AnyPool,
    redis: Option<RedisPair>,
) -> Result<SessionRegistry, StartupError> {
    let sql_sessions = sql::connect_sweeping_every(&config.database_url, config.session_sweep)
        .await
        .map_err(|error| StartupError::Strategy(Strategy::Sql, error.to_string()))?;
    let ledger = SqlLedger::new(pool.clone());
    tokio::spawn(sweep_ledger(ledger.clone()));
    let underneath: Arc<dyn RevokedFamilies> = match &redis {
        Some(redis) => Arc::new(RedisFirstFamilies::new(
            redis.sessions.clone(),
            ledger.clone(),
        )),
        None => Arc::new(ledger.clone()),
    };
    let mirror = MirroredFamilies::start(
        underneath,
        ledger.clone(),
        redis.as_ref().map(|redis| redis.sessions.clone()),
    )
    .await
    .map_err(|error| StartupError::Strategy(Strategy::Jwt, error.to_string()))?;
    let revocations: Arc<dyn RevokedFamilies> = Arc::new(mirror);
    let ingredients = Ingredients {
        ttl: config.session_ttl,
        session_key: config.session_secret.key().clone(),
        jwt: JwtSettings {
            keys: config.jwt_keys.clone(),
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
        revocations: revocations.clone(),
        refresh_tokens: Arc::new(ledger),
    };
    let mut running = Vec::new();
    for strategy in Strategy::ALL {
        let built = backends::build(strategy, &ingredients)
            .map_err(|error| StartupError::Strategy(strategy, error.to_string()))?;
        running.extend(built);
    }
    let mut traces = TraceBook::for_instance(&config.instance_id);
    if let (true, Some(redis)) = (config.shared_traces, &ingredients.redis) {
        traces = traces.shared(redis.sessions.clone());
    }
    Ok(SessionRegistry::new(config.default_strategy, running)
        .with_traces(traces)
        .with_max_age(config.session_max_age)
        .with_logins(Arc::new(Logins::new(revocations)))
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
