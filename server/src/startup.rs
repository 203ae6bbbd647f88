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
    cookie::CookieBackend, session_layer, store::StoreBackend, SessionBackend, SessionError,
    SessionLayerState, SessionRegistry, Strategy,
};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
    SqlitePool,
};
use std::{net::SocketAddr, str::FromStr, sync::Arc};
use tower_sessions::MemoryStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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

/// Opens the SQLite database, creating the file if needed.
pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
}

/// Migrates, seeds and assembles the shop and its session backends.
pub async fn prepare_shop(config: &Config, pool: SqlitePool) -> Result<Shop, StartupError> {
    MIGRATOR.run(&pool).await?;
    accounts::ensure_demo_users(&pool)
        .await
        .map_err(StartupError::Seed)?;
    let catalog = Catalog::load(&pool).await?;
    Ok(Shop {
        pool,
        catalog,
        registry: registry(config),
        instance: Arc::from(config.instance_id.as_str()),
    })
}

/// One backend per strategy this server runs.
fn registry(config: &Config) -> SessionRegistry {
    let backends: Vec<Arc<dyn SessionBackend>> = vec![
        Arc::new(StoreBackend::new(
            Strategy::Memory,
            Arc::new(MemoryStore::default()),
            config.session_ttl,
        )),
        Arc::new(CookieBackend::new(
            config.session_secret.key().clone(),
            config.session_ttl,
        )),
    ];
    SessionRegistry::new(config.default_strategy, backends)
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
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(from_fn_with_state(sessions, session_layer))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(instance, observability::stamp_and_log))
        .with_state(state)
}
