//! Each backend's load and save, measured alone (no HTTP): what a request pays for its session
//! under each strategy. `cargo bench` runs them; Redis comes from `REDIS_URL` (default
//! 127.0.0.1:6379; `scripts/bench.sh` starts one), SQL is a fresh SQLite file. A store that
//! cannot be reached is reported and its backends left out, never measured as zero.

use criterion::{criterion_group, criterion_main, Criterion};
use session_strategies::{
    backends::{
        self,
        jwt::{JwtSettings, SigningKey},
        Ingredients,
    },
    crypto::key_ring::KeyRing,
    redis::RedisConnection,
    revocation::{
        mirror::{MirroredFamilies, SYNC_PERIOD},
        sql::SqlLedger,
    },
    session::transport::request_carrying,
    stores::{memcached::MemcachedRecords, sql},
    ProductId, Quantity, SessionBackend, SessionData, SessionUser, Strategy,
};
use std::{sync::Arc, time::Duration};

const TTL: Duration = Duration::from_secs(1800);

/// Alice with two cart lines, as the HTTP benchmark's visitors.
fn alice() -> SessionData {
    let mut data = SessionData::guest();
    data.user = Some(SessionUser {
        id: 1,
        username: "alice".into(),
    });
    data.add_item(ProductId(1), Quantity::try_from(2).unwrap())
        .unwrap();
    data.add_item(ProductId(3), Quantity::try_from(1).unwrap())
        .unwrap();
    data
}

async fn sqlite() -> (String, sqlx::AnyPool) {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate!("./server/migrations/sqlite")
        .run(&pool)
        .await
        .unwrap();
    (url, pool)
}

async fn redis() -> Option<RedisConnection> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let connection = RedisConnection::start(&url).ok()?;
    if connection
        .wait_until_connected(Duration::from_secs(2))
        .await
    {
        Some(connection)
    } else {
        eprintln!("Redis at {url} does not answer: the strategies that need it are left out");
        None
    }
}

/// Every backend as the server builds it (stores traced, revocations mirrored); those whose
/// store does not answer are left out.
async fn backends() -> Vec<Arc<dyn SessionBackend>> {
    let (url, pool) = sqlite().await;
    let ledger = SqlLedger::new(pool);
    let redis = redis().await;
    let announcements = redis.clone();
    let mirror = MirroredFamilies::start(
        Arc::new(ledger.clone()),
        ledger.clone(),
        announcements,
        SYNC_PERIOD,
    )
    .await
    .unwrap();
    let ingredients = Ingredients {
        ttl: TTL,
        memory_capacity: usize::MAX,
        session_keys: KeyRing::single(axum_extra::extract::cookie::Key::generate()),
        jwt: JwtSettings {
            keys: vec![SigningKey::new("k1", vec![7; 32]).unwrap()],
            algorithm: jsonwebtoken::Algorithm::EdDSA,
            issuer: "bench".into(),
            audience: "bench".into(),
            access_ttl: TTL,
            refresh_ttl: TTL,
            refresh_grace: Duration::from_secs(10),
        },
        sql_sessions: sql::connect(&url).await.unwrap(),
        redis,
        memcached: Some(Arc::new(
            MemcachedRecords::new(
                &std::env::var("MEMCACHED_URL")
                    .unwrap_or_else(|_| "memcached://127.0.0.1:11211".into()),
            )
            .unwrap(),
        )),
        revocations: Arc::new(mirror),
        refresh_tokens: Arc::new(ledger),
    };
    Strategy::ALL
        .into_iter()
        .filter_map(|strategy| backends::build(strategy, &ingredients).unwrap())
        .collect()
}

fn load_and_save(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backends = runtime.block_on(backends());
    let data = alice();
    for backend in backends {
        let strategy = backend.strategy();
        let saved = runtime.block_on(backend.save(&data, None, false)).unwrap();
        let parts = request_carrying(backend.carriers(), &saved.client);
        c.bench_function(&format!("{strategy}/load"), |b| {
            b.to_async(&runtime).iter(|| async {
                let loaded = backend.load(&parts).await.unwrap();
                assert!(loaded.is_some());
            })
        });
        let key = saved.key.clone();
        c.bench_function(&format!("{strategy}/save"), |b| {
            b.to_async(&runtime).iter(|| async {
                backend.save(&data, key.as_ref(), false).await.unwrap();
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = load_and_save
}
criterion_main!(benches);
