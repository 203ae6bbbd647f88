//! The attacker's side: raw HTTP against a served app (and, in `cluster.rs`, the load balancer
//! and the supervisor), each test a way in that must stay shut (`docs/SECURITY.md`).

use crate::{
    raw_http::{Request, Visitor},
    served::Served,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::json;

/// The session id inside a signed-URL token: the first 16 bytes of its signed body, as the
/// `sid` cookie writes an id.
fn id_inside(token: &str) -> String {
    let (body, _) = token.split_once('.').expect("body.tag");
    let body = URL_SAFE_NO_PAD.decode(body).expect("base64url");
    URL_SAFE_NO_PAD.encode(&body[..16])
}

/// A URL token leaked from a history, a log or a Referer names a session id in clear. Sent
/// as a `sid` cookie under any store-backed strategy it must open nothing: no signature or
/// expiry would have been checked.
#[test]
fn a_leaked_url_token_is_not_a_session_id() {
    let served = Served::start(|_| {});
    let alice = Visitor::alice_under(served.port, "signed-url");
    let token = alice.url_token.clone().expect("a URL token");
    let sid = id_inside(&token);
    for strategy in session_strategies::Strategy::ALL {
        let reply = Request::new("GET", "/api/v1/session")
            .header("Cookie", &format!("sid={sid}"))
            .header("X-Session-Strategy", strategy.id())
            .send(served.port);
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        assert_eq!(
            reply.body["user"],
            serde_json::Value::Null,
            "{strategy}: the URL's session opened as a sid: {}",
            reply.text
        );
    }
    // The token itself still works, through its own strategy only.
    let mut alice = alice;
    let reply = alice.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice", "{}", reply.text);
}

/// A page on another site auto-submits a form to the shop; the browser attaches the victim's
/// cookies. A bare `?s` (or a URL token that does not verify) on the URL must not pass the
/// request off as carried by the URL.
#[test]
fn a_query_string_does_not_exempt_a_forged_request() {
    let served = Served::start(|_| {});
    let victim = Visitor::alice_under(served.port, "memory");
    let cookies = victim.cookie_header().expect("the victim's cookies");
    let forged = |target: &str, body: serde_json::Value| {
        Request::new("POST", target)
            .header("Cookie", &cookies)
            .header("Origin", "https://evil.example")
            .json(body)
            .send(served.port)
    };
    for query in ["?s", "?s=", "?s=not.a-token"] {
        let reply = forged(
            &format!("/api/v1/cart/items{query}"),
            json!({"product_id": 1, "quantity": 5}),
        );
        assert_eq!(reply.status, 403, "{query}: {}", reply.text);
        assert_eq!(reply.error_code(), "csrf", "{query}");
        let reply = forged(
            &format!("/api/v1/login{query}"),
            json!({"username": "bob", "password": "builder"}),
        );
        assert_eq!(
            reply.status, 403,
            "login CSRF through {query}: {}",
            reply.text
        );
    }
    let mut victim = victim;
    let reply = victim.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice");
    assert_eq!(reply.body["cart"]["count"], 1, "{}", reply.text);
}

/// A forger holds a URL token that verifies: their own, logged in as bob. A form on their site
/// that carries it switches the victim's browser to a cookie strategy, which would leave it
/// logged in as bob (their orders and cart the forger's to read). Refused, as is logging in
/// through it.
#[test]
fn a_forgers_own_url_token_does_not_exempt_a_forged_request() {
    let served = Served::start(|_| {});
    let mut forger = Visitor::of(served.port);
    forger.send(
        "PUT",
        "/session/strategy",
        Some(json!({"strategy": "signed-url"})),
    );
    let reply = forger.send(
        "POST",
        "/login",
        Some(json!({"username": "bob", "password": "builder"})),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let token = forger.url_token.clone().expect("the forger's URL token");
    let victim = Visitor::alice_under(served.port, "memory");
    let cookies = victim.cookie_header().expect("the victim's cookies");
    for (endpoint, form) in [
        ("strategy", "strategy=cookie"),
        ("login", "username=bob&password=builder"),
    ] {
        let target = format!("/sfn/{endpoint}?s={token}");
        let mut request = Request::new("POST", &target)
            .header("Cookie", &cookies)
            .header("Sec-Fetch-Site", "cross-site")
            .header("Content-Type", "application/x-www-form-urlencoded");
        request.body = Some(form.into());
        let reply = request.send(served.port);
        assert_eq!(reply.status, 403, "{endpoint}: {}", reply.text);
        assert!(
            reply.set_cookies().is_empty(),
            "{endpoint}: {:?}",
            reply.headers
        );
    }
    let mut victim = victim;
    let reply = victim.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice", "{}", reply.text);
}

/// The cluster controls act on this machine's processes, not on a session: a cross-site form
/// is refused even when it carries a URL token that verifies.
#[test]
fn the_cluster_controls_refuse_every_cross_site_request() {
    let served = Served::start(|_| {});
    let mut holder = Visitor::of(served.port);
    holder.send(
        "PUT",
        "/session/strategy",
        Some(json!({"strategy": "signed-url"})),
    );
    let token = holder.url_token.clone().expect("a URL token that verifies");
    for endpoint in ["cluster_act", "cluster_mode"] {
        let target = format!("/sfn/{endpoint}?s={token}");
        let mut request = Request::new("POST", &target).header("Origin", "https://evil.example");
        request.body = Some("what=restart-all&mode=sticky".into());
        let request = request.header("Content-Type", "application/x-www-form-urlencoded");
        let reply = request.send(served.port);
        assert_eq!(reply.status, 403, "{endpoint}: {}", reply.text);
    }
}

/// 200 wrong passwords for one user sent at once. Checked before and counted after the
/// password hash, every one of them passed the check; counted first, at most the limit get as
/// far as the password.
#[test]
fn guesses_sent_at_once_get_no_further_than_guesses_sent_in_turn() {
    let served = Served::start(|_| {});
    let target = served.add_user("guessed", "correct horse");
    let port = served.port;
    let guesses: Vec<std::thread::JoinHandle<u16>> = (0..200)
        .map(|guess| {
            let target = target.clone();
            std::thread::spawn(move || {
                Visitor::of(port)
                    .send(
                        "POST",
                        "/login",
                        Some(json!({"username": target, "password": format!("guess-{guess}")})),
                    )
                    .status
            })
        })
        .collect();
    let statuses: Vec<u16> = guesses
        .into_iter()
        .map(|guess| guess.join().unwrap())
        .collect();
    let wrong = statuses.iter().filter(|status| **status == 401).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(wrong + refused, 200, "{statuses:?}");
    let limit = app::shop::LoginLimits::default().per_username as usize;
    assert!(wrong <= limit, "{wrong} guesses reached the password check");
}

/// Anyone who knows a username can use up its login limit. The owner keeps a way in: a browser
/// they logged in from before (it holds a known-device cookie) logs in all the same, and so does
/// a magic link; a new browser of the owner's waits, and says so.
#[test]
fn a_locked_username_still_lets_its_owner_in_from_a_known_device() {
    let served = Served::start(|_| {});
    let owner_name = served.add_user("owner", "her own password");
    let other_name = served.add_user("other", "his own password");
    let login = |name: &str, password: &str| json!({"username": name, "password": password});
    let mut owner = Visitor::of(served.port);
    let reply = owner.send(
        "POST",
        "/login",
        Some(login(&owner_name, "her own password")),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(owner.cookies.contains_key("device"), "{:?}", owner.cookies);
    owner.send("POST", "/logout", None);
    for guess in 0..15 {
        Visitor::of(served.port).send(
            "POST",
            "/login",
            Some(login(&owner_name, &format!("guess-{guess}"))),
        );
    }
    let mut stranger = Visitor::of(served.port);
    let reply = stranger.send(
        "POST",
        "/login",
        Some(login(&owner_name, "her own password")),
    );
    assert_eq!(reply.status, 429, "a new browser waits: {}", reply.text);
    assert!(reply.header("retry-after").is_some());
    let reply = owner.send(
        "POST",
        "/login",
        Some(login(&owner_name, "her own password")),
    );
    assert_eq!(
        reply.status, 200,
        "the owner's known device: {}",
        reply.text
    );
    // The owner's device cookie says nothing about another user.
    let mut borrowed = owner.clone();
    for guess in 0..15 {
        borrowed.send(
            "POST",
            "/login",
            Some(login(&other_name, &format!("guess-{guess}"))),
        );
    }
    let reply = borrowed.send(
        "POST",
        "/login",
        Some(login(&other_name, "his own password")),
    );
    assert_eq!(reply.status, 429, "{}", reply.text);
}

/// `/compare` saves and deletes throwaway sessions in every store. A made-up credential per
/// request must not earn a fresh ration, and measuring must write nothing to the shared
/// revocation ledger (SQL, Redis, every instance's mirror).
#[test]
fn compare_is_rationed_per_address_and_leaves_the_ledger_alone() {
    let served = Served::start(|config| config.measurements_per_minute = 5);
    let ledger_rows = || {
        let url = format!(
            "sqlite://{}?mode=ro",
            served.data_dir.join("shop.db").display()
        );
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let families: i64 = sqlx::query_scalar("SELECT count(*) FROM revoked_families")
                .fetch_one(&pool)
                .await
                .unwrap();
            let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
                .fetch_one(&pool)
                .await
                .unwrap();
            (families, tokens)
        })
    };
    let alice = Visitor::alice_under(served.port, "jwt");
    let before = ledger_rows();
    let statuses: Vec<u16> = (0..8)
        .map(|attempt| {
            Request::new("GET", "/api/v1/compare")
                .header("Cookie", &format!("sid=made-up-{attempt}"))
                .send(served.port)
                .status
        })
        .collect();
    assert_eq!(&statuses[..5], [200; 5], "{statuses:?}");
    assert_eq!(&statuses[5..], [429; 3], "{statuses:?}");
    assert_eq!(
        ledger_rows(),
        before,
        "measuring wrote to the shared ledger"
    );
    drop(alice);
}

/// The `memory` strategy keeps sessions in this process: anyone can make one (a cart line is
/// enough), so it holds at most so many, and past that refuses new ones rather than grow.
#[test]
fn the_memory_store_is_bounded() {
    let served = Served::start(|config| config.memory_sessions_max = 3);
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            Visitor::of(served.port)
                .send(
                    "POST",
                    "/cart/items",
                    Some(json!({"product_id": 1, "quantity": 1})),
                )
                .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 503, 503]);
}

