//! The Session Strategies server: read the configuration, build the app, serve. `server
//! cluster` instead runs several instances of it behind HAProxy ([`server::cluster`]).
#![forbid(unsafe_code)]

use server::{
    config::Config,
    serving::{self, Threads},
    startup,
};

use tracing_subscriber::EnvFilter;

/// mimalloc, not glibc's malloc: per-thread free lists suit a request's many short-lived
/// allocations (`docs/PERFORMANCE.md` has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The main thread's runtime runs start-up, the background tasks (sweeps, the revocation
/// mirror) and the cluster supervisor; requests are served on threads of their own
/// ([`server::serving`]).
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        // Colours for a terminal only: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let outcome = match std::env::args().nth(1).as_deref() {
        None => run().await.map_err(|error| error.to_string()),
        Some("cluster") => server::cluster::run()
            .await
            .map_err(|error| error.to_string()),
        Some("orders") => server::orders::run()
            .await
            .map_err(|error| error.to_string()),
        Some(other) => Err(format!(
            "unknown command {other:?}: run `server` for one instance of the shop, `server orders` for the orders service, or `server cluster`"
        )),
    };
    match outcome {
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
    let threads = Threads {
        count: config.serving_threads,
        placement: config.serving_placement,
        on_start: startup::on_serving_thread_start(),
    };
    let app = startup::build(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| startup::StartupError::Bind(addr, error))?;
    tracing::info!(threads = threads.count, placement = ?threads.placement, "listening on http://{addr}");
    serving::serve(app, listener, threads, server::shutdown::requested())
        .await
        .map_err(startup::StartupError::Serve)
}
