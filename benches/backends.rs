//! Each backend's load and save, measured alone (no HTTP): what a request pays for its session
//! under each strategy. `cargo bench` runs them; Redis comes from `REDIS_URL` (default
//! 127.0.0.1:6379; `scripts/bench.sh` starts one), SQL is a fresh SQLite file. A store that
//! cannot be reached is reported and its backends left out, never measured as zero.

use criterion::{criterion_group, criterion_main, Criterion};
use http::{header::COOKIE, request::Parts, Request};
use session_strategies::{
    cache_aside::CacheAsideStore,
    cookie::CookieBackend,
    jwt::{JwtBackend, JwtSettings, SigningKey},
    memory_store::MemoryRecords,
    record_store::RecordStore,
    redis_store::RedisConnection,
    revocation::{Revocations, SqlRevocations},
    revocation_mirror::MirroredRevocations,
    signed_url::{SignedUrlBackend, URL_PARAM},
    sql_store,
    store::StoreBackend,
    transport::url_param,
    url_signer::UrlSigner,
    ClientChange, ProductId, Quantity, SessionBackend, SessionData, SessionUser, Strategy,
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

/// A request carrying what the client holds after `changes`.
fn request(backend: &dyn SessionBackend, changes: &[ClientChange]) -> Parts {
    let in_url = url_param(backend.carriers()).is_some();
    let mut cookies = Vec::new();
    let mut uri = "/".to_owned();
    for change in changes {
        match change {
            ClientChange::SetCookie { name, value, .. } => cookies.push(format!("{name}={value}")),
            ClientChange::Credential(value) if in_url => uri = format!("/?{URL_PARAM}={value}"),
            _ => {}
        }
    }
    let (parts, ()) = Request::builder()
        .uri(uri)
        .header(COOKIE, cookies.join("; "))
        .body(())
        .unwrap()
        .into_parts();
    parts
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

async fn redis(database: u8) -> Option<RedisConnection> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let connection = RedisConnection::start(&url, database).ok()?;
    if connection
        .wait_until_connected(Duration::from_secs(2))
        .await
    {
        Some(connection)
    } else {
        eprintln!("Redis at {url} does not answer: the redis and cache-aside benches are left out");
        None
    }
}

/// Every backend as the server builds it (stores traced, revocations mirrored).
async fn backends() -> Vec<Arc<dyn SessionBackend>> {
    let (url, pool) = sqlite().await;
    let sql_store: Arc<dyn RecordStore> = sql_store::connect(&url).await.unwrap();
    let ledger = SqlRevocations::new(pool);
    let sessions = redis(0).await;
    let cache = redis(1).await;
    let revocations: Arc<dyn Revocations> = Arc::new(
        MirroredRevocations::start(Arc::new(ledger.clone()), ledger, sessions.clone())
            .await
            .unwrap(),
    );
    let mut backends: Vec<Arc<dyn SessionBackend>> = vec![
        Arc::new(StoreBackend::new(
            Strategy::Memory,
            Arc::new(MemoryRecords::default()),
            TTL,
        )),
        Arc::new(CookieBackend::new(
            axum_extra::extract::cookie::Key::generate(),
            TTL,
            revocations.clone(),
        )),
        Arc::new(
            JwtBackend::new(
                JwtSettings {
                    keys: vec![SigningKey::new("k1", vec![7; 32]).unwrap()],
                    issuer: "bench".into(),
                    audience: "bench".into(),
                    access_ttl: TTL,
                    refresh_ttl: TTL,
                    refresh_grace: Duration::from_secs(10),
                },
                revocations,
            )
            .unwrap(),
        ),
    ];
    if let Some(sessions) = &sessions {
        backends.push(Arc::new(StoreBackend::new(
            Strategy::Redis,
            sessions.session_store(),
            TTL,
        )));
    }
    backends.push(Arc::new(StoreBackend::new(
        Strategy::Sql,
        sql_store.clone(),
        TTL,
    )));
    if let Some(cache) = cache {
        backends.push(Arc::new(StoreBackend::new(
            Strategy::CacheAside,
            Arc::new(CacheAsideStore::new(cache, sql_store.clone())),
            TTL,
        )));
    }
    backends.push(Arc::new(SignedUrlBackend::new(
        UrlSigner::new(&[9; 32]),
        sql_store,
        TTL,
    )));
    backends
}

fn load_and_save(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backends = runtime.block_on(backends());
    let data = alice();
    for backend in backends {
        let strategy = backend.strategy();
        let saved = runtime.block_on(backend.save(&data, None, false)).unwrap();
        let parts = request(backend.as_ref(), &saved.client);
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
