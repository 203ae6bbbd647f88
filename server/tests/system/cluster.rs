//! The app as a horizontally scaled service, tested against real processes: `server cluster`
//! (the binary this crate builds) starts Redis (a primary and a replica behind three
//! Sentinels), two Memcached nodes, three instances on the test run's PostgreSQL and HAProxy in
//! front; the test talks raw HTTP/1.1 to the load balancer, as a browser would, and to the
//! supervisor's control API to stop instances, restart, flush or kill Redis' primary, stop a
//! Memcached node, restart Memcached and fill it until it evicts. One
//! test walks the scenarios in order, since each changes the cluster the next one sees; it
//! prints what each strategy survived, the table in the README.

use crate::raw_http::{Reply, Request, Visitor};
use app::shop::cluster::SECRET_HEADER;
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const LB_PORT: u16 = 3190;
const STATS_PORT: u16 = 3191;
const CONTROL_PORT: u16 = 3192;
const BASE_PORT: u16 = 3193;
const REDIS_PORT: u16 = 6391;
/// The first Memcached node's; the second listens on the next port.
const MEMCACHED_PORT: u16 = 11391;
/// Memcached sessions per scenario: enough that both nodes hold some.
const MEMCACHED_SHOPPERS: usize = 12;
/// The instances' per-address login limit in this run, low enough to reach in a few requests.
const LOGIN_FAILURES_PER_ADDRESS: u32 = 12;
/// Every strategy of the catalogue, by id.
fn every() -> Vec<&'static str> {
    session_strategies::Strategy::ALL
        .iter()
        .map(|strategy| strategy.id())
        .collect()
}

/// The strategies with a server copy, written with compare-and-set, by id.
fn server_side() -> Vec<&'static str> {
    session_strategies::Strategy::ALL
        .iter()
        .map(|strategy| strategy.meta())
        .filter(|meta| meta.capabilities.server_copy)
        .map(|meta| meta.id)
        .collect()
}

/// A visitor of the load balancer, balanced round robin or sticky.
fn visitor(sticky: bool) -> Visitor {
    let mut visitor = Visitor::of(LB_PORT);
    if sticky {
        visitor.cookies.insert("lb_mode".into(), "sticky".into());
    }
    visitor
}

