//! What the backend tests share: fresh stores (a SQLite file with the server's migrations, or
//! the test command's PostgreSQL; Redis), and each strategy's backend built from them exactly as
//! the server builds it (`session_strategies::backends::build`).

use axum_extra::extract::cookie::Key;
use session_strategies::{
    backends::{self, jwt::JwtSettings, jwt::SigningKey, Ingredients, RedisPair},
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

/// The test command's Redis, logical database `database`.
pub async fn redis(database: u8) -> RedisConnection {
    let connection = RedisConnection::start(&redis_url(), database).unwrap();
    assert!(
        connection
            .wait_until_connected(Duration::from_secs(5))
            .await,
        "these tests need Redis at {} (scripts/test.sh starts one)",
        redis_url()
    );
    connection
}

/// The test command's Memcached (`MEMCACHED_URL`, every node it names).
pub fn memcached() -> Arc<MemcachedRecords> {
    let url =
        std::env::var("MEMCACHED_URL").unwrap_or_else(|_| "memcached://127.0.0.1:11211".into());
    Arc::new(MemcachedRecords::new(&url).unwrap())
}

/// Which database the SQL session table is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sql {
    Sqlite,
    /// The test command's PostgreSQL (`TEST_POSTGRES_URL`).
    Postgres,
}

/// The SQL session store on `sql`, traced as the server's is.
pub async fn sql_sessions(sql: Sql) -> Arc<dyn RecordStore> {
    let url = match sql {
        Sql::Sqlite => sqlite_url().await,
        Sql::Postgres => std::env::var("TEST_POSTGRES_URL")
            .expect("the PostgreSQL runs need TEST_POSTGRES_URL (scripts/test.sh sets it)"),
    };
    sql::connect(&url).await.unwrap()
}

pub fn signing_key(kid: &str, byte: u8) -> SigningKey {
    SigningKey::new(kid, vec![byte; 32]).unwrap()
}

pub fn jwt_settings(ttl: Duration, keys: Vec<SigningKey>) -> JwtSettings {
    JwtSettings {
        keys,
        issuer: "test-issuer".into(),
        audience: "test-audience".into(),
        access_ttl: ttl,
        refresh_ttl: ttl,
        refresh_grace: Duration::from_secs(10),
    }
}

/// Fresh stores and keys for every strategy, with idle timeout `ttl`.
pub async fn ingredients(ttl: Duration, sql: Sql) -> Ingredients {
    let ledger = ledger().await;
    Ingredients {
        ttl,
        memory_capacity: usize::MAX,
        session_keys: KeyRing::single(Key::generate()),
        jwt: jwt_settings(ttl, vec![signing_key("k1", 7)]),
        sql_sessions: sql_sessions(sql).await,
        redis: Some(RedisPair {
            sessions: redis(0).await,
            cache: redis(1).await,
        }),
        memcached: Some(memcached()),
        revocations: Arc::new(ledger.clone()),
        refresh_tokens: Arc::new(ledger),
    }
}

/// `strategy`'s backend over fresh stores, built as the server builds it.
pub async fn backend_on(strategy: Strategy, ttl: Duration, sql: Sql) -> Arc<dyn SessionBackend> {
    backends::build(strategy, &ingredients(ttl, sql).await)
        .unwrap()
        .expect("every store is configured in the tests")
}

/// [`backend_on`] SQLite.
pub async fn backend(strategy: Strategy, ttl: Duration) -> Arc<dyn SessionBackend> {
    backend_on(strategy, ttl, Sql::Sqlite).await
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