/// Every made-up credential used to start a trace ring, and with shared traces a Redis key that
/// lived half an hour: a loop of random URL tokens filled Redis. Only a credential that opened
/// a session names a ring. Tried in every carrier of every strategy.
#[test]
fn made_up_credentials_leave_no_trace_behind() {
    let served = Served::start(|config| config.shared_traces = true);
    let traces = || -> usize {
        let port = std::env::var("TEST_REDIS_PORT").unwrap_or_else(|_| "6379".into());
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &port, "--scan", "--pattern", "trace:*"])
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let before = traces();
    let strategies = Request::new("GET", "/api/v1/strategies")
        .send(served.port)
        .body;
    for strategy in strategies.as_array().unwrap() {
        let id = strategy["id"].as_str().unwrap();
        for carrier in strategy["credentials"].as_array().unwrap() {
            let name = carrier["name"].as_str().unwrap();
            for attempt in 0..5 {
                let made_up = format!("made-up-{attempt}");
                let in_url = format!("/api/v1/session?{name}={made_up}");
                let request = match carrier["transport"].as_str().unwrap() {
                    "cookie" => Request::new("GET", "/api/v1/session")
                        .header("Cookie", &format!("{name}={made_up}; strategy={id}")),
                    "url" => Request::new("GET", &in_url).header("X-Session-Strategy", id),
                    _ => Request::new("GET", "/api/v1/session")
                        .header("X-Session-Strategy", id)
                        .header("Authorization", &format!("Bearer {made_up}")),
                };
                let reply = request.send(served.port);
                assert!(
                    [200, 401].contains(&reply.status),
                    "{id} {name}: {}",
                    reply.text
                );
            }
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        traces(),
        before,
        "made-up credentials left trace rings in Redis"
    );
}

