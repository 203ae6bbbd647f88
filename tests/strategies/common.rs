//! What the backend tests share: fresh stores (a SQLite file with the server's migrations, or
//! the test command's PostgreSQL; its Redis, or its three-primary Redis Cluster; its Memcached),
//! and each strategy's backend built from them exactly as the server builds it
//! (`session_strategies::backends::build`).

use axum_extra::extract::cookie::Key;
use session_strategies::{
    backends::{self, jwt::JwtSettings, jwt::SigningKey, Ingredients},
    crypto::key_ring::KeyRing,
    redis::RedisConnection,
    revocation::sql::SqlLedger,
    stores::{memcached::MemcachedRecords, sql, RecordStore},
    ProductId, Quantity, SessionBackend, SessionData, SessionUser, Strategy,
};
use std::{sync::Arc, time::Duration};

/// A fresh SQLite file (kept until the process ends) with the server's migrations applied.
pub async fn sqlite_url() -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate!("./server/migrations/sqlite")
        .run(&pool)
        .await
        .unwrap();
    url
}

/// A token ledger in a fresh database.
pub async fn ledger() -> SqlLedger {
    sqlx::any::install_default_drivers();
    SqlLedger::new(sqlx::AnyPool::connect(&sqlite_url().await).await.unwrap())
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A connection to the Redis at `url`, once connected.
async fn redis_at(url: &str) -> RedisConnection {
    let connection = RedisConnection::start(url).unwrap();
    assert!(
        connection
            .wait_until_connected(Duration::from_secs(5))
            .await,
        "these tests need Redis at {url} (scripts/test.sh starts it)"
    );
    connection
}

/// The test command's Redis (`REDIS_URL`).
pub async fn redis() -> RedisConnection {
    redis_at(&redis_url()).await
}

/// Logical database `database` of the test command's Redis: one the app never writes to, for
/// a Redis that holds nothing.
pub async fn redis_database(database: u8) -> RedisConnection {
    redis_at(&format!("{}/{database}", redis_url())).await
}

/// The test command's three-primary Redis Cluster (`TEST_REDIS_CLUSTER_URL`).
pub async fn redis_cluster() -> RedisConnection {
    let url = std::env::var("TEST_REDIS_CLUSTER_URL")
        .expect("the Redis Cluster runs need TEST_REDIS_CLUSTER_URL (scripts/test.sh sets it)");
    redis_at(&url).await
}

/// The test command's Memcached (`MEMCACHED_URL`, every node it names).
pub fn memcached() -> Arc<MemcachedRecords> {
    let url =
        std::env::var("MEMCACHED_URL").unwrap_or_else(|_| "memcached://127.0.0.1:11211".into());
    Arc::new(MemcachedRecords::new(&url).unwrap())
}

/// Where the shared stores run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stores {
    /// SQL on a fresh SQLite file, the test command's Redis.
    Sqlite,
    /// SQL on the test command's PostgreSQL (`TEST_POSTGRES_URL`), its Redis.
    Postgres,
    /// SQL on SQLite, Redis the test command's three-primary Redis Cluster.
    RedisCluster,
}

/// The SQL session store of `stores`, traced as the server's is.
pub async fn sql_sessions(stores: Stores) -> Arc<dyn RecordStore> {
    let url = match stores {
        Stores::Sqlite | Stores::RedisCluster => sqlite_url().await,
        Stores::Postgres => std::env::var("TEST_POSTGRES_URL")
            .expect("the PostgreSQL runs need TEST_POSTGRES_URL (scripts/test.sh sets it)"),
    };
    sql::connect(&url).await.unwrap()
}

pub fn signing_key(kid: &str, byte: u8) -> SigningKey {
    SigningKey::new(kid, vec![byte; 32]).unwrap()
}

/// The settings the server runs with (EdDSA); `tests/strategies/jwt.rs` pins HS256 of its own
/// to forge tokens with a known secret.
pub fn jwt_settings(ttl: Duration, keys: Vec<SigningKey>) -> JwtSettings {
    JwtSettings {
        keys,
        algorithm: jsonwebtoken::Algorithm::EdDSA,
        issuer: "test-issuer".into(),
        audience: "test-audience".into(),
        access_ttl: ttl,
        refresh_ttl: ttl,
        refresh_grace: Duration::from_secs(10),
    }
}

/// Fresh stores and keys for every strategy, with idle timeout `ttl`.
pub async fn ingredients(ttl: Duration, stores: Stores) -> Ingredients {
    let ledger = ledger().await;
    Ingredients {
        ttl,
        memory_capacity: usize::MAX,
        session_keys: KeyRing::single(Key::generate()),
        jwt: jwt_settings(ttl, vec![signing_key("k1", 7)]),
        sql_sessions: sql_sessions(stores).await,
        redis: Some(match stores {
            Stores::RedisCluster => redis_cluster().await,
            Stores::Sqlite | Stores::Postgres => redis().await,
        }),
        memcached: Some(memcached()),
        revocations: Arc::new(ledger.clone()),
        refresh_tokens: Arc::new(ledger),
    }
}

/// `strategy`'s backend over fresh stores, built as the server builds it.
pub async fn backend_on(
    strategy: Strategy,
    ttl: Duration,
    stores: Stores,
) -> Arc<dyn SessionBackend> {
    backends::build(strategy, &ingredients(ttl, stores).await)
        .unwrap()
        .expect("every store is configured in the tests")
}

/// [`backend_on`] SQLite.
pub async fn backend(strategy: Strategy, ttl: Duration) -> Arc<dyn SessionBackend> {
    backend_on(strategy, ttl, Stores::Sqlite).await
}

/// Alice with two cart lines, at fixed times: two calls give equal sessions whatever the clock
/// does between them.
pub fn sample() -> SessionData {
    let mut data = SessionData::guest();
    data.created_at = 1_700_000_000;
    data.last_seen = 1_700_000_000;
    data.expires_by = 4_000_000_000;
    data.user = Some(SessionUser {
        id: 1,
        username: "alice".into(),
    });
    data.add_item(ProductId(3), Quantity::try_from(2).unwrap())
        .unwrap();
    data.add_item(ProductId(7), Quantity::try_from(1).unwrap())
        .unwrap();
    data
}
