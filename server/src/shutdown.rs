//! When to stop: Ctrl-C or `SIGTERM` (what process supervisors, `kill` and the cluster run
//! send). The server then stops accepting connections and finishes the requests in flight, so
//! a load balancer in front sees a refused connection (and retries elsewhere), never a request
//! cut in half.

/// Resolves at Ctrl-C or `SIGTERM`.
pub async fn requested() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