/// A login's row ("Your sessions") outlived its session when it simply expired. Rows go at the
/// absolute timeout, which ends every session however active.
#[test]
fn the_rows_of_logins_that_ended_are_swept() {
    let served = Served::start(|config| {
        config.session_sweep = std::time::Duration::from_secs(1);
        config.session_max_age = std::time::Duration::from_secs(2);
    });
    Visitor::alice_under(served.port, "memory");
    let rows = || -> i64 {
        let url = format!(
            "sqlite://{}?mode=ro",
            served.data_dir.join("shop.db").display()
        );
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM user_sessions")
                .fetch_one(&pool)
                .await
                .unwrap()
        })
    };
    assert_eq!(rows(), 1);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(rows(), 0, "the expired login's row is still there");
}

/// This machine's address on a network, not loopback: a visitor from it is another machine as
/// far as the app can tell.
fn address_on_the_network() -> std::net::IpAddr {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // No packet is sent: connecting a UDP socket only picks the route and the source address.
    probe
        .connect("192.0.2.1:9")
        .expect("this test needs a network interface besides loopback");
    let address = probe.local_addr().unwrap().ip();
    assert!(!address.is_loopback(), "{address}");
    address
}

/// The demo outbox holds every user's login links: it answers visitors on this machine only.
/// Asked from the network, after asking for alice's link, it gives nothing away.
#[test]
fn the_demo_outbox_answers_this_machine_only() {
    let address = address_on_the_network();
    let served = Served::start_on(([0, 0, 0, 0], 0).into(), move |config| {
        config.demo_outbox = true;
        config.allowed_hosts = vec![address.to_string()];
    });
    let remote = std::net::SocketAddr::new(address, served.port);
    let reply = Request::new("POST", "/api/v1/login/magic")
        .json(json!({"username": "alice"}))
        .send_to(remote);
    assert_eq!(reply.status, 202, "{}", reply.text);
    let reply = Request::new("GET", "/api/v1/outbox").send_to(remote);
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(!reply.text.contains("/magic/"), "{}", reply.text);
    let reply = Request::new("GET", "/api/v1/outbox").send(served.port);
    assert_eq!(
        reply.status, 200,
        "this machine still reads it: {}",
        reply.text
    );
    assert!(reply.text.contains("/magic/"), "{}", reply.text);
}

