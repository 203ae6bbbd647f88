//! `GET /inspect` shows, for every strategy, exactly what the client holds and what the server
//! keeps.

use crate::common::{strategy_ids, Client};
use http::{Method, StatusCode};
use serde_json::Value;
use session_strategies::Strategy;

#[tokio::test]
async fn inspect_shows_where_each_strategy_keeps_the_session() {
    for strategy in strategy_ids().await {
        let strategy = strategy.as_str();
        let mut client = Client::new().await;
        client.switch(strategy).await;
        client.add(3, 2).await;
        let reply = client.send(Method::GET, "/inspect", None).await;
        assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
        let inspection = &reply.body;
        assert_eq!(inspection["strategy"], strategy);
        let artifacts = inspection["client"].as_array().unwrap();
        assert!(!artifacts.is_empty(), "{strategy}: {inspection}");
        let whole = inspection.to_string();
        for artifact in artifacts {
            let name = artifact["name"].as_str().unwrap();
            let held = match artifact["transport"].as_str().unwrap() {
                "cookie" => {
                    assert_eq!(
                        artifact["flags"], "HttpOnly; SameSite=Lax; Path=/",
                        "{strategy}: {name}"
                    );
                    client.cookies[name].clone()
                }
                "url" => client.url_token.clone().unwrap(),
                other => panic!("{strategy}: unexpected transport {other}"),
            };
            let bytes = artifact["bytes"].as_u64().unwrap() as usize;
            assert_eq!(bytes, name.len() + 1 + held.len(), "{strategy}: {name}");
            let preview = artifact["preview"].as_str().unwrap();
            let (head, tail) = preview.split_once('…').unwrap();
            assert!(
                held.starts_with(head) && held.ends_with(tail),
                "{strategy}: {preview}"
            );
            // The page may show it; it must not be able to replay it.
            assert!(!whole.contains(&held), "{strategy}: {name} appears whole");
        }
        let server = &inspection["server"];
        let server_copy = strategy
            .parse::<Strategy>()
            .unwrap()
            .meta()
            .capabilities
            .server_copy;
        match server_copy {
            false => assert_eq!(server, &Value::Null, "{strategy} keeps nothing"),
            true => {
                assert!(server["ttl_seconds"].as_i64().unwrap() > 0, "{strategy}");
                assert_eq!(server["value"]["cart"][0]["product_id"], 3, "{strategy}");
                assert_eq!(
                    server["bytes"].as_u64().unwrap() as usize,
                    server["value"].to_string().len()
                );
            }
        }
        let decoded = |name: &str| {
            let artifact = artifacts.iter().find(|a| a["name"] == name);
            artifact.unwrap_or_else(|| panic!("{strategy}: no {name}"))["decoded"].clone()
        };
        match strategy {
            "jwt" => {
                let token = decoded("jwt");
                assert_eq!(token["header"]["alg"], "EdDSA");
                assert_eq!(token["claims"]["session"]["cart"][0]["product_id"], 3);
            }
            // The identity token is readable by anyone and holds no cart; the cart's cookie
            // is opened by the server, which alone holds the key.
            "hybrid" => {
                let identity = decoded("identity");
                assert_eq!(identity["header"]["typ"], "identity+jwt");
                assert_eq!(identity["claims"]["cart"], Value::Null);
                let state = decoded("state");
                assert_eq!(state["opened by the server"]["cart"][0]["product_id"], 3);
            }
            _ => assert!(
                artifacts.iter().all(|a| a["decoded"].is_null()),
                "{strategy}"
            ),
        }
    }
}

/// A cache-aside hit holds the SQL row's bytes, which are also its revision: the write after it
/// goes straight to SQL's compare-and-set, with no SQL read of its own, and keeps both lines.
/// (A stale cached copy: `tests/strategies/backends.rs`.)
#[tokio::test]
async fn a_cache_aside_write_after_a_cache_hit_reads_no_sql() {
    let mut client = Client::new().await;
    client.switch("cache-aside").await;
    client.add(3, 2).await;
    tokio::time::sleep(session_strategies::stores::cache_aside::CHANGED_MARK_TTL * 3 / 2).await;
    client.send(Method::GET, "/session", None).await;
    client.send(Method::GET, "/session", None).await;
    let reply = client.add(4, 1).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let inspection = client.send(Method::GET, "/inspect", None).await.body;
    let requests = inspection["trace"]
        .as_array()
        .unwrap_or_else(|| panic!("no trace: {inspection:#}"));
    let write = requests
        .iter()
        .rev()
        .find(|request| request["request"].as_str().unwrap().starts_with("POST"))
        .unwrap_or_else(|| panic!("no write traced: {inspection:#}"));
    let steps = steps_of(write);
    assert_in_order(
        &steps,
        &[
            &["redis GET cache:", "hit"],
            &["sql UPDATE WHERE data = read", "replaced"],
            &["redis SET cache:", "#changed"],
        ],
        "the write",
    );
    assert!(
        !steps.iter().any(|step| step.starts_with("sql SELECT")),
        "the write read SQL: {steps:#?}"
    );
    // Both lines kept: 2 of product 3, 1 of product 4.
    let session = client.send(Method::GET, "/session", None).await.body;
    assert_eq!(session["cart"]["count"], 3, "{session}");
}

