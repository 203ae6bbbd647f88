//! Serving on threads of its own (`server::serving`), over real sockets: every request is
//! answered on a serving thread, and a shutdown lets the requests in flight finish.

use axum::{routing::get, Router};
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

/// The body of `GET path` on a fresh connection.
async fn fetch(port: u16, path: &str) -> std::io::Result<String> {
    get_on(TcpStream::connect(("127.0.0.1", port)).await?, path).await
}

/// The body of `GET path` on `stream`, an open connection, which it then closes.
async fn get_on(mut stream: TcpStream, path: &str) -> std::io::Result<String> {
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    Ok(reply
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

fn app() -> Router {
    Router::new()
        .route(
            "/thread",
            get(|| async {
                std::thread::current()
                    .name()
                    .unwrap_or("unnamed")
                    .to_owned()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }),
        )
}

/// [`app`] served on two threads on a port of its own: the port, the sender that shuts it
/// down, and the serving task.
async fn serve_on_two_threads() -> (
    u16,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server::serving::serve(app(), listener, 2, async {
        let _ = stopped.await;
    }));
    (port, stop, serving)
}

#[tokio::test]
async fn requests_are_answered_on_serving_threads_and_finish_through_a_shutdown() {
    let (port, stop, serving) = serve_on_two_threads().await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..16 {
        requests.spawn(fetch(port, "/thread"));
    }
    while let Some(thread) = requests.join_next().await {
        let thread = thread.unwrap().unwrap();
        assert!(
            thread == "serve-1" || thread == "serve-2",
            "answered on {thread:?}"
        );
    }

    let slow = tokio::spawn(fetch(port, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    assert_eq!(
        slow.await.unwrap().unwrap(),
        "done",
        "cut off by the shutdown"
    );
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serving ends once the requests in flight are answered")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "still accepting after the shutdown"
    );
}

/// A connection stays on the thread that takes it, so a burst of new connections (a load
/// generator's, a load balancer's pool) must be shared out: threads accepting on one socket
/// let the first to wake take the whole burst, and one core served while the other idled.
#[tokio::test]
async fn a_burst_of_connections_is_shared_evenly_between_the_serving_threads() {
    let (port, stop, serving) = serve_on_two_threads().await;

    // All 32 open before any request, so none has closed when the last is handed over.
    let mut connections = Vec::new();
    for _ in 0..32 {
        connections.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut answers = tokio::task::JoinSet::new();
    for connection in connections {
        answers.spawn(get_on(connection, "/thread"));
    }
    let mut per_thread = std::collections::BTreeMap::<String, usize>::new();
    while let Some(thread) = answers.join_next().await {
        *per_thread.entry(thread.unwrap().unwrap()).or_default() += 1;
    }
    assert_eq!(
        per_thread,
        std::collections::BTreeMap::from([("serve-1".to_owned(), 16), ("serve-2".to_owned(), 16)]),
        "connections per thread"
    );

    // Closed connections give their places back: the next two go one to each thread.
    let next = [
        TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
        TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let [first, second] = next;
    let mut threads = vec![
        get_on(first, "/thread").await.unwrap(),
        get_on(second, "/thread").await.unwrap(),
    ];
    threads.sort();
    assert_eq!(threads, ["serve-1", "serve-2"]);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
