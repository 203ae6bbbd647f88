//! What Memcached does that the other stores do not, against memcached processes of the test's
//! own: a node that stops takes its sessions with it while the other node's stay, refusing
//! them (`503`) while it is away and coming back empty, without a restart of the app; a full
//! Memcached evicts the least recently used session before its expiry; a thread's commands
//! share one connection, each answered with its own reply.

use async_memcached::{AsciiProtocol, Client};
use session_strategies::{
    backends::server_side::StoreBackend,
    stores::{memcached::MemcachedRecords, record::session_record, RecordStore},
    LoadError, SessionBackend, SessionData, SessionKey, Strategy,
};
use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

const TTL: Duration = Duration::from_secs(1800);

/// A memcached process on a port of its own, stopped when dropped.
struct OwnMemcached {
    port: u16,
    megabytes: u32,
    child: Option<Child>,
}

impl OwnMemcached {
    fn start(megabytes: u32) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut node = Self {
            port,
            megabytes,
            child: None,
        };
        node.run();
        node
    }

    fn run(&mut self) {
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
        let child = Command::new("memcached")
            .args(["-l", "127.0.0.1", "-U", "0", "-t", "1", "-u", &user])
            .args([
                "-p",
                &self.port.to_string(),
                "-m",
                &self.megabytes.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("memcached (scripts/setup.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "memcached did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnMemcached {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A session record under a fresh id, its owner the `memcached` strategy.
fn record() -> Record {
    let expiry = OffsetDateTime::now_utc() + time::Duration::minutes(30);
    session_record(
        Id::default(),
        &SessionData::guest(),
        expiry,
        Strategy::Memcached,
    )
    .unwrap()
}

/// Past the time a node that failed is left alone.
async fn after_the_retry_pause() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn a_stopped_node_takes_its_sessions_and_the_other_nodes_stay() {
    let mut first = OwnMemcached::start(64);
    let second = OwnMemcached::start(64);
    let url = format!("memcached://{},{}", first.address(), second.address());
    let store = MemcachedRecords::new(&url).unwrap();
    let mut ids = Vec::new();
    for _ in 0..40 {
        let mut record = record();
        store.create(&mut record).await.unwrap();
        ids.push(record.id);
    }
    let on_first: Vec<bool> = ids
        .iter()
        .map(|id| store.node_of(id) == first.address())
        .collect();
    let held_by_first = on_first.iter().filter(|on| **on).count();
    assert!((8..=32).contains(&held_by_first), "{held_by_first} of 40");

    first.stop();
    for (id, on_first) in ids.iter().zip(&on_first) {
        let loaded = store.load_session(id).await;
        match on_first {
            true => {
                let error = loaded.expect_err("its node is down").to_string();
                assert!(error.contains(&first.address()), "{error}");
            }
            false => assert!(loaded.unwrap().is_some(), "the other node's session stays"),
        }
    }

    // Back, empty: its sessions are gone, the others are still there, and it takes new ones
    // without the app restarting.
    first.run();
    after_the_retry_pause().await;
    for (id, on_first) in ids.iter().zip(&on_first) {
        let loaded = store.load_session(id).await.unwrap();
        assert_eq!(loaded.is_some(), !on_first, "{id}");
    }
    for _ in 0..10 {
        store.create(&mut record()).await.unwrap();
    }
}

/// The connections Memcached has accepted since it started. (With one worker thread it counts
/// them in the order they came: the start-up probe's is counted before the admin's command.)
async fn connections_accepted(admin: &mut Client) -> u64 {
    admin.stats().await.unwrap()["total_connections"]
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_thread_pipelines_its_commands_on_one_connection_each_answered_with_its_own_reply() {
    let mut node = OwnMemcached::start(64);
    let store =
        Arc::new(MemcachedRecords::new(&format!("memcached://{}", node.address())).unwrap());
    let mut admin = Client::new(format!("tcp://{}", node.address()))
        .await
        .unwrap();
    let before = connections_accepted(&mut admin).await;

    // A hundred requests at once on this thread: writes, then reads, all in flight together.
    let mut creating = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let store = store.clone();
        creating.spawn(async move {
            let mut record = record();
            store.create(&mut record).await.unwrap();
            record.id
        });
    }
    let ids = creating.join_all().await;
    let mut loading = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let store = store.clone();
        loading.spawn(async move { (id, store.load(&id).await.unwrap()) });
    }
    for (id, loaded) in loading.join_all().await {
        assert_eq!(loaded.expect("the session just created").id, id);
    }
    assert_eq!(
        connections_accepted(&mut admin).await - before,
        1,
        "one connection carries the thread's 200 commands"
    );

    // A restart ends the connection while it is idle: the next command opens another, and
    // answers (the node came back empty) rather than failing.
    node.stop();
    node.run();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(store.load(&ids[0]).await.unwrap().is_none());
    assert!(store.create(&mut record()).await.is_ok());
}

#[tokio::test]
async fn a_session_of_a_node_that_is_down_answers_unavailable_naming_it() {
    let mut node = OwnMemcached::start(64);
    let store =
        Arc::new(MemcachedRecords::new(&format!("memcached://{}", node.address())).unwrap());
    let backend =
        StoreBackend::new(Strategy::Memcached, store.clone(), TTL).with_availability(store.clone());
    let mut record = record();
    store.create(&mut record).await.unwrap();
    let key = SessionKey(record.id.to_string());
    assert!(backend.availability().await.is_ok());

    node.stop();
    let Err(LoadError::Unavailable(unavailable)) = backend.stored(&key).await else {
        panic!("a store that is down is not a missing session");
    };
    assert!(
        unavailable.reason.contains(&node.address()),
        "{unavailable:?}"
    );
    // Every node down a moment ago: refused before any round trip.
    assert!(backend.availability().await.is_err());
    assert!(backend.probe().await.is_err());

    node.run();
    after_the_retry_pause().await;
    assert!(backend.availability().await.is_ok());
    assert!(backend.probe().await.is_ok());
    let mut again = Record {
        id: Id::default(),
        ..record
    };
    store.create(&mut again).await.unwrap();
}

#[tokio::test]
async fn a_full_memcached_evicts_the_least_recently_used_session() {
    let node = OwnMemcached::start(2);
    let store = MemcachedRecords::new(&format!("memcached://{}", node.address())).unwrap();
    let mut idle = record();
    store.create(&mut idle).await.unwrap();
    assert!(store.load_session(&idle.id).await.unwrap().is_some());

    // Other items of its size (Memcached evicts within a size class), each written and read
    // after it, until Memcached has had to make room. Its LRU is segmented: items fetched twice
    // are kept over those that were not, so the others are fetched too, as busy visitors'
    // sessions are. The idle session is then the least recently used, and goes long before its
    // expiry.
    let mut filler = Client::new(format!("tcp://{}", node.address()))
        .await
        .unwrap();
    let size = AsciiProtocol::get(&mut filler, idle.id.to_string())
        .await
        .unwrap()
        .and_then(|value| value.data)
        .expect("the session's item")
        .len();
    let value = vec![b'x'; size];
    let mut written = 0;
    let mut full_at = None;
    // Until Memcached is full, and then twice as many again: its memory turned over twice.
    while full_at.is_none_or(|full_at| written < 3 * full_at) {
        if full_at.is_none() && filler.stats().await.unwrap()["evictions"] != "0" {
            full_at = Some(written);
        }
        for _ in 0..1000 {
            // Keys as long as a session's: the same size class.
            let key = Id::default().to_string();
            AsciiProtocol::set(&mut filler, &key, value.as_slice(), None, None)
                .await
                .unwrap();
            // Fetched twice: what Memcached takes for an item in use.
            AsciiProtocol::get(&mut filler, &key).await.unwrap();
            AsciiProtocol::get(&mut filler, &key).await.unwrap();
            written += 1;
        }
        assert!(written < 200_000, "no eviction after {written} items");
    }
    assert!(
        store.load_session(&idle.id).await.unwrap().is_none(),
        "the idle session was evicted ({written} items written after it)"
    );
}
