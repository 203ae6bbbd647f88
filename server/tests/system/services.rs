//! One session, two services: the shop (served here) and the orders service (`server orders`,
//! a process of its own) that trusts the shop's sessions as the catalogue says, strategy by
//! strategy. Every strategy: log in at the shop, list and place orders at the orders service,
//! log out at the shop, and the orders service refuses the old credential, at once for the
//! stores, within a second for tokens (measured). Then the token checks themselves: no round
//! trip to the shop, a key not in the set, another algorithm, another audience, and a key the
//! shop adds while the orders service runs.

use crate::{
    raw_http::{Reply, Request, Visitor},
    served::Served,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use server::config::{derived_jwt_keys, derived_service_secret, parse_keys, Config};
use session_strategies::{
    backends::jwt::{Algorithm, Claims, JwtSettings, SigningKey, TokenCodec},
    strategy::Trust,
    Strategy,
};
use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The session key both services are started with (128 hex digits).
const SESSION_KEY: &str = "5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a5e55104a";
/// The issuer and audience the shop's tokens name (`server/src/startup/backends.rs`).
const ISSUER: &str = "session-strategies";
const AUDIENCE: &str = "session-strategies-shop";

/// The shop's configuration for these tests: a known session key (the orders service is given
/// it too), and the JWT keys and service credential derived from it.
fn shop_config(config: &mut Config) {
    config.session_keys = parse_keys("SESSION_KEYS", SESSION_KEY).unwrap();
    config.jwt_keys = derived_jwt_keys(&config.session_keys);
    config.service_secret = derived_service_secret(&config.session_keys);
}

/// `server orders`, stopped when dropped.
struct OrdersService {
    child: Child,
    port: u16,
}

impl OrdersService {
    fn start(shop_port: u16, data_dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(data_dir.join("orders.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("orders")
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env("ORDERS_ADDR", format!("127.0.0.1:{port}"))
            .env("SHOP_URL", format!("http://127.0.0.1:{shop_port}"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}?mode=rw", data_dir.join("shop.db").display()),
            )
            .env("DATA_DIR", data_dir)
            .env("SESSION_KEYS", SESSION_KEY)
            .env("INSTANCE_ID", "orders-1")
            .env("SERVER_THREADS", "1")
            .env("RUST_LOG", "warn")
            .env_remove("SESSION_KEY")
            .env_remove("SERVICE_SECRET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("server orders starts");
        let mut orders = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = orders.child.try_wait() {
                let log = std::fs::read_to_string(data_dir.join("orders.log"));
                panic!("server orders exited ({status}): {log:?}");
            }
            assert!(
                Instant::now() < deadline,
                "the orders service never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        orders
    }

    fn health(&self) -> Value {
        let reply = Request::new("GET", "/api/v1/orders/health").send(self.port);
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("x-instance"), Some("orders-1"));
        reply.body
    }

    /// `method /api/v1/orders` as `visitor` (its cookies and URL token) sends it.
    fn orders(&self, visitor: &Visitor, method: &str) -> Reply {
        let mut at_orders = Visitor {
            port: self.port,
            ..visitor.clone()
        };
        at_orders.send(method, "/orders", None)
    }

    /// `GET /api/v1/orders` with `token` as a Bearer credential of `strategy`.
    fn with_bearer(&self, strategy: &str, token: &str) -> Reply {
        Request::new("GET", "/api/v1/orders")
            .header("Authorization", &format!("Bearer {token}"))
            .header("X-Session-Strategy", strategy)
            .send(self.port)
    }
}

impl Drop for OrdersService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A visitor of the shop logged in as alice under `strategy`, with a line in the cart.
fn alice_under(shop_port: u16, strategy: Strategy) -> Visitor {
    let mut alice = Visitor::of(shop_port);
    let reply = alice.send(
        "PUT",
        "/session/strategy",
        Some(json!({"strategy": strategy.id()})),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = alice.send(
        "POST",
        "/login",
        Some(json!({"username": "alice", "password": "wonderland"})),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = alice.send(
        "POST",
        "/cart/items",
        Some(json!({"product_id": 3, "quantity": 2})),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    alice
}

/// The shop and the orders service over one data directory, which the caller keeps.
fn both(dir: &Path) -> (Served, OrdersService) {
    let shop = Served::start_in(([127, 0, 0, 1], 0).into(), dir.to_owned(), shop_config);
    let orders = OrdersService::start(shop.port, dir);
    (shop, orders)
}

#[test]
fn every_strategy_is_trusted_as_the_catalogue_says_and_a_logout_reaches_the_orders_service() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, orders) = both(dir.path());
    let health = orders.health();
    let mut learned = Vec::new();
    for strategy in Strategy::ALL {
        let trust = strategy.meta().second_service.trust;
        assert_eq!(
            health["strategies"][strategy.id()],
            trust.method(),
            "{strategy}: the orders service checks it as the catalogue says"
        );
        let mut alice = alice_under(shop.port, strategy);
        let listed = orders.orders(&alice, "GET");
        assert_eq!(listed.header("x-instance"), Some("orders-1"));
        if trust == Trust::Cannot {
            assert_eq!(listed.status, 401, "{strategy}: {}", listed.text);
            assert!(
                listed.body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("one shop process"),
                "{strategy}: the refusal says why: {}",
                listed.text
            );
            continue;
        }
        assert_eq!(listed.status, 200, "{strategy}: {}", listed.text);
        assert_eq!(listed.header("x-session-verified"), Some(trust.method()));
        assert!(
            listed
                .header("server-timing")
                .is_some_and(|timing| timing.starts_with("session;desc=")),
            "{strategy}: the check's time is given"
        );
        let placed = orders.orders(&alice, "POST");
        assert_eq!(placed.status, 200, "{strategy}: {}", placed.text);
        let order_id = placed.body["order_id"].as_i64().expect("an order id");
        assert!(placed.body["total_cents"].as_i64().unwrap() > 0);
        let listed = orders.orders(&alice, "GET");
        assert!(
            listed
                .body
                .as_array()
                .unwrap()
                .iter()
                .any(|order| order["order_id"] == order_id),
            "{strategy}: the order placed is listed: {}",
            listed.text
        );

        let old = alice.clone();
        let reply = alice.send("POST", "/logout", None);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let logged_out = Instant::now();
        let mut refused = orders.orders(&old, "GET");
        while refused.status == 200 && logged_out.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(5));
            refused = orders.orders(&old, "GET");
        }
        let took = logged_out.elapsed();
        assert_eq!(
            refused.status, 401,
            "{strategy}: the old credential still opens orders {took:?} after the logout"
        );
        if trust == Trust::StoreRead || trust == Trust::Introspection {
            assert!(
                took < Duration::from_millis(100),
                "{strategy}: a store read refuses the first request after the logout ({took:?})"
            );
        }
        learned.push(format!("{strategy} {:.1} ms", took.as_secs_f64() * 1000.0));
    }
    println!(
        "a logout reached the orders service after: {}",
        learned.join(", ")
    );
}

/// The claims of a token, read without verifying.
fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).expect("header.payload.signature");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn codec(keys: Vec<SigningKey>, algorithm: Algorithm, audience: &str) -> TokenCodec {
    let settings = JwtSettings {
        keys,
        algorithm,
        issuer: ISSUER.into(),
        audience: audience.into(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(1800),
        refresh_grace: Duration::from_secs(10),
    };
    TokenCodec::new("at+jwt", &settings, 5).unwrap()
}

#[test]
fn a_token_is_checked_without_a_round_trip_and_forged_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, orders) = both(dir.path());
    let alice = alice_under(shop.port, Strategy::Jwt);
    let token = alice.cookies.get("jwt").expect("a jwt cookie").clone();
    assert_eq!(orders.with_bearer("jwt", &token).status, 200);

    // Verified with the keys fetched at start: twenty checks, no fetch.
    let fetched = orders.health()["keys"]["fetches"].as_u64().unwrap();
    for _ in 0..20 {
        let reply = orders.with_bearer("jwt", &token);
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("x-session-verified"), Some("local signature"));
    }
    assert_eq!(
        orders.health()["keys"]["fetches"].as_u64().unwrap(),
        fetched
    );

    let ring = parse_keys("SESSION_KEYS", SESSION_KEY).unwrap();
    let shop_key = derived_jwt_keys(&ring).pop().unwrap();
    let mut claims = claims_of(&token);
    claims.jti = "forged".into();
    // A positive control: the shop's key, algorithm and audience pass.
    let genuine = codec(vec![shop_key.clone()], Algorithm::EdDSA, AUDIENCE)
        .sign(&claims)
        .unwrap();
    assert_eq!(orders.with_bearer("jwt", &genuine).status, 200);

    let other_secret = vec![0x42; 32];
    let forged = [
        (
            "the shop's kid over another key",
            codec(
                vec![SigningKey::new(shop_key.kid.clone(), other_secret.clone()).unwrap()],
                Algorithm::EdDSA,
                AUDIENCE,
            ),
        ),
        (
            "a key not in the set",
            codec(
                vec![SigningKey::new("made-up", other_secret).unwrap()],
                Algorithm::EdDSA,
                AUDIENCE,
            ),
        ),
        (
            "HS256 with the shop's own secret",
            codec(vec![shop_key.clone()], Algorithm::HS256, AUDIENCE),
        ),
        (
            "another audience",
            codec(vec![shop_key], Algorithm::EdDSA, "another-service"),
        ),
    ];
    for (what, codec) in forged {
        let mut claims = claims.clone();
        claims.aud = codec_audience(what);
        let token = codec.sign(&claims).unwrap();
        let reply = orders.with_bearer("jwt", &token);
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
    }
}