/// Asking for magic links is counted like logins: nobody fills a user's mailbox.
#[test]
fn magic_links_are_rationed() {
    let served = Served::start(|_| {});
    let target = served.add_user("mailbox", "a password");
    let statuses: Vec<u16> = (0..13)
        .map(|_| {
            Request::new("POST", "/api/v1/login/magic")
                .json(json!({"username": target}))
                .send(served.port)
                .status
        })
        .collect();
    assert_eq!(&statuses[..10], [202; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], [429; 3], "{statuses:?}");
}

/// A magic link whose login fails (here: the `memory` strategy's store is full) logged nobody
/// in: it must still work, once.
#[test]
fn a_magic_link_that_logged_nobody_in_still_works() {
    let served = Served::start(|config| config.memory_sessions_max = 1);
    let target = served.add_user("linked", "a password");
    let mut holder = Visitor::of(served.port);
    let reply = holder.send(
        "POST",
        "/cart/items",
        Some(json!({"product_id": 1, "quantity": 1})),
    );
    assert_eq!(
        reply.status, 200,
        "the one session the store holds: {}",
        reply.text
    );
    let reply = Request::new("POST", "/api/v1/login/magic")
        .json(json!({"username": target}))
        .send(served.port);
    assert_eq!(reply.status, 202);
    let outbox = Request::new("GET", "/api/v1/outbox").send(served.port);
    let link = outbox.body[0]["link"]
        .as_str()
        .expect("a mailed link")
        .to_owned();
    let press = |visitor: &mut Visitor| {
        let mut request = Request::new("POST", &link);
        if let Some(cookies) = visitor.cookie_header() {
            request = request.header("Cookie", &cookies);
        }
        let reply = request.send(served.port);
        visitor.keep(&reply);
        reply.header("location").unwrap_or_default().to_owned()
    };
    let mut visitor = Visitor::of(served.port);
    assert_eq!(
        press(&mut visitor),
        "/login?error=strategy_unavailable",
        "the store was full"
    );
    let reply = holder.send("POST", "/logout", None);
    assert_eq!(reply.status, 200);
    assert_eq!(press(&mut visitor), "/", "the link still logs in");
    let reply = visitor.send("GET", "/session", None);
    assert_eq!(
        reply.body["user"]["username"],
        target.as_str(),
        "{}",
        reply.text
    );
    assert_eq!(
        press(&mut Visitor::of(served.port)),
        "/login?error=link_used",
        "used once only"
    );
}

/// What `/health` says of a store that does not answer is for the log, not whoever asks.
#[test]
fn health_names_no_store_error() {
    let served = Served::start(|config| config.redis_url = "redis://127.0.0.1:1".into());
    let reply = Request::new("GET", "/api/v1/health").send(served.port);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body["strategies"]["redis"], "unavailable",
        "{}",
        reply.text
    );
    assert_eq!(reply.body["strategies"]["memory"], "available");
    for leak in ["Redis is", "refused", "os error", "reconnect"] {
        assert!(!reply.text.contains(leak), "{leak}: {}", reply.text);
    }
}

