//! Serving: one single-threaded Tokio runtime per core, each given connections by one acceptor.
//!
//! Why not Tokio's work-stealing runtime: there a request and the Redis client's connection
//! task sat on different workers, so every Redis command cost two cross-thread wake-ups, and
//! the connection task wrote each command as soon as it was queued. Here a connection stays on
//! one thread; `main` hands [`serve`] a start hook that gives each thread what it needs of its
//! own (a Redis client per thread, `session_strategies::redis::open_lanes_on_this_thread`), so
//! one write carries the commands of every ready request. Shared state (the memory store, the
//! revocation mirror, the SQLite writer) stays shared behind `Arc`s.
//!
//! Since a connection never moves, which thread gets it decides how evenly the cores work: one
//! acceptor, on the runtime that called [`serve`], hands each connection to the thread holding
//! the fewest open ones (as Envoy's "exact balance" does). Threads accepting on copies of one
//! socket let the first to wake take a whole burst while the other core idled; `SO_REUSEPORT`
//! splits evenly only on average, and would let a second server on the same port silently
//! share the traffic.
//!
//! Each thread also runs on a core of its own ([`Placement::CorePerThread`], the default, when
//! the process may run on exactly as many cores as it has threads): left to the kernel, both
//! threads often queued on one core while the other ran the load generator, and every
//! connection of the waiting thread waited with it. `docs/PERFORMANCE.md` has the figures.

use axum::{
    serve::{Listener, ListenerExt},
    Router,
};
use nix::{
    sched::{sched_getaffinity, sched_setaffinity, CpuSet},
    unistd::Pid,
};
use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::{mpsc, watch},
};

/// What each serving thread runs on its own runtime before it takes connections (its own
/// clients of shared services); it may keep tasks running on that runtime.
pub type ThreadStart = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// How the serving threads are set up.
#[derive(Clone)]
pub struct Threads {
    /// How many (at least one).
    pub count: usize,
    pub placement: Placement,
    pub on_start: ThreadStart,
}

/// A connection on its way from the acceptor to a serving thread.
type Handover = (std::net::TcpStream, SocketAddr);

/// The acceptor's side of one serving thread: where its connections go, and how many of them
/// are open.
struct ThreadDoor {
    connections: mpsc::UnboundedSender<Handover>,
    open: Arc<AtomicUsize>,
}

/// Where the serving threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The n-th thread on the n-th core this process may run on, when it may run on exactly as
    /// many cores as it has threads (the default: a thread per core; or a `taskset`, a
    /// container's own cpuset); the same as [`Placement::Anywhere`] otherwise. With more cores
    /// than threads (a container limited by a CPU quota on a big machine) every process on the
    /// machine would pin its threads to the same first cores. A pinned thread cannot flee a
    /// core that something else keeps busy, which is why this can be turned off
    /// (`SERVER_PIN_THREADS=false`).
    CorePerThread,
    /// Wherever the kernel's scheduler puts them.
    Anywhere,
}

/// Where each of `threads` serving threads runs, in order: on one of the `process`'s cores
/// each, or (`None`) wherever the scheduler puts them.
fn cores_for(threads: usize, placement: Placement, process: &CpuSet) -> Option<Vec<CpuSet>> {
    if placement == Placement::Anywhere {
        return None;
    }
    let cores: Vec<usize> = (0..CpuSet::count())
        .filter(|&cpu| process.is_set(cpu).unwrap_or(false))
        .collect();
    if cores.len() != threads {
        tracing::info!(
            threads,
            cores = cores.len(),
            "not as many serving threads as cores: the threads are not pinned"
        );
        return None;
    }
    cores
        .into_iter()
        .map(|cpu| {
            let mut one = CpuSet::new();
            one.set(cpu).ok()?;
            Some(one)
        })
        .collect()
}

/// The CPUs the calling thread may run on.
fn this_threads_cpus() -> Option<CpuSet> {
    sched_getaffinity(Pid::from_raw(0))
        .inspect_err(|error| tracing::warn!(%error, "could not read this thread's CPUs"))
        .ok()
}

/// Lets the calling thread run on `cpus` only. On failure (a CPU taken away meanwhile) the
/// thread keeps the CPUs it had.
fn run_this_thread_on(cpus: &CpuSet) {
    if let Err(error) = sched_setaffinity(Pid::from_raw(0), cpus) {
        tracing::warn!(%error, "could not set a thread's CPUs; it keeps the ones it had");
    }
}

/// A serving thread's runtime. A pinned thread's runtime starts its blocking threads (a
/// login's password hash) on the process's every core again: a new thread inherits its
/// parent's CPUs, and a hash on the serving thread's own core would hold up its connections.
fn runtime(pinned: Option<CpuSet>, process: Option<CpuSet>) -> io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    if let (Some(core), Some(process)) = (pinned, process) {
        run_this_thread_on(&core);
        builder.on_thread_start(move || run_this_thread_on(&process));
    }
    builder.build()
}

