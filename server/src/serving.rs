//! Serving: one single-threaded Tokio runtime per core, all accepting on one listening socket.
//!
//! With Tokio's work-stealing runtime a request and the Redis client's connection task sat on
//! different workers, so every Redis command cost two cross-thread wake-ups (request to
//! connection task, reply back), and the runtime ran the connection task the moment a request
//! queued a command, one socket write per command. Here a connection stays on the thread that
//! accepted it, each thread has its own Redis client (`session_strategies::redis_store`'s
//! lanes), and its connection task runs after every ready request has queued its command: one
//! write for many. The state that must be shared (the memory store, the revocation mirror,
//! the SQLite writer) is shared as before, behind `Arc`s.
//!
//! All threads accept on copies of one socket rather than on sockets of their own
//! (`SO_REUSEPORT`): an idle thread takes the next connection, and a second server started
//! on the same port still fails to bind instead of silently sharing the traffic.

use axum::{serve::ListenerExt, Router};
use std::{future::Future, io, net::SocketAddr, time::Duration};
use tokio::sync::{mpsc, watch};

/// How long a serving thread waits for its Redis clients before it accepts connections.
const REDIS_LANE_WAIT: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` with `threads` threads until `shutdown` resolves, then lets every
/// thread finish the requests in flight. Ends early, with its error, if a thread fails.
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    threads: usize,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listener = listener.into_std()?;
    let (stop, stopping) = watch::channel(false);
    let (ended, mut endings) = mpsc::unbounded_channel::<io::Result<()>>();
    for number in 1..=threads.max(1) {
        let (app, listener, stopping, ended) = (
            app.clone(),
            listener.try_clone()?,
            stopping.clone(),
            ended.clone(),
        );
        std::thread::Builder::new()
            .name(format!("serve-{number}"))
            .spawn(move || {
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(serve_on_this_thread(app, listener, stopping))
                    });
                let _ = ended.send(served);
            })?;
    }
    drop(ended);
    let mut outcome = Ok(());
    tokio::select! {
        () = shutdown => {}
        Some(first) = endings.recv() => outcome = first,
    }
    let _ = stop.send(true);
    // Every thread drains its connections; the channel closes when the last one has ended.
    while let Some(served) = endings.recv().await {
        outcome = outcome.and(served);
    }
    outcome
}

/// One serving thread: its own Redis clients, then connections until told to stop.
async fn serve_on_this_thread(
    app: Router,
    listener: std::net::TcpListener,
    mut stopping: watch::Receiver<bool>,
) -> io::Result<()> {
    session_strategies::redis_store::open_lanes_on_this_thread(REDIS_LANE_WAIT).await;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?
        // A response whose body follows its headers in a second write (a static file) would
        // otherwise wait for the client's delayed ACK of the first: 40 ms a file.
        .tap_io(|connection| {
            if let Err(error) = connection.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
    // The peer's address, for the login limits.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    })
    .await
}