/// A database of its own on the test run's PostgreSQL, and a way to cut the app off from it.
struct OwnDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl OwnDatabase {
    fn create(purpose: &str) -> Self {
        let admin_url = std::env::var("TEST_POSTGRES_URL")
            .expect("TEST_POSTGRES_URL must name a PostgreSQL server (scripts/test.sh starts one)");
        let name = format!("{purpose}_{}", std::process::id());
        let database = Self {
            url: format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0),
            admin_url,
            name,
        };
        database.admin(&[
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", database.name),
            &format!("CREATE DATABASE {}", database.name),
        ]);
        database
    }

    fn admin(&self, statements: &[&str]) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&self.admin_url).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&admin).await.unwrap();
            }
            admin.close().await;
        });
    }

    /// No connection to it from now on, and those open are ended.
    fn cut_off(&self) {
        self.admin(&[
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", self.name),
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                self.name
            ),
        ]);
    }

    fn reconnect(&self) {
        self.admin(&[&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        )]);
    }
}

/// An instance whose revocation mirror cannot read SQL would go on accepting tokens revoked
/// meanwhile. Past three sync periods without SQL it says so (`/health`), and checks ask the
/// ledger itself: with the ledger down too, a token is refused (`503`), never accepted unchecked.
#[test]
fn a_revocation_mirror_that_cannot_read_sql_is_not_trusted() {
    let database = OwnDatabase::create("stale_mirror");
    let url = database.url.clone();
    let served = Served::start(move |config| {
        config.database_url = url;
        config.revocation_sync = std::time::Duration::from_secs(1);
    });
    let mut alice = Visitor::alice_under(served.port, "jwt");
    let health = || Request::new("GET", "/api/v1/health").send(served.port);
    assert_eq!(health().body["revocations"], "current");
    database.cut_off();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let reply = health();
    assert!(
        reply.body["revocations"]
            .as_str()
            .is_some_and(|state| state.starts_with("stale")),
        "{}",
        reply.text
    );
    let reply = alice.send("GET", "/session", None);
    assert_eq!(reply.status, 503, "{}", reply.text);
    database.reconnect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while health().body["revocations"] != "current" {
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror never caught up"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let reply = alice.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice", "{}", reply.text);
}

/// `SESSION_KEYS` rotates the session key without logging anyone out: a cookie and a URL token
/// made under the old key still open, the cookie comes back sealed under the new one, and once
/// the old key is dropped, what only it sealed opens nothing.
#[test]
fn the_session_key_rotates_without_logging_anyone_out() {
    let (old, new) = ("1a".repeat(64), "2b".repeat(64));
    let keys = |list: String| {
        move |config: &mut server::config::Config| {
            config.session_keys = server::config::parse_keys("SESSION_KEYS", &list).unwrap();
            config.jwt_keys = server::config::derived_jwt_keys(&config.session_keys);
        }
    };
    let data = tempfile::tempdir().unwrap();
    let restart = |list: String| {
        Served::start_in(
            ([127, 0, 0, 1], 0).into(),
            data.path().to_owned(),
            keys(list),
        )
    };
    let before = restart(old.clone());
    let alice = Visitor::alice_under(before.port, "cookie");
    let url_holder = Visitor::alice_under(before.port, "signed-url");
    drop(before);

    let rotated = restart(format!("{new},{old}"));
    let mut on_old_cookie = alice.clone();
    on_old_cookie.port = rotated.port;
    let reply = on_old_cookie.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice", "{}", reply.text);
    assert_eq!(reply.body["notice"], serde_json::Value::Null);
    assert_ne!(
        on_old_cookie.cookies["session"], alice.cookies["session"],
        "sealed again under the new key"
    );
    let mut on_old_url = url_holder.clone();
    on_old_url.port = rotated.port;
    let reply = on_old_url.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice", "{}", reply.text);
    drop(rotated);

    let after = restart(new);
    let mut resealed = on_old_cookie.clone();
    resealed.port = after.port;
    let reply = resealed.send("GET", "/session", None);
    assert_eq!(reply.body["user"]["username"], "alice", "{}", reply.text);
    let mut stale = alice.clone();
    stale.port = after.port;
    let reply = stale.send("GET", "/session", None);
    assert_eq!(
        reply.body["user"],
        serde_json::Value::Null,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["notice"], "session_invalid");
}