/// Serves `app` on `listener` with the serving `threads` until `shutdown` resolves, then lets
/// every thread finish the requests in flight. Ends early, with its error, if a thread fails.
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    threads: Threads,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let Threads {
        count: threads,
        placement,
        on_start,
    } = threads;
    let local = listener.local_addr()?;
    let (stop, stopping) = watch::channel(false);
    let (ended, mut endings) = mpsc::unbounded_channel::<io::Result<()>>();
    let threads = threads.max(1);
    let process = this_threads_cpus();
    let mut cores = process
        .as_ref()
        .and_then(|process| cores_for(threads, placement, process))
        .map(Vec::into_iter);
    let mut doors = Vec::new();
    for number in 1..=threads {
        let (core, process) = (cores.as_mut().and_then(Iterator::next), process);
        let (connections, handed) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let listener = HandedConnections {
            handed,
            open: open.clone(),
            local,
        };
        doors.push(ThreadDoor { connections, open });
        let (app, stopping, ended) = (app.clone(), stopping.clone(), ended.clone());
        let on_start = on_start.clone();
        std::thread::Builder::new()
            .name(format!("serve-{number}"))
            .spawn(move || {
                let served = runtime(core, process).and_then(|runtime| {
                    runtime.block_on(async {
                        on_start().await;
                        serve_on_this_thread(app, listener, stopping).await
                    })
                });
                let _ = ended.send(served);
            })?;
    }
    drop(ended);
    let mut outcome = Ok(());
    let mut next = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(first) = endings.recv() => {
                outcome = first;
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((connection, peer)) => {
                    hand_over(&doors, &mut next, connection, peer);
                }
                Err(error) => wait_after_accept_error(error).await,
            },
        }
    }
    // No new connections from here on: the port closes now, not when the last thread ends.
    drop(listener);
    let _ = stop.send(true);
    // Every thread drains its connections; the channel closes when the last one has ended.
    while let Some(served) = endings.recv().await {
        outcome = outcome.and(served);
    }
    outcome
}

/// Gives `connection` to the thread with the fewest open connections; of equals, the one after
/// the last chosen, so that a burst fills the threads in turn.
fn hand_over(doors: &[ThreadDoor], next: &mut usize, connection: TcpStream, peer: SocketAddr) {
    let count = doors.len();
    let Some(chosen) = (0..count)
        .map(|offset| (*next + offset) % count)
        .min_by_key(|&index| doors[index].open.load(Ordering::Relaxed))
    else {
        return;
    };
    *next = (chosen + 1) % count;
    let connection = match connection.into_std() {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!(%error, "could not hand a connection over; closing it");
            return;
        }
    };
    let door = &doors[chosen];
    door.open.fetch_add(1, Ordering::Relaxed);
    if door.connections.send((connection, peer)).is_err() {
        // That thread has ended (the server is failing): the connection closes here.
        door.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// After a failed `accept`: nothing for the errors of one connection (it went away before it
/// was taken), a pause for the rest, as axum's own accept loop does: out of file descriptors,
/// retrying at once would spin.
async fn wait_after_accept_error(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One serving thread's connections, until told to stop.
async fn serve_on_this_thread(
    app: Router,
    listener: HandedConnections,
    mut stopping: watch::Receiver<bool>,
) -> io::Result<()> {
    // A response whose body follows its headers in a second write (a static file) would
    // otherwise wait for the client's delayed ACK of the first: 40 ms a file.
    let listener = listener.tap_io(|connection| {
        if let Err(error) = connection.stream.set_nodelay(true) {
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

/// A serving thread's listener: the connections the acceptor hands it.
struct HandedConnections {
    handed: mpsc::UnboundedReceiver<Handover>,
    open: Arc<AtomicUsize>,
    local: SocketAddr,
}

impl Listener for HandedConnections {
    type Io = CountedConnection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CountedConnection, SocketAddr) {
        loop {
            let Some((connection, peer)) = self.handed.recv().await else {
                // The acceptor has stopped: no more connections, and the shutdown that stopped
                // it ends this thread's serving.
                return std::future::pending().await;
            };
            // Counted from here: dropping it (a failed registration, a closed connection)
            // gives its place back.
            let counted = CountedOpen(self.open.clone());
            match TcpStream::from_std(connection) {
                Ok(stream) => {
                    return (
                        CountedConnection {
                            _counted: counted,
                            stream,
                        },
                        peer,
                    )
                }
                Err(error) => tracing::warn!(%error, "could not take a handed-over connection"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// One open connection of a thread's count, given back when dropped.
struct CountedOpen(Arc<AtomicUsize>);

impl Drop for CountedOpen {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection that counts as open on its thread until it is dropped. The count goes first
/// (fields drop in order), so a client that has seen the connection close finds its place free.
struct CountedConnection {
    _counted: CountedOpen,
    stream: TcpStream,
}

impl AsyncRead for CountedConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    /// hyper writes a response's headers and body in one `writev` when the stream can.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