/// `GET /session`, retried while a store reconnects (503) for up to five seconds.
fn session(visitor: &mut Visitor) -> Reply {
    let started = Instant::now();
    loop {
        let reply = visitor.send("GET", "/session", None);
        if reply.status != 503 || started.elapsed() > Duration::from_secs(5) {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `count` tabs of `visitor` each adding one of products 2 to 11 at once; each thread answers
/// its status.
fn adds_at_once(visitor: &Visitor, count: i64) -> Vec<std::thread::JoinHandle<u16>> {
    (0..count)
        .map(|turn| {
            let mut tab = visitor.clone();
            std::thread::spawn(move || {
                tab.send(
                    "POST",
                    "/cart/items",
                    Some(json!({"product_id": 2 + turn % 10, "quantity": 1})),
                )
                .status
            })
        })
        .collect()
}

/// `request` by `visitor`, sent again while the answer is `503` with `Retry-After` (a store
/// reconnecting after a restart or a failover), for up to five seconds.
fn retrying(visitor: &mut Visitor, method: &str, path: &str, body: Option<Value>) -> Reply {
    let started = Instant::now();
    loop {
        let reply = visitor.send(method, path, body.clone());
        let retry = reply.status == 503 && reply.header("retry-after").is_some();
        if !retry || started.elapsed() > Duration::from_secs(5) {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A visitor under `strategy`, logged in as alice with product 1 in the cart.
fn shopper(strategy: &str, sticky: bool) -> Visitor {
    let mut visitor = visitor(sticky);
    let reply = retrying(
        &mut visitor,
        "PUT",
        "/session/strategy",
        Some(json!({"strategy": strategy})),
    );
    assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
    let reply = retrying(
        &mut visitor,
        "POST",
        "/login",
        Some(json!({"username": "alice", "password": "wonderland"})),
    );
    assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
    let reply = retrying(
        &mut visitor,
        "POST",
        "/cart/items",
        Some(json!({"product_id": 1, "quantity": 1})),
    );
    assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
    visitor
}

/// Whether a session view shows alice with product 1.
fn shows_the_shopper(body: &Value) -> bool {
    body["user"]["username"] == "alice" && has_the_line(body)
}

fn has_the_line(body: &Value) -> bool {
    body["cart"]["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|item| item["product_id"] == 1))
}

/// The running cluster; stopped (SIGTERM: the supervisor stops what it started) when dropped.
struct Cluster {
    supervisor: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.supervisor.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.supervisor.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.supervisor.kill();
    }
}

/// The control API's secret for this test's run.
const CONTROL_SECRET: &str = "the-cluster-tests-own-secret";

fn control(method: &str, path: &str) -> Reply {
    let reply = Request::new(method, path)
        .header(SECRET_HEADER, CONTROL_SECRET)
        .send(CONTROL_PORT);
    assert_eq!(reply.status, 200, "{method} {path}: {}", reply.body);
    reply
}

/// A database of its own on the test run's PostgreSQL.
fn postgres_database() -> String {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_POSTGRES_URL must name a PostgreSQL server (scripts/test.sh starts one)");
    let name = format!("cluster_{}", std::process::id());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("drop database if exists {name}"))
            .execute(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("create database {name}"))
            .execute(&admin)
            .await
            .unwrap();
    });
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn start_cluster() -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("supervisor.log")).unwrap();
    let supervisor = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("cluster")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("DATABASE_URL", postgres_database())
        .env("CLUSTER_PORT", LB_PORT.to_string())
        .env("CLUSTER_STATS_PORT", STATS_PORT.to_string())
        .env("CLUSTER_CONTROL_PORT", CONTROL_PORT.to_string())
        .env("CLUSTER_BASE_PORT", BASE_PORT.to_string())
        .env("CLUSTER_REDIS_PORT", REDIS_PORT.to_string())
        .env("CLUSTER_MEMCACHED_PORT", MEMCACHED_PORT.to_string())
        .env("CLUSTER_CONTROL_SECRET", CONTROL_SECRET)
        .env(
            "LOGIN_FAILURES_PER_ADDRESS",
            LOGIN_FAILURES_PER_ADDRESS.to_string(),
        )
        .env("CLUSTER_DIR", dir.path())
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_OUTPUT_NAME", "session-strategies")
        .env("LEPTOS_ENV", "PROD")
        .env("RUST_LOG", "warn")
        .env_remove("SESSION_KEY")
        .env_remove("SESSION_KEYS")
        .env_remove("REDIS_URL")
        .env_remove("MEMCACHED_URL")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("server cluster starts");
    let mut cluster = Cluster {
        supervisor,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(Some(status)) = cluster.supervisor.try_wait() {
            let log = std::fs::read_to_string(cluster._dir.path().join("supervisor.log"));
            panic!("server cluster exited ({status}): {log:?}");
        }
        if TcpStream::connect(("127.0.0.1", CONTROL_PORT)).is_ok() {
            let state = control("GET", "/state");
            let up = state.body["instances"]
                .as_array()
                .is_some_and(|all| all.iter().all(|instance| instance["state"] == "up"));
            if up && state.body["load_balancer"]["state"] == "up" {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the cluster did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    // HAProxy marks instances up after their first health check.
    wait_until_every_instance_serves();
    cluster
}

/// The supervisor's control API stops and starts processes: no web page the developer visits
/// may reach it. Without the run's secret it refuses; with it, it still refuses a browser's
/// cross-origin request (`Origin`) and a request naming another host (DNS rebinding).
fn the_control_api_answers_only_this_runs_instances() {
    let reply = Request::new("POST", "/redis/flush").send(CONTROL_PORT);
    assert_eq!(reply.status, 401, "no secret: {}", reply.text);
    let reply = Request::new("GET", "/state")
        .header(SECRET_HEADER, "a-guess")
        .send(CONTROL_PORT);
    assert_eq!(reply.status, 401, "a wrong secret: {}", reply.text);
    let reply = Request::new("POST", "/redis/flush")
        .header(SECRET_HEADER, CONTROL_SECRET)
        .header("Origin", "https://evil.example")
        .send(CONTROL_PORT);
    assert_eq!(reply.status, 403, "a cross-origin page: {}", reply.text);
    let reply = Request::new("GET", "/state")
        .header(SECRET_HEADER, CONTROL_SECRET)
        .host(&format!("rebound.evil.example:{CONTROL_PORT}"))
        .send(CONTROL_PORT);
    assert_eq!(reply.status, 403, "a rebound name: {}", reply.text);
}

/// HAProxy forwards the client's address in `X-Forwarded-For`. A client that writes its own
/// header (a new address for every guess) must still be counted as the one address it is:
/// past the per-address limit its logins are refused.
fn a_client_cannot_choose_its_forwarded_address() {
    let statuses: Vec<u16> = (0..LOGIN_FAILURES_PER_ADDRESS + 3)
        .map(|guess| {
            let mut guesser = Visitor::of(LB_PORT);
            let spoofed = format!("10.66.{}.{}", guess / 250, guess % 250 + 1);
            guesser
                .send_with(
                    "POST",
                    "/login",
                    Some(json!({"username": format!("nobody-{guess}"), "password": "guess"})),
                    &[("X-Forwarded-For", spoofed.as_str())],
                )
                .status
        })
        .collect();
    assert!(
        statuses[..LOGIN_FAILURES_PER_ADDRESS as usize]
            .iter()
            .all(|status| *status == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[LOGIN_FAILURES_PER_ADDRESS as usize..]
            .iter()
            .all(|status| *status == 429),
        "every guess came from a new address: {statuses:?}"
    );
}

/// A page on another domain that re-points its name at this machine (DNS rebinding) sends
/// requests that name its own host: the app refuses them, through the load balancer too.
fn requests_for_another_host_are_refused() {
    let reply = Request::new("GET", "/api/v1/session")
        .host(&format!("rebound.evil.example:{LB_PORT}"))
        .send(LB_PORT);
    assert_eq!(reply.status, 400, "{}", reply.text);
    let reply = Request::new("GET", "/api/v1/session")
        .host(&format!("localhost:{LB_PORT}"))
        .send(LB_PORT);
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Until round robin has reached every instance (so HAProxy counts them all up).
fn wait_until_every_instance_serves() {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..9 {
            let reply = Request::new("GET", "/api/v1/health").send(LB_PORT);
            if reply.status == 200 {
                seen.insert(reply.header("x-instance").unwrap_or("").to_owned());
            }
        }
        if seen.len() == 3 {
            return;
        }
        assert!(Instant::now() < deadline, "only {seen:?} serve");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads through the load balancer that show the shopper, of `reads`.
fn reads_that_see(visitor: &mut Visitor, reads: usize) -> usize {
    (0..reads)
        .filter(|_| {
            let reply = session(visitor);
            assert_eq!(reply.status, 200, "{}", reply.body);
            has_the_line(&reply.body)
        })
        .count()
}

#[test]
fn three_instances_behind_haproxy() {
    let _cluster = start_cluster();
    the_control_api_answers_only_this_runs_instances();
    a_client_cannot_choose_its_forwarded_address();
    // The guesses used up this machine's logins for the window: start the scenarios afresh.
    control("POST", "/redis/flush");
    requests_for_another_host_are_refused();
    orders_go_to_the_orders_service();
    let mut survived: BTreeMap<&str, Vec<String>> = BTreeMap::new();

    // Every strategy × both modes: log in, add a line, then 30 reads.
    for strategy in every() {
        for sticky in [false, true] {
            let mut visitor = shopper(strategy, sticky);
            let seen = reads_that_see(&mut visitor, 30);
            let mode = if sticky { "sticky" } else { "round robin" };
            if strategy == "memory" && !sticky {
                assert!(seen > 0 && seen < 30, "memory, round robin: {seen} of 30");
            } else {
                assert_eq!(seen, 30, "{strategy}, {mode}");
            }
            survived
                .entry(strategy)
                .or_default()
                .push(format!("{seen}/30"));
            if strategy == "redis" && !sticky {
                // The inspector's trace follows the session across instances (kept in Redis).
                let reply = visitor.send("GET", "/inspect", None);
                let instances: std::collections::BTreeSet<&str> = reply.body["trace"]
                    .as_array()
                    .expect("a trace")
                    .iter()
                    .filter_map(|request| request["instance"].as_str())
                    .collect();
                assert_eq!(
                    instances.len(),
                    3,
                    "round robin spreads the trace: {instances:?}"
                );
            }
        }
    }

    // Stop the instance that holds a sticky memory session.
    let mut visitors: Vec<(&str, Visitor)> = every()
        .iter()
        .map(|&strategy| (strategy, shopper(strategy, true)))
        .collect();
    let holder = session(&mut visitors[0].1);
    let instance = holder.header("x-instance").expect("X-Instance").to_owned();
    control("POST", &format!("/instances/{instance}/stop"));
    for (strategy, visitor) in &mut visitors {
        let reply = session(visitor);
        assert!(reply.status < 500, "{strategy}: {}", reply.status);
        let kept = shows_the_shopper(&reply.body);
        if *strategy == "memory" {
            assert!(!kept, "memory: the stopped instance's session is gone");
            assert!(
                ["session_invalid", "session_expired"]
                    .contains(&reply.body["notice"].as_str().unwrap_or("")),
                "memory: a notice says so: {}",
                reply.body
            );
        } else {
            assert!(
                kept,
                "{strategy}: kept when an instance stops: {}",
                reply.body
            );
        }
        survived.entry(strategy).or_default().push(verdict(kept));
    }
    control("POST", &format!("/instances/{instance}/start"));
    wait_until_every_instance_serves();

    // Restart every instance.
    let mut visitors: Vec<(&str, Visitor)> = every()
        .iter()
        .map(|&strategy| (strategy, shopper(strategy, true)))
        .collect();
    control("POST", "/restart-all");
    wait_until_every_instance_serves();
    for (strategy, visitor) in &mut visitors {
        let reply = session(visitor);
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
        let kept = shows_the_shopper(&reply.body);
        assert_eq!(
            kept,
            *strategy != "memory",
            "{strategy} after restarting all: {}",
            reply.body
        );
        survived.entry(strategy).or_default().push(verdict(kept));
    }

    // Restart Redis: its append-only file brings every key back.
    let mut visitors: Vec<(&str, Visitor)> = every()
        .iter()
        .map(|&strategy| (strategy, shopper(strategy, true)))
        .collect();
    std::thread::sleep(Duration::from_millis(1100)); // appendfsync everysec
    control("POST", "/redis/restart");
    for (strategy, visitor) in &mut visitors {
        let reply = session(visitor);
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
        let kept = shows_the_shopper(&reply.body);
        assert!(kept, "{strategy} after a Redis restart: {}", reply.body);
        survived.entry(strategy).or_default().push(verdict(kept));
    }

    // Flush Redis: redis sessions gone with a notice; cache-aside and revocations held in SQL.
    let mut visitors: Vec<(&str, Visitor)> = every()
        .iter()
        .map(|&strategy| (strategy, shopper(strategy, true)))
        .collect();
    let mut revoked = shopper("jwt", false);
    let stolen = revoked.clone();
    assert_eq!(revoked.send("POST", "/logout", None).status, 200);
    control("POST", "/redis/flush");
    for (strategy, visitor) in &mut visitors {
        let reply = session(visitor);
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
        let kept = shows_the_shopper(&reply.body);
        if *strategy == "redis" {
            assert!(!kept, "redis: a flush deletes its sessions");
            assert_eq!(reply.body["notice"], "session_invalid", "{}", reply.body);
        } else {
            assert!(kept, "{strategy} after a Redis flush: {}", reply.body);
        }
        survived.entry(strategy).or_default().push(verdict(kept));
    }
    let mut stolen = stolen;
    let reply = session(&mut stolen);
    assert_eq!(
        reply.body["user"],
        Value::Null,
        "a flush never un-revokes: {}",
        reply.body
    );

    // Stop one Memcached node: the sessions it holds answer 503 while it is away and are gone
    // once it is back, empty; the other node's stay. Nothing else touches Memcached.
    let mut held: Vec<Visitor> = (0..MEMCACHED_SHOPPERS)
        .map(|_| shopper("memcached", false))
        .collect();
    let mut visitors = others_than("memcached");
    control("POST", "/memcached/memcached-1/stop");
    let on_the_stopped_node: Vec<bool> = held
        .iter_mut()
        .map(|visitor| {
            let reply = visitor.send("GET", "/session", None);
            match reply.status {
                503 => {
                    assert_eq!(reply.error_code(), "strategy_unavailable");
                    true
                }
                200 => {
                    assert!(shows_the_shopper(&reply.body), "{}", reply.body);
                    false
                }
                other => panic!("memcached with a node down: {other} {}", reply.text),
            }
        })
        .collect();
    let lost = on_the_stopped_node.iter().filter(|lost| **lost).count();
    assert!(
        lost > 0 && lost < MEMCACHED_SHOPPERS,
        "{lost} of {MEMCACHED_SHOPPERS} on the stopped node"
    );
    control("POST", "/memcached/memcached-1/start");
    std::thread::sleep(Duration::from_millis(1100)); // the instances try a failed node again
    for (visitor, lost) in held.iter_mut().zip(&on_the_stopped_node) {
        let reply = session(visitor);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(shows_the_shopper(&reply.body), !lost, "{}", reply.body);
        if *lost {
            assert_eq!(reply.body["notice"], "session_invalid", "{}", reply.body);
        }
    }
    let kept = MEMCACHED_SHOPPERS - lost;
    survived.entry("memcached").or_default().push(format!(
        "{kept}/{MEMCACHED_SHOPPERS} kept (the other node's)"
    ));
    every_other_session_is_kept(&mut visitors, &mut survived, "a Memcached node stop");

    // Restart Memcached: it keeps nothing.
    let mut held: Vec<Visitor> = (0..3).map(|_| shopper("memcached", false)).collect();
    let mut visitors = others_than("memcached");
    control("POST", "/memcached/restart");
    std::thread::sleep(Duration::from_millis(1100));
    for visitor in &mut held {
        let reply = session(visitor);
        assert!(!shows_the_shopper(&reply.body), "{}", reply.body);
        assert_eq!(reply.body["notice"], "session_invalid", "{}", reply.body);
    }
    survived
        .entry("memcached")
        .or_default()
        .push(verdict(false));
    every_other_session_is_kept(&mut visitors, &mut survived, "a Memcached restart");

    // Fill Memcached until it evicts: the idle visitor's session goes long before its expiry;
    // Redis, at its own limit, would refuse writes instead of evicting anyone's session.
    let mut idle = shopper("memcached", true);
    let mut visitors = others_than("memcached");
    let victim = idle.cookies["sid"].clone();
    control("POST", &format!("/memcached/fill?victim={victim}"));
    let reply = session(&mut idle);
    assert!(!shows_the_shopper(&reply.body), "{}", reply.body);
    assert_eq!(reply.body["notice"], "session_invalid", "{}", reply.body);
    survived
        .entry("memcached")
        .or_default()
        .push("evicted, with a notice".into());
    every_other_session_is_kept(&mut visitors, &mut survived, "Memcached filling up");
    let policy = redis_eviction_policy();
    assert_eq!(
        policy, "noeviction",
        "the cluster's Redis never evicts a session"
    );
    // A full Memcached may refuse a session that grows into a size class it has no memory left
    // for ("out of memory"): the next scenarios start from an empty one.
    control("POST", "/memcached/restart");
    std::thread::sleep(Duration::from_millis(1100));

    the_redis_primary_dies_under_writes(&mut survived);

    // 100 concurrent adds on one session (sticky for memory, round robin for the rest).
    for strategy in server_side() {
        let visitor = shopper(strategy, strategy == "memory");
        for add in adds_at_once(&visitor, 100) {
            assert_eq!(add.join().unwrap(), 200, "{strategy}");
        }
        let reply = session(&mut visitor.clone());
        let added: i64 = reply.body["cart"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["product_id"] != 1)
            .map(|item| item["quantity"].as_i64().unwrap())
            .sum();
        assert_eq!(added, 100, "{strategy}: every concurrent add landed");
        survived
            .entry(strategy)
            .or_default()
            .push(format!("{added}/100"));
    }

    // A logout racing 50 writes: afterwards the old credential never loads again.
    for strategy in server_side() {
        let mut visitor = shopper(strategy, strategy == "memory");
        let writes = adds_at_once(&visitor, 50);
        let old = visitor.clone();
        assert_eq!(
            visitor.send("POST", "/logout", None).status,
            200,
            "{strategy}"
        );
        for write in writes {
            let status = write.join().unwrap();
            assert!([200, 409].contains(&status), "{strategy}: {status}");
        }
        for _ in 0..6 {
            let reply = session(&mut old.clone());
            assert_eq!(
                reply.body["user"],
                Value::Null,
                "{strategy}: {}",
                reply.body
            );
        }
    }

    println!("\n| strategy | 30 reads, round robin | 30 reads, sticky | instance stop | restart all | Redis restart | Redis flush | Memcached node stop | Memcached restart | Memcached full | Redis primary killed | 100 concurrent adds |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for strategy in every() {
        let row = survived.get(strategy).cloned().unwrap_or_default();
        let mut cells = row.clone();
        if !server_side().contains(&strategy) {
            cells.push("last response wins".into());
        }
        println!("| {strategy} | {} |", cells.join(" | "));
    }
}

/// Orders through the load balancer: `/api/v1/orders` reaches both instances of the orders
/// service, the shop's checkout places its order there, and with one of them stopped every
/// order call still answers, from the other.
fn orders_go_to_the_orders_service() {
    let mut visitor = shopper("redis", false);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let reply = retrying(&mut visitor, "GET", "/orders", None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.header("x-session-verified"), Some("store read"));
        seen.insert(reply.header("x-instance").unwrap_or_default().to_owned());
    }
    assert_eq!(
        seen.iter().map(String::as_str).collect::<Vec<_>>(),
        ["orders-1", "orders-2"],
        "round robin over the orders service"
    );
    let checkout = retrying(&mut visitor, "POST", "/checkout", None);
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    let placed_by = checkout.body["orders_service"]["instance"]
        .as_str()
        .unwrap();
    assert!(placed_by.starts_with("orders-"), "{}", checkout.body);

    assert_eq!(control("POST", "/instances/orders-1/stop").status, 200);
    for _ in 0..6 {
        let reply = visitor.send("GET", "/orders", None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.header("x-instance"), Some("orders-2"));
    }
    assert_eq!(control("POST", "/instances/orders-1/start").status, 200);
}

/// The Redis primary is killed (`SIGKILL`) while 100 cart adds, spread over two seconds, go
/// to a `redis` and a `cache-aside` session through the load balancer: the Sentinels promote
/// the replica within 5 s; every add answered 200 is in the cart afterwards (with
/// `REDIS_MIN_REPLICAS=1`, the instances' setting here); every strategy's session is kept; a
/// logout made during the failover holds. The killed node then rejoins as a replica.
fn the_redis_primary_dies_under_writes(survived: &mut BTreeMap<&'static str, Vec<String>>) {
    let mut visitors: Vec<(&str, Visitor)> = every()
        .iter()
        .map(|&strategy| (strategy, shopper(strategy, true)))
        .collect();
    let writers: Vec<(&str, Visitor)> = ["redis", "cache-aside"]
        .into_iter()
        .map(|strategy| (strategy, shopper(strategy, false)))
        .collect();
    let mut leaving = shopper("redis", false);
    let left = leaving.clone();
    let adds: Vec<Vec<std::thread::JoinHandle<Reply>>> = writers
        .iter()
        .map(|(_, writer)| {
            (0..100)
                .map(|turn| {
                    let mut tab = writer.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(20 * turn as u64));
                        tab.send(
                            "POST",
                            "/cart/items",
                            Some(json!({"product_id": 2 + turn % 10, "quantity": 1})),
                        )
                    })
                })
                .collect()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let state = control("POST", "/redis/kill-primary");
    let failover = &state.body["failover"];
    let killed = failover["killed"]
        .as_str()
        .expect("a node was killed")
        .to_owned();
    assert!(failover["promoted"].is_string(), "no promotion: {failover}");
    let after_ms = failover["after_ms"].as_u64().unwrap();
    assert!(after_ms < 5_000, "the failover took {after_ms} ms");
    let back = failover["redis_back_after_ms"]
        .as_u64()
        .expect("the instances found the new primary");
    println!(
        "Redis failover: {killed} killed, {} promoted after {after_ms} ms, redis sessions \
         available again after {back} ms",
        failover["promoted"]
    );

    // A logout while the instances find the new primary: retried until it is answered.
    let deadline = Instant::now() + Duration::from_secs(15);
    while leaving.send("POST", "/logout", None).status != 200 {
        assert!(Instant::now() < deadline, "the logout never went through");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Each add answered 200 showed the cart it left: the cart at the end holds at least as
    // many of each product as any of those showed.
    let quantities = |body: &Value| -> BTreeMap<i64, i64> {
        body["cart"]["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        let id = item["product_id"].as_i64().unwrap();
                        (id, item["quantity"].as_i64().unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for ((strategy, writer), adds) in writers.iter().zip(adds) {
        let replies: Vec<Reply> = adds.into_iter().map(|add| add.join().unwrap()).collect();
        let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
        assert!(
            statuses.iter().all(|status| [200, 503].contains(status)),
            "{strategy}: {statuses:?}"
        );
        let mut acknowledged: BTreeMap<i64, i64> = BTreeMap::new();
        for reply in replies.iter().filter(|reply| reply.status == 200) {
            for (product, quantity) in quantities(&reply.body) {
                let most = acknowledged.entry(product).or_default();
                *most = (*most).max(quantity);
            }
        }
        let held = quantities(&session(&mut writer.clone()).body);
        for (product, quantity) in &acknowledged {
            assert!(
                held.get(product).copied().unwrap_or(0) >= *quantity,
                "{strategy}: product {product} acknowledged at {quantity}, {held:?} at the end"
            );
        }
        let answered_ok = statuses.iter().filter(|status| **status == 200).count();
        let added: i64 = held
            .iter()
            .filter(|(id, _)| **id != 1)
            .map(|(_, q)| q)
            .sum();
        println!(
            "{strategy}: {answered_ok} of 100 adds answered 200 during the failover, {added} in the cart"
        );
    }
    every_other_session_is_kept(&mut visitors, survived, "the primary was killed");
    for _ in 0..6 {
        let reply = session(&mut left.clone());
        assert_eq!(
            reply.body["user"],
            Value::Null,
            "a logout came back: {}",
            reply.body
        );
    }

    // The killed node comes back as a replica of the promoted one.
    let state = control("POST", &format!("/redis/{killed}/start"));
    let node = state.body["redis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["name"] == killed.as_str())
        .cloned()
        .unwrap();
    assert_eq!(node["state"], "up", "{node}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = control("GET", "/state");
        let nodes = state.body["redis"].as_array().unwrap().clone();
        let in_sync = |node: &Value| node["role"] == "replica" && node["lag_bytes"] == 0;
        if nodes.iter().any(|node| node["role"] == "primary") && nodes.iter().any(in_sync) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{killed} did not rejoin as a replica: {nodes:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A sticky shopper under every strategy but `except`.
fn others_than(except: &str) -> Vec<(&'static str, Visitor)> {
    every()
        .into_iter()
        .filter(|strategy| *strategy != except)
        .map(|strategy| (strategy, shopper(strategy, true)))
        .collect()
}

/// Every one of `visitors` still sees the shopper after `what`.
fn every_other_session_is_kept(
    visitors: &mut [(&'static str, Visitor)],
    survived: &mut BTreeMap<&'static str, Vec<String>>,
    what: &str,
) {
    for (strategy, visitor) in visitors {
        let reply = session(visitor);
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.body);
        let kept = shows_the_shopper(&reply.body);
        assert!(kept, "{strategy} after {what}: {}", reply.body);
        survived.entry(strategy).or_default().push(verdict(kept));
    }
}

/// The cluster's Redis eviction policy, as Redis reports it.
fn redis_eviction_policy() -> String {
    let out = Command::new("redis-cli")
        .args([
            "-p",
            &REDIS_PORT.to_string(),
            "CONFIG",
            "GET",
            "maxmemory-policy",
        ])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

fn verdict(kept: bool) -> String {
    if kept { "kept" } else { "lost, with a notice" }.to_owned()
}
