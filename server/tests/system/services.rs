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
use server::config::{derived_jwt_keys, derived_service_secrets, parse_keys, Config};
use session_strategies::{
    backends::jwt::{Algorithm, Claims, JwtSettings, SigningKey, TokenCodec, LEEWAY_SECONDS},
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
    config.service_secrets = derived_service_secrets(&config.session_keys);
}

/// `server orders`, stopped when dropped.
struct OrdersService {
    child: Child,
    port: u16,
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OrdersService {
    fn start(port: u16, shop_port: u16, data_dir: &Path) -> Self {
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

/// The shop over `dir` on `port` (0: any free one), configured by [`shop_config`] and then
/// `adjust`, sending its order calls to the orders service on `orders_port`.
fn shop_on(
    port: u16,
    dir: &Path,
    orders_port: u16,
    adjust: impl FnOnce(&mut Config) + Send + 'static,
) -> Served {
    Served::start_in(
        ([127, 0, 0, 1], port).into(),
        dir.to_owned(),
        move |config| {
            shop_config(config);
            config.orders_url = Some(format!("http://127.0.0.1:{orders_port}"));
            adjust(config);
        },
    )
}

/// The shop and the orders service over one data directory, which the caller keeps.
fn both(dir: &Path) -> (Served, OrdersService) {
    let orders_port = free_port();
    let shop = shop_on(0, dir, orders_port, |_| {});
    let orders = OrdersService::start(orders_port, shop.port, dir);
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
        let mut alice = Visitor::alice_under(shop.port, strategy.id());
        let listed = orders.orders(&alice, "GET");
        assert_eq!(listed.header("x-instance"), Some("orders-1"));
        // The shop's own checkout goes through the orders service too.
        let checkout = alice.send("POST", "/checkout", None);
        if trust == Trust::Cannot {
            assert_eq!(checkout.status, 401, "{strategy}: {}", checkout.text);
            assert_eq!(checkout.error_code(), "session_invalid");
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
        assert_eq!(checkout.status, 200, "{strategy}: {}", checkout.text);
        assert_eq!(checkout.body["orders_service"]["instance"], "orders-1");
        assert_eq!(checkout.body["orders_service"]["verified"], trust.method());
        assert_eq!(
            checkout.body["session"]["cart"]["items"],
            json!([]),
            "{strategy}: emptied"
        );
        // The shop's trace names the service that placed the order, and how it checked.
        let inspection = alice.clone().send("GET", "/inspect", None);
        let trace = inspection.body["trace"].to_string();
        assert!(
            trace.contains("orders service orders-1 POST /orders")
                && trace.contains(&format!("200: {} in ", trust.method())),
            "{strategy}: {trace}"
        );
        let reply = alice.send(
            "POST",
            "/cart/items",
            Some(json!({"product_id": 5, "quantity": 1})),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
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
                "{strategy}: a store read or introspection refuses the first request after the logout ({took:?})"
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
    let alice = Visitor::alice_under(shop.port, Strategy::Jwt.id());
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
    let another_key = SigningKey::new(shop_key.kid.clone(), other_secret.clone()).unwrap();
    let made_up = SigningKey::new("made-up", other_secret).unwrap();
    let forged = [
        (
            "the shop's kid over another key",
            another_key,
            Algorithm::EdDSA,
            AUDIENCE,
        ),
        ("a key not in the set", made_up, Algorithm::EdDSA, AUDIENCE),
        (
            "HS256 with the shop's own secret",
            shop_key.clone(),
            Algorithm::HS256,
            AUDIENCE,
        ),
        (
            "another audience",
            shop_key,
            Algorithm::EdDSA,
            "another-service",
        ),
    ];
    for (what, key, algorithm, audience) in forged {
        let mut claims = claims.clone();
        claims.aud = audience.into();
        let token = codec(vec![key], algorithm, audience).sign(&claims).unwrap();
        let reply = orders.with_bearer("jwt", &token);
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
    }
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
    let orders_port = orders.port;
    let shop = shop_on(port, dir.path(), orders_port, |config| {
        config
            .jwt_keys
            .push(SigningKey::new("rotated", vec![0x17; 32]).unwrap());
    });
    let signed = Strategy::ALL
        .into_iter()
        .filter(|strategy| strategy.meta().second_service.trust == Trust::PublicKeys);
    for strategy in signed {
        let alice = Visitor::alice_under(shop.port, strategy.id());
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

/// "Log out everywhere" on one device ends the others' sessions at the orders service too, for
/// every strategy it can check: their records or tokens may outlive the login, the ended login
/// does not.
#[test]
fn a_login_ended_from_another_device_is_refused_by_the_orders_service() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, orders) = both(dir.path());
    let checked = Strategy::ALL
        .into_iter()
        .filter(|strategy| strategy.meta().second_service.trust != Trust::Cannot);
    for strategy in checked {
        let username = shop.add_user(strategy.id(), "a-long-password");
        let login = json!({"username": username, "password": "a-long-password"});
        let mut devices = [Visitor::of(shop.port), Visitor::of(shop.port)];
        for device in &mut devices {
            let body = json!({"strategy": strategy.id()});
            assert_eq!(
                device.send("PUT", "/session/strategy", Some(body)).status,
                200
            );
            let reply = device.send("POST", "/login", Some(login.clone()));
            assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        }
        let [here, elsewhere] = &mut devices;
        assert_eq!(orders.orders(elsewhere, "GET").status, 200, "{strategy}");
        let reply = here.send("POST", "/logout-everywhere", None);
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        // The orders service, as each shop instance, trusts its answer about a login for a
        // second (`revocation::logins::FRESH_FOR`), and hears of ended logins through the
        // ledger's announcements, or at the latest when it reads the ledger again (every 5 s).
        let mut refused = orders.orders(elsewhere, "GET");
        let ended = Instant::now();
        while refused.status == 200 && ended.elapsed() < Duration::from_secs(7) {
            std::thread::sleep(Duration::from_millis(5));
            refused = orders.orders(elsewhere, "GET");
        }
        assert_eq!(refused.status, 401, "{strategy}: {}", refused.text);
        assert_eq!(
            orders.orders(here, "GET").status,
            200,
            "{strategy}: this device stays"
        );
    }
}

/// The orders service is a site of its own to a browser: a state-changing request from
/// another site is refused before the session is read, and every answer carries the shop's
/// security headers and is never cached.
#[test]
fn the_orders_service_refuses_cross_site_requests_and_sends_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, orders) = both(dir.path());
    let alice = Visitor::alice_under(shop.port, Strategy::Redis.id());
    let cookies = alice.cookie_header().unwrap();
    let forged = Request::new("POST", "/api/v1/orders")
        .header("Cookie", &cookies)
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .send(orders.port);
    assert_eq!(forged.status, 403, "{}", forged.text);
    let listed = Request::new("GET", "/api/v1/orders")
        .header("Cookie", &cookies)
        .send(orders.port);
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(listed.header("cache-control"), Some("no-store"));
}

/// A JWT whose access token has expired is refreshed by the shop only: the orders service
/// refuses it without spending the refresh token (spent there, the owner's next use would count
/// as a replay and log them out), and the shop, refreshing it in passing on an order call,
/// forwards the token it has just renewed.
#[test]
fn the_orders_service_never_spends_a_refresh_token() {
    let dir = tempfile::tempdir().unwrap();
    let orders_port = free_port();
    let shop = shop_on(0, dir.path(), orders_port, |config| {
        config.jwt_access_ttl = Duration::from_secs(1);
    });
    let orders = OrdersService::start(orders_port, shop.port, dir.path());
    let mut alice = Visitor::alice_under(shop.port, Strategy::Jwt.id());
    assert_eq!(orders.orders(&alice, "GET").status, 200);
    // Past the token's expiry and the orders service's leeway (its own access tokens' five
    // seconds; the shop forgives one, as long as its tokens live).
    let expiry = claims_of(alice.cookies.get("jwt").unwrap()).exp;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let past = Duration::from_secs((expiry + LEEWAY_SECONDS + 1) as u64).saturating_sub(now);
    std::thread::sleep(past);
    let refused = orders.orders(&alice, "GET");
    assert_eq!(refused.status, 401, "{}", refused.text);
    let listed = alice.send("GET", "/orders", None);
    assert_eq!(
        listed.status, 200,
        "the renewed token is forwarded: {}",
        listed.text
    );
    let session = alice.send("GET", "/session", None);
    assert_eq!(
        session.body["user"]["username"], "alice",
        "{}",
        session.text
    );
}

/// `/cluster`'s live measurement: per strategy, a throwaway session logged out at the shop and
/// refused by the orders service, timed; the strategy the orders service cannot check says so.
#[test]
fn the_shop_measures_how_fast_a_logout_reaches_the_orders_service() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, _orders) = both(dir.path());
    let reply = Request::new("POST", "/sfn/logout_reach")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .send(shop.port);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let measured = reply.body.as_array().expect("one entry per strategy");
    assert_eq!(measured.len(), Strategy::ALL.len(), "{}", reply.text);
    let mut said = Vec::new();
    for entry in measured {
        let strategy: Strategy = entry["strategy"].as_str().unwrap().parse().unwrap();
        if strategy.meta().second_service.trust == Trust::Cannot {
            assert!(entry["micros"].is_null(), "{entry}");
            assert!(
                entry["note"].as_str().unwrap().contains("cannot"),
                "{entry}"
            );
            continue;
        }
        let micros = entry["micros"]
            .as_u64()
            .unwrap_or_else(|| panic!("{entry}"));
        assert!(micros < 1_000_000, "{strategy}: {micros} µs");
        said.push(format!("{strategy} {:.1} ms", micros as f64 / 1000.0));
    }
    println!("measured live: {}", said.join(", "));
}

/// While the session keys rotate, an orders service not yet given the newer key still asks the
/// shop about credentials: the shop accepts the service credential derived from each of its keys.
#[test]
fn an_orders_service_on_the_older_session_key_still_introspects() {
    let newer = "0e".repeat(64);
    let dir = tempfile::tempdir().unwrap();
    let orders_port = free_port();
    let shop = shop_on(0, dir.path(), orders_port, move |config| {
        config.session_keys =
            parse_keys("SESSION_KEYS", &format!("{newer},{SESSION_KEY}")).unwrap();
        config.jwt_keys = derived_jwt_keys(&config.session_keys);
        config.service_secrets = derived_service_secrets(&config.session_keys);
    });
    // Started with the older key alone.
    let orders = OrdersService::start(orders_port, shop.port, dir.path());
    let introspected = Strategy::ALL
        .into_iter()
        .filter(|strategy| strategy.meta().second_service.trust == Trust::Introspection);
    for strategy in introspected {
        let alice = Visitor::alice_under(shop.port, strategy.id());
        let reply = orders.orders(&alice, "GET");
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        assert_eq!(
            reply.header("x-session-verified"),
            Some("introspection call")
        );
    }
}
