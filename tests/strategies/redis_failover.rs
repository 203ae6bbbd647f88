//! A Redis that survives losing its primary, against processes of the test's own: a primary, a
//! replica and three Sentinels. The app reaches Redis through the Sentinels
//! (`redis-sentinel://`), so when the primary is killed (`SIGKILL`) the Sentinels promote the
//! replica within five seconds and the client follows them, without a restart: meanwhile a
//! `redis` session answers `503`, never another error and never later than a bound. Sessions
//! written while the primary dies, with `REDIS_MIN_REPLICAS=1`: every one acknowledged is there
//! afterwards; with 0, those missing are counted. With the replica gone, a write is not confirmed (it answers an error, though the
//! primary has it) rather than acknowledged on the primary alone.

use session_strategies::{
    backends::server_side::StoreBackend,
    redis::RedisConnection,
    stores::{record::session_record, redis::RedisRecords},
    LoadError, SessionBackend, SessionData, SessionKey, Stored, Strategy,
};
use std::{
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use time::OffsetDateTime;
use tower_sessions::session::Id;

const TTL: Duration = Duration::from_secs(1800);
/// The Sentinels' service name.
const SERVICE: &str = "shop";
/// A Sentinel takes the primary for down after this long without an answer; with the vote and
/// the promotion, a failover takes about two seconds.
const DOWN_AFTER_MS: u32 = 600;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` with `args`, once it accepts connections; killed (`SIGKILL`) when dropped.
struct Server {
    port: u16,
    child: Option<Child>,
    /// Its working directory: a replica saves what it synced there.
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(port: u16, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis on {port} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            child: Some(child),
            _dir: dir,
        }
    }

    /// A Redis on a port of its own, without persistence; a replica of `primary` if given.
    fn redis(primary: Option<u16>) -> Self {
        let port = free_port();
        let port_text = port.to_string();
        let mut args = vec![
            "--bind",
            "127.0.0.1",
            "--port",
            &port_text,
            "--save",
            "",
            "--appendonly",
            "no",
            "--repl-diskless-sync-delay",
            "0",
        ];
        let replica_of = primary.map(|primary| primary.to_string());
        if let Some(primary) = &replica_of {
            args.extend(["--replicaof", "127.0.0.1", primary]);
        }
        Self::start(port, &args)
    }

    /// A Sentinel watching `primary`, its config file (which it rewrites) in `dir`.
    fn sentinel(dir: &Path, primary: u16) -> Self {
        let port = free_port();
        let config = dir.join(format!("sentinel-{port}.conf"));
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\n\
                 sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n\
                 sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n\
                 sentinel failover-timeout {SERVICE} 3000\n\
                 sentinel parallel-syncs {SERVICE} 1\n"
            ),
        )
        .unwrap();
        Self::start(port, &[config.to_str().unwrap(), "--sentinel"])
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// One command through `redis-cli`, its output trimmed.
    fn cli(&self, command: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(command)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits up to `limit` for `condition`, naming `what` if it never holds.
fn until(limit: Duration, what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "{what} not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A primary, a replica in sync with it, and three Sentinels that know both and each other.
struct Replicated {
    _dir: tempfile::TempDir,
    primary: Server,
    replica: Server,
    sentinels: Vec<Server>,
}

impl Replicated {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let primary = Server::redis(None);
        let replica = Server::redis(Some(primary.port));
        until(Duration::from_secs(10), "the replica in sync", || {
            replica
                .cli(&["INFO", "replication"])
                .contains("master_link_status:up")
        });
        let sentinels: Vec<Server> = (0..3)
            .map(|_| Server::sentinel(dir.path(), primary.port))
            .collect();
        // Sentinels find the replica and each other through the primary (hello messages every
        // two seconds); a failover needs them to.
        until(
            Duration::from_secs(15),
            "the Sentinels know each other",
            || {
                sentinels.iter().all(|sentinel| {
                    let others = sentinel.cli(&["SENTINEL", "SENTINELS", SERVICE]);
                    let replicas = sentinel.cli(&["SENTINEL", "REPLICAS", SERVICE]);
                    others.matches("runid").count() == 2
                        && replicas.contains(&replica.port.to_string())
                })
            },
        );
        Self {
            _dir: dir,
            primary,
            replica,
            sentinels,
        }
    }

    /// The app's `REDIS_URL` for these Sentinels.
    fn url(&self) -> String {
        let [first, others @ ..] = self.sentinels.as_slice() else {
            unreachable!("three Sentinels");
        };
        let nodes: String = others
            .iter()
            .map(|sentinel| format!("node=127.0.0.1:{}&", sentinel.port))
            .collect();
        format!(
            "redis-sentinel://127.0.0.1:{}?{nodes}sentinelServiceName={SERVICE}",
            first.port
        )
    }
}

async fn connected(url: &str, min_replicas: u8) -> RedisConnection {
    let redis = RedisConnection::start(url)
        .unwrap()
        .with_min_replicas(min_replicas);
    assert!(redis.wait_until_connected(Duration::from_secs(5)).await);
    redis
}

/// A session with `lines` in its cart.
fn cart_of(lines: u32) -> SessionData {
    let mut data = SessionData::guest();
    for product in 1..=lines {
        data.add_item(
            session_strategies::ProductId(i64::from(product)),
            session_strategies::Quantity::try_from(1).unwrap(),
        )
        .unwrap();
    }
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_is_replaced_within_five_seconds_and_no_acknowledged_write_is_lost() {
    let lost = kill_the_primary_under_writes(1).await;
    assert_eq!(
        lost, 0,
        "acknowledged sessions lost with REDIS_MIN_REPLICAS=1"
    );
}

/// Without waiting for the replica, a write the primary acknowledged just before it died may
/// never have reached the replica: how many, measured (the README's figure), not guessed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_min_replicas_the_writes_a_failover_loses_are_counted() {
    let lost = kill_the_primary_under_writes(0).await;
    println!("failover with REDIS_MIN_REPLICAS=0: {lost} acknowledged sessions lost");
}

/// Writes sessions for two seconds, kills the primary half a second in, and answers how many
/// acknowledged sessions are missing once the client follows the promoted replica.
async fn kill_the_primary_under_writes(min_replicas: u8) -> usize {
    let mut redis = Replicated::start();
    let connection = connected(&redis.url(), min_replicas).await;
    let store = RedisRecords::traced(connection.clone());
    let backend = StoreBackend::new(Strategy::Redis, store.clone(), TTL)
        .with_availability(Arc::new(connection.clone()));
    // Sessions written one after another for two seconds, the primary killed half a second in.
    let writing = tokio::spawn({
        let store = store.clone();
        async move {
            let mut acknowledged = Vec::new();
            let started = Instant::now();
            for lines in (1..=5).cycle() {
                if started.elapsed() > Duration::from_secs(2) {
                    break;
                }
                let mut record = session_record(
                    Id::default(),
                    &cart_of(lines),
                    OffsetDateTime::now_utc() + time::Duration::minutes(30),
                    Strategy::Redis,
                )
                .unwrap();
                if store.create(&mut record).await.is_ok() {
                    acknowledged.push((SessionKey(record.id.to_string()), lines));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            acknowledged
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.primary.kill();
    let killed = Instant::now();
    // The failover itself: the Sentinels promote the replica within 5 s of the kill.
    let replica = redis.replica.port.to_string();
    let promoted = tokio::task::spawn_blocking(move || {
        until(Duration::from_secs(5), "the replica promoted", || {
            let role = Command::new("redis-cli")
                .args(["-p", &replica, "ROLE"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&role.stdout).starts_with("master")
        });
        killed.elapsed()
    });
    let written = writing.await.unwrap();
    assert!(written.len() > 20, "{} sessions written", written.len());
    let probe = &written[0].0;
    // The client follows within a bound of its own: it asks the Sentinels again on each
    // reconnection, up to two seconds apart.
    let mut refused = 0;
    loop {
        let asked = Instant::now();
        let answer = backend.stored(probe).await;
        assert!(
            asked.elapsed() < Duration::from_millis(1500),
            "a request waited {:?}",
            asked.elapsed()
        );
        match answer {
            Ok(_) => break,
            Err(LoadError::Unavailable(_)) => refused += 1,
            other => panic!("during the failover: {other:?}"),
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the client did not follow the failover within 10 s ({refused} requests refused)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answered = killed.elapsed();
    let promoted = promoted.await.unwrap();
    let mut lost = 0;
    for (key, lines) in &written {
        match backend.stored(key).await {
            Ok(Stored::Found(data, _)) => assert_eq!(data.cart.len(), *lines as usize),
            Ok(_) => lost += 1,
            Err(error) => panic!("after the failover: {error}"),
        }
    }
    println!(
        "failover (REDIS_MIN_REPLICAS={min_replicas}): the replica was promoted {} ms after the \
         primary was killed, and the redis strategy answered again after {} ms ({refused} reads \
         refused with 503 meanwhile); {} sessions acknowledged around the kill, {lost} missing",
        promoted.as_millis(),
        answered.as_millis(),
        written.len()
    );
    lost
}

#[tokio::test]
async fn with_min_replicas_a_write_no_replica_received_is_not_confirmed() {
    let primary = Server::redis(None);
    let mut replica = Server::redis(Some(primary.port));
    until(Duration::from_secs(10), "the replica in sync", || {
        replica
            .cli(&["INFO", "replication"])
            .contains("master_link_status:up")
    });
    let url = format!("redis://127.0.0.1:{}", primary.port);
    let store = RedisRecords::traced(connected(&url, 1).await);
    let record = || {
        session_record(
            Id::default(),
            &cart_of(1),
            OffsetDateTime::now_utc() + time::Duration::minutes(30),
            Strategy::Redis,
        )
        .unwrap()
    };
    // Confirmed once the replica answers in time (a loaded host can hold it past the wait).
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Err(error) = store.create(&mut record()).await {
        assert!(Instant::now() < deadline, "never confirmed: {error}");
    }

    replica.kill();
    let mut unconfirmed = record();
    let error = store
        .create(&mut unconfirmed)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("0 of 1 replicas"), "{error}");
    // The primary has it: the answer says only that no replica does.
    assert_eq!(primary.cli(&["EXISTS", &unconfirmed.id.to_string()]), "1");

    // Writes wait on a connection of their own: a read sent while a write waits for the
    // replica that is not there answers at once, not after the wait (fastest of three).
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let mut waiting = record();
        let (written, read_in) = tokio::join!(store.create(&mut waiting), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let asked = Instant::now();
            store.load(&unconfirmed.id).await.unwrap();
            asked.elapsed()
        });
        assert!(written.is_err());
        fastest = fastest.min(read_in);
    }
    assert!(
        fastest < Duration::from_millis(150),
        "a read waited {fastest:?} behind a write's WAIT"
    );

    // Without the setting, the primary alone acknowledges it.
    let alone = RedisRecords::traced(connected(&url, 0).await);
    alone.create(&mut record()).await.unwrap();
}