/// The steps of every traced request, flattened in order, as `operation outcome`.
fn traced_steps(inspection: &Value) -> Vec<String> {
    inspection["trace"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(steps_of)
        .collect()
}

/// One traced request's steps, in order, as `operation outcome`.
fn steps_of(request: &Value) -> Vec<String> {
    request["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            format!(
                "{} {}",
                step["operation"].as_str().unwrap(),
                step["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

/// Asserts that `steps` has, in this order (others may come between), a step containing every
/// part of each of `wanted`.
fn assert_in_order(steps: &[String], wanted: &[&[&str]], context: &str) {
    let mut from = 0;
    for parts in wanted {
        let found = steps[from..]
            .iter()
            .position(|step| parts.iter().all(|part| step.contains(part)))
            .unwrap_or_else(|| panic!("{context}: no {parts:?} after step {from} in {steps:#?}"));
        from += found + 1;
    }
}

/// What each backend records for a guest who adds twice and reads twice, in order. A new
/// strategy does not compile until it says what its trace shows.
fn expected_steps(strategy: Strategy) -> &'static [&'static [&'static str]] {
    match strategy {
        Strategy::Memory => &[&["memory insert", "ok"], &["memory get", "hit"]],
        Strategy::Cookie => &[
            &["encrypt AES-256-GCM", "ok"],
            &["decrypt AES-256-GCM", "ok"],
        ],
        Strategy::Jwt => &[
            &["sign EdDSA kid=", "ok"],
            &["verify EdDSA kid=", "ok"],
            &["revoked:", "not revoked"],
        ],
        // The token is signed once; the cart's changes reseal the state cookie alone.
        Strategy::Hybrid => &[
            &["sign EdDSA kid=", "ok"],
            &["encrypt state AES-256-GCM", "ok"],
            &["verify EdDSA kid=", "ok"],
            &["revoked:", "not revoked"],
            &["decrypt state AES-256-GCM", "ok"],
            &["encrypt state AES-256-GCM", "ok"],
        ],
        Strategy::Redis => &[
            &["redis SET NX EXAT", "ok"],
            &["redis GET", "hit"],
            &["redis EVAL (SET EXAT if GET still matches)", "replaced"],
        ],
        Strategy::Memcached => &[
            &["memcached ms ME (add)", "ok"],
            &["memcached mg v c", "hit"],
            &["memcached ms C<cas>", "replaced"],
        ],
        Strategy::Sql => &[
            &["sql INSERT", "ok"],
            &["sql SELECT", "hit"],
            &["sql UPDATE WHERE data = read", "replaced"],
        ],
        // Written to SQL, the cached copy replaced by a short "changed" mark; once it lapses the
        // next read misses and fills, later ones hit.
        Strategy::CacheAside => &[
            &["sql UPDATE WHERE data = read", "replaced"],
            &["redis SET cache:", "#changed EX 1", "ok"],
            &["redis GET cache:", "miss"],
            &["sql SELECT", "hit"],
            &["redis SET cache:", "EX", "ok"],
            &["redis GET cache:", "hit"],
        ],
        Strategy::SignedUrl => &[
            &["sign HMAC-SHA256 session", "ok"],
            &["verify HMAC-SHA256 session", "ok"],
            &["sql SELECT", "hit"],
        ],
    }
}

#[tokio::test]
async fn the_trace_shows_what_each_backend_did_in_order() {
    for strategy in Strategy::ALL {
        let wanted = expected_steps(strategy);
        let strategy = strategy.id();
        let mut client = Client::new().await;
        client.switch(strategy).await;
        client.add(3, 2).await;
        client.add(4, 1).await;
        if strategy == "cache-aside" {
            tokio::time::sleep(session_strategies::stores::cache_aside::CHANGED_MARK_TTL * 3 / 2)
                .await;
        }
        client.send(Method::GET, "/session", None).await;
        client.send(Method::GET, "/session", None).await;
        let reply = client.send(Method::GET, "/inspect", None).await;
        assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
        let steps = traced_steps(&reply.body);
        assert_in_order(&steps, wanted, strategy);
        for request in reply.body["trace"].as_array().unwrap() {
            assert_eq!(request["strategy"], strategy);
            assert!(request["request"]
                .as_str()
                .unwrap()
                .starts_with(['G', 'P', 'D']));
        }
        // Ids and tokens appear shortened, never whole.
        let trace = reply.body["trace"].to_string();
        let credentials = client
            .cookies
            .iter()
            .filter(|(name, _)| name.as_str() != "strategy")
            .map(|(_, value)| value)
            .chain(client.url_token.iter());
        for value in credentials {
            if value.len() > 8 {
                assert!(
                    !trace.contains(value.as_str()),
                    "{strategy}: the trace holds a credential"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_trace_keeps_the_last_ten_requests_across_login_rotation() {
    let mut client = Client::new().await;
    client.switch("redis").await;
    client.add(3, 1).await;
    let reply = client.login("alice", "wonderland").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let inspection = client.send(Method::GET, "/inspect", None).await.body;
    let requests: Vec<&str> = inspection["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|request| request["request"].as_str().unwrap())
        .collect();
    assert!(
        requests
            .iter()
            .any(|request| request.ends_with("/cart/items")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|request| request.ends_with("/login")),
        "{requests:?}"
    );
    for _ in 0..15 {
        client.send(Method::GET, "/session", None).await;
    }
    let inspection = client.send(Method::GET, "/inspect", None).await.body;
    // Ten remembered requests, and this one so far.
    assert_eq!(inspection["trace"].as_array().unwrap().len(), 11);
}
