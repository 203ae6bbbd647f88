//! Builds the application: database, migrations, demo users, session backends, routes.

pub mod backends;

use crate::{
    api,
    config::Config,
    csrf, observability,
    request_origin::{self, Origins},
    security_headers,
    serving::ThreadStart,
    static_files,
};
use app::{
    error::AppError,
    shell,
    shop::{accounts, attempts::Attempts, AppState, Catalog, ClusterControl, Shop, ShopServices},
    App,
};
use axum::{
    extract::FromRef,
    middleware::{from_fn, from_fn_with_state},
    Router,
};
use http::HeaderValue;
use leptos_axum::{generate_route_list, LeptosRoutes};
use session_strategies::{
    crypto::url_signer::UrlSigner, redis::open_lanes_on_this_thread, session_layer,
    stores::sql::is_postgres, RejectWith, SessionLayerState, Strategy,
};
use sqlx::{any::AnyPoolOptions, AnyPool};
use std::{net::SocketAddr, sync::Arc, time::Duration};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
    /// The orders service found no shop to trust.
    #[error("the shop does not answer: {0}")]
    Shop(String),
    #[error("could not create the data dir: {0}")]
    DataDir(std::io::Error),
    #[error("could not listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// How long a serving thread waits for its Redis clients before it takes connections.
const REDIS_LANE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What each serving thread does first: open its own Redis clients (`src/redis.rs` says why).
pub fn on_serving_thread_start() -> ThreadStart {
    Arc::new(|| Box::pin(open_lanes_on_this_thread(REDIS_LANE_WAIT)))
}

/// Everything the router needs, ready to serve.
pub async fn build(config: Config) -> Result<Router, StartupError> {
    std::fs::create_dir_all(&config.data_dir).map_err(StartupError::DataDir)?;
    let pool = connect(&config.database_url).await?;
    let shop = prepare_shop(&config, pool).await?;
    let origins = Origins {
        hosts: Arc::from(config.allowed_hosts.clone()),
        behind_proxy: config.behind_proxy,
    };
    Ok(app(
        AppState::new(config.leptos_options.clone(), shop),
        origins,
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
    tokio::spawn(sweep_shop_rows(
        pool.clone(),
        config.session_sweep,
        config.session_max_age,
    ));
    let redis = backends::connect_redis(&config.redis_url, config.redis_min_replicas).await;
    let login_attempts = Attempts::new(redis.clone(), config.login_limits.window);
    let measurements = Attempts::new(redis.clone(), std::time::Duration::from_secs(60));
    let registries = backends::registries(config, &pool, redis).await?;
    Ok(Shop::new(ShopServices {
        pool,
        catalog,
        registry: registries.serving,
        measuring: registries.measuring,
        revocations: registries.revocations,
        links: UrlSigner::derived(&config.session_keys, "links"),
        instance: Arc::from(config.instance_id.as_str()),
        service_secrets: Arc::from(config.service_secrets.clone()),
        orders_service: config.orders_url.as_deref().map(|url| {
            Arc::new(crate::orders_client::OrdersClient::new(url))
                as Arc<dyn app::shop::orders_service::OrdersService>
        }),
        outbox_enabled: config.demo_outbox,
        cluster_control: config
            .cluster_control
            .as_ref()
            .map(|(address, secret)| ClusterControl {
                address: Arc::from(address.as_str()),
                secret: Arc::from(secret.as_str()),
            }),
        login_attempts,
        login_limits: config.login_limits,
        measurements,
        measurements_per_minute: config.measurements_per_minute,
    }))
}

/// Deletes, every `period`, old demo mail, spent one-off links that have expired, and the
/// rows of logins whose sessions have ended.
async fn sweep_shop_rows(pool: AnyPool, period: Duration, max_age: Duration) {
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        if let Err(error) = app::shop::outbox::sweep(&pool).await {
            tracing::warn!(%error, "could not sweep the outbox and spent links");
        }
        if let Err(error) = app::shop::your_sessions::sweep(&pool, max_age).await {
            tracing::warn!(%error, "could not sweep the logins that ended");
        }
    }
}

/// The router: the JSON API, server functions and pages behind the session layer; static
/// files outside it, so assets cost no session look-up; requests for other hosts refused
/// before anything else.
pub fn app(state: AppState, origins: Origins) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionLayerState {
        registry: state.shop.registry.clone(),
        reject: RejectWith::from_ref(&state),
    };
    let instance = HeaderValue::from_str(&state.shop.instance)
        .unwrap_or_else(|_| HeaderValue::from_static("unnamed"));
    let router = Router::new()
        .nest("/api/v1", api::router())
        .merge(crate::links::router())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(from_fn_with_state(sessions.clone(), session_layer))
        // Outside the session layer: a forged request is refused before its session loads.
        .route_layer(from_fn(csrf::same_origin_only))
        // Outside the session layer and the CSRF check: read by other services, not browsers.
        .merge(crate::jwks::router())
        .fallback_service(static_files::service(&state, sessions));
    // Inside the security headers, so that a refused host's `400` carries them too.
    let router = router.layer(from_fn_with_state(Arc::new(origins), request_origin::check));
    security_headers::add(router, state.shop.registry.secure_cookies())
        .layer(from_fn_with_state(instance, observability::stamp_and_log))
        .with_state(state)
}
