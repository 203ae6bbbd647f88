//! Builds the application: database, migrations, demo users, session backends, routes.

use crate::{api, config::Config, observability};
use app::{
    error::AppError,
    shell,
    shop::{accounts, AppState, Catalog, Shop},
    App,
};
use axum::{
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
    Router,
};
use http::HeaderValue;
use leptos_axum::{generate_route_list, LeptosRoutes};
use session_strategies::{
    cache_aside::CacheAsideStore,
    cookie::CookieBackend,
    jwt::{JwtBackend, JwtSettings},
    redis_store::RedisConnection,
    revocation::{RedisFirstRevocations, Revocations, SqlRevocations},
    session_layer,
    signed_url::{derive_secret, SignedUrlBackend, UrlSigner},
    sql_store::{self, is_postgres},
    store::StoreBackend,
    traced_store::{self, TracedStore},
    SessionBackend, SessionError, SessionLayerState, SessionRegistry, Strategy,
};
use sqlx::{any::AnyPoolOptions, AnyPool};
use std::{net::SocketAddr, sync::Arc};
use tower_sessions::MemoryStore;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Redis logical databases: the `redis` strategy and the denylist in one, cache-aside's cache
/// in another, so a cached copy can never be mistaken for a `redis` session.
const REDIS_SESSIONS_DB: u8 = 0;
const REDIS_CACHE_DB: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("could not open the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not create the demo users: {0}")]
    Seed(AppError),
    #[error("could not set up the {0} strategy: {1}")]
    Strategy(Strategy, String),
    #[error("could not create the data dir: {0}")]
    DataDir(std::io::Error),
    #[error("could not listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Everything the router needs, ready to serve.
pub async fn build(config: Config) -> Result<Router, StartupError> {
    std::fs::create_dir_all(&config.data_dir).map_err(StartupError::DataDir)?;
    let pool = connect(&config.database_url).await?;
    let shop = prepare_shop(&config, pool).await?;
    Ok(app(
        AppState {
            leptos_options: config.leptos_options.clone(),
            shop,
        },
        config.secure_cookies,
    ))
}

/// Opens the shop database: SQLite (the file is created if needed) or PostgreSQL.
pub async fn connect(url: &str) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await?;
    if !is_postgres(url) {
        // Readers do not wait for the writer; persistent in the file.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    Ok(pool)
}

/// Migrates, seeds and assembles the shop and its session backends.
pub async fn prepare_shop(config: &Config, pool: AnyPool) -> Result<Shop, StartupError> {
    if is_postgres(&config.database_url) {
        POSTGRES_MIGRATIONS.run(&pool).await?;
    } else {
        SQLITE_MIGRATIONS.run(&pool).await?;
    }
    accounts::ensure_demo_users(&pool)
        .await
        .map_err(StartupError::Seed)?;
    let catalog = Catalog::load(&pool).await?;
    let registry = registry(config, &pool).await?;
    Ok(Shop {
        pool,
        catalog,
        registry,
        links: UrlSigner::new(&derive_secret(
            config.session_secret.key().master(),
            "links",
        )),
        instance: Arc::from(config.instance_id.as_str()),
    })
}

/// One backend per strategy. Redis may be down (or absent): its strategies then answer
/// `strategy_unavailable` until it comes back, and the rest work as usual.
async fn registry(config: &Config, pool: &AnyPool) -> Result<SessionRegistry, StartupError> {
    let ttl = config.session_ttl;
    let master = config.session_secret.key().master();
    let sql_sessions = sql_store::connect(&config.database_url)
        .await
        .map_err(|error| StartupError::Strategy(Strategy::Sql, error.to_string()))?;
    let sql_ledger = SqlRevocations::new(pool.clone());
    let redis = RedisConnection::start(&config.redis_url, REDIS_SESSIONS_DB).and_then(|sessions| {
        Ok((
            sessions,
            RedisConnection::start(&config.redis_url, REDIS_CACHE_DB)?,
        ))
    });
    if let Ok((sessions, cache)) = &redis {
        // Give a local Redis a moment so the first requests find it; never block start-up on it.
        let wait = std::time::Duration::from_secs(2);
        if !(sessions.wait_until_connected(wait).await && cache.wait_until_connected(wait).await) {
            tracing::warn!(
                url = %config.redis_url,
                "Redis is not reachable: the redis and cache-aside strategies answer 503 until it is"
            );
        }
    }
    let mut backends: Vec<Arc<dyn SessionBackend>> = vec![
        Arc::new(StoreBackend::new(
            Strategy::Memory,
            TracedStore::wrap(traced_store::MEMORY, Arc::new(MemoryStore::default())),
            ttl,
        )),
        Arc::new(CookieBackend::new(config.session_secret.key().clone(), ttl)),
        Arc::new(StoreBackend::new(Strategy::Sql, sql_sessions.clone(), ttl)),
        Arc::new(SignedUrlBackend::new(
            UrlSigner::new(&derive_secret(master, "signed-url")),
            sql_sessions.clone(),
            ttl,
        )),
    ];
    let revocations: Arc<dyn Revocations> = match &redis {
        Ok((sessions, cache)) => {
            backends.push(Arc::new(
                StoreBackend::new(Strategy::Redis, sessions.session_store(), ttl)
                    .with_availability(Arc::new(sessions.clone())),
            ));
            let cache_state = cache.clone();
            backends.push(Arc::new(
                StoreBackend::new(
                    Strategy::CacheAside,
                    Arc::new(CacheAsideStore::new(cache.clone(), sql_sessions)),
                    ttl,
                )
                .with_description(Arc::new(move || {
                    if cache_state.is_connected() {
                        "SQL database, read through the Redis cache".to_owned()
                    } else {
                        "SQL database only: the Redis cache is down, reads go straight to SQL"
                            .to_owned()
                    }
                })),
            ));
            Arc::new(RedisFirstRevocations::new(
                sessions.clone(),
                sql_ledger.clone(),
            ))
        }
        Err(error) => {
            tracing::warn!(%error, "REDIS_URL is unusable: the redis and cache-aside strategies are off");
            Arc::new(sql_ledger.clone())
        }
    };
    let jwt = JwtBackend::new(
        JwtSettings {
            keys: config.jwt_keys.clone(),
            issuer: "session-strategies".into(),
            audience: "session-strategies-shop".into(),
            access_ttl: config.jwt_access_ttl,
            refresh_ttl: config.jwt_refresh_ttl,
        },
        revocations,
    )
    .map_err(|error| StartupError::Strategy(Strategy::Jwt, error.to_string()))?;
    backends.push(Arc::new(jwt));
    tokio::spawn(sweep_ledger(sql_ledger));
    Ok(SessionRegistry::new(config.default_strategy, backends))
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

/// The session layer's errors in the API's error shape.
fn reject(error: SessionError) -> Response {
    AppError::from(error).into_response()
}

/// The router: the JSON API, server functions and pages behind the session layer; static
/// files outside it, so assets cost no session look-up.
pub fn app(state: AppState, secure_cookies: bool) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionLayerState {
        registry: state.shop.registry.clone(),
        secure_cookies,
        reject,
    };
    let instance = HeaderValue::from_str(&state.shop.instance)
        .unwrap_or_else(|_| HeaderValue::from_static("unnamed"));
    Router::new()
        .nest("/api/v1", api::router())
        .merge(crate::links::router())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(from_fn_with_state(sessions, session_layer))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(instance, observability::stamp_and_log))
        .with_state(state)
}
