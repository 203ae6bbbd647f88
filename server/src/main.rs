//! The Session Strategies server: read the configuration, build the app, serve.
#![forbid(unsafe_code)]

use server::{config::Config, startup};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the server stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), startup::StartupError> {
    let config = Config::from_env()?;
    let addr = config.site_addr;
    let app = startup::build(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| startup::StartupError::Bind(addr, error))?;
    tracing::info!("listening on http://{addr}");
    // The peer's address, for the login limits.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(startup::StartupError::Serve)
}