/// The audience a forged token names: the shop's, but for the case that forges another.
fn codec_audience(what: &str) -> String {
    if what == "another audience" {
        "another-service"
    } else {
        AUDIENCE
    }
    .into()
}

#[test]
fn a_key_the_shop_adds_is_picked_up_by_the_running_orders_service() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, orders) = both(dir.path());
    let before = orders.health()["keys"].clone();
    assert_eq!(before["kids"].as_array().unwrap().len(), 1);
    let port = shop.port;
    drop(shop);
    // Fetches for unknown keys are at least a second apart; the start's fetch counts.
    std::thread::sleep(session_strategies::crypto::published_keys::REFETCH_AFTER);

    // The shop restarts with a second, newer key; the orders service keeps running.
    let shop = Served::start_in(
        ([127, 0, 0, 1], port).into(),
        dir.path().to_owned(),
        |config| {
            shop_config(config);
            config
                .jwt_keys
                .push(SigningKey::new("rotated", vec![0x17; 32]).unwrap());
        },
    );
    for strategy in [Strategy::Jwt, Strategy::Hybrid] {
        let alice = alice_under(shop.port, strategy);
        let reply = orders.orders(&alice, "GET");
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
    }
    let after = orders.health()["keys"].clone();
    assert_eq!(after["kids"].as_array().unwrap().last().unwrap(), "rotated");
    assert_eq!(
        after["fetches"].as_u64().unwrap(),
        before["fetches"].as_u64().unwrap() + 1,
        "one fetch, for the first token naming the new key"
    );
}
