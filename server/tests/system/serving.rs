//! Serving on threads of its own (`server::serving`), over real sockets: every request is
//! answered on a serving thread, a shutdown lets the requests in flight finish, connections
//! are shared out evenly, and each thread runs on a core of its own unless told otherwise.

use axum::{routing::get, Router};
use server::serving::Placement;
use std::{collections::BTreeMap, time::Duration};
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
            "/cpus",
            get(|| async {
                format!(
                    "{} {}",
                    std::thread::current().name().unwrap_or("unnamed"),
                    this_threads_cpu_list()
                )
            }),
        )
        .route(
            "/blocking-cpus",
            get(|| async {
                tokio::task::spawn_blocking(this_threads_cpu_list)
                    .await
                    .unwrap()
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

/// The CPUs the calling thread may run on, as the kernel lists them (`0-1`, `0,2-3`): the
/// `Cpus_allowed_list` line of its `/proc/thread-self/status`.
fn this_threads_cpu_list() -> String {
    std::fs::read_to_string("/proc/thread-self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_owned()
}

/// The CPUs in a list such as `0,2-3`, in order.
fn cpus_in(list: &str) -> Vec<String> {
    list.split(',')
        .flat_map(|range| {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
            (first..=last).map(|cpu| cpu.to_string())
        })
        .collect()
}

/// A server on a port of its own: the port, the sender that shuts it down, and the serving
/// task.
type Served = (
    u16,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
);

/// [`app`] served on two threads, pinned to cores.
async fn serve_on_two_threads() -> Served {
    serve_placed(2, Placement::CorePerThread).await
}

async fn serve_placed(threads: usize, placement: Placement) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let threads = server::serving::Threads {
        count: threads,
        placement,
        on_start: server::startup::on_serving_thread_start(),
    };
    let serving = tokio::spawn(server::serving::serve(app(), listener, threads, async {
        let _ = stopped.await;
    }));
    (port, stop, serving)
}

/// The CPUs the calling thread may run on, as the kernel lists them, and one by one.
fn this_threads_cpus() -> (String, Vec<String>) {
    let list = this_threads_cpu_list();
    let cpus = cpus_in(&list);
    (list, cpus)
}

/// Lets the calling thread (a test's, which starts the server) run on `cpus` only; the
/// serving threads take their cores from it.
fn run_this_thread_on(cpus: &[String]) {
    let mut set = nix::sched::CpuSet::new();
    for cpu in cpus {
        set.set(cpu.parse().unwrap()).unwrap();
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).unwrap();
}

/// What `GET /cpus` answers on two connections opened together (one per thread, when there
/// are two): each thread's name and the CPUs it may run on; then the CPUs of a blocking task's
/// thread, as `blocking`. Stops the server.
async fn cpus_per_thread(threads: usize, placement: Placement) -> BTreeMap<String, String> {
    let (port, stop, serving) = serve_placed(threads, placement).await;
    let connections = [
        TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
        TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut per_thread = BTreeMap::new();
    for connection in connections {
        let answer = get_on(connection, "/cpus").await.unwrap();
        let (thread, cpus) = answer.split_once(' ').unwrap();
        per_thread.insert(thread.to_owned(), cpus.to_owned());
    }
    per_thread.insert(
        "blocking".to_owned(),
        fetch(port, "/blocking-cpus").await.unwrap(),
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    per_thread
}

/// Two threads left to the scheduler sat on one core's queue while the other core ran the
/// load generator: each is pinned to a core of its own, in the order the process may use
/// them, when the process has as many cores as threads (here made two). A blocking task (a
/// password hash) runs on every core still, not on its serving thread's. With a single core
/// there is nothing to spread, and nothing is pinned.
#[tokio::test]
async fn each_serving_thread_runs_on_a_core_of_its_own() {
    let (_, cores) = this_threads_cpus();
    if cores.len() > 2 {
        run_this_thread_on(&cores[..2]);
    }
    let (two, cores) = this_threads_cpus();
    let expected = if cores.len() == 2 {
        [cores[0].clone(), cores[1].clone()]
    } else {
        [two.clone(), two.clone()]
    };
    assert_eq!(
        cpus_per_thread(2, Placement::CorePerThread).await,
        BTreeMap::from([
            ("serve-1".to_owned(), expected[0].clone()),
            ("serve-2".to_owned(), expected[1].clone()),
            ("blocking".to_owned(), two.clone()),
        ]),
        "the CPUs each serving thread may run on (the server's: {two})"
    );
}

/// A process with more cores than serving threads shares its machine (a container with a CPU
/// quota): pinned, every such process would crowd onto the same first cores.
#[tokio::test]
async fn threads_fewer_than_the_cores_are_not_pinned() {
    let (all, cores) = this_threads_cpus();
    let threads = cores.len() - 1;
    if threads == 0 {
        // One core: one thread is as many threads as cores, and is pinned to it.
        assert_eq!(
            cpus_per_thread(1, Placement::CorePerThread).await,
            BTreeMap::from([
                ("serve-1".to_owned(), all.clone()),
                ("blocking".to_owned(), all)
            ])
        );
        return;
    }
    let answered = cpus_per_thread(threads, Placement::CorePerThread).await;
    assert!(!answered.is_empty());
    for (thread, cpus) in answered {
        assert_eq!(cpus, all, "{thread} was pinned");
    }
}

#[tokio::test]
async fn unpinned_serving_threads_may_run_on_every_core() {
    let (process, _) = this_threads_cpus();
    assert_eq!(
        cpus_per_thread(2, Placement::Anywhere).await,
        BTreeMap::from([
            ("serve-1".to_owned(), process.clone()),
            ("serve-2".to_owned(), process.clone()),
            ("blocking".to_owned(), process),
        ])
    );
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
    let mut per_thread = BTreeMap::<String, usize>::new();
    while let Some(thread) = answers.join_next().await {
        *per_thread.entry(thread.unwrap().unwrap()).or_default() += 1;
    }
    assert_eq!(
        per_thread,
        BTreeMap::from([("serve-1".to_owned(), 16), ("serve-2".to_owned(), 16)]),
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
