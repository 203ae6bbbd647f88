//! Every strategy through the JSON API: the same shop journey for each, the cookie-less API
//! clients (`jwt` with Bearer, `signed-url` with `?s=`), and every strategy again with the shop
//! and the `sql` store on PostgreSQL.

use crate::common::{cart_lines, strategy_ids, Client};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// Guest cart, switch in, log in, switch out and back, check out, log out.
async fn shop_journey(client: &mut Client, strategy: &str) {
    client.add(1, 2).await;
    let reply = client.switch(strategy).await;
    assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
    assert_eq!(reply.body["strategy"], strategy);
    assert_eq!(
        cart_lines(&reply.body),
        [(1, 2)],
        "{strategy}: cart moved in"
    );

    let reply = client.login("alice", "wonderland").await;
    assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
    assert_eq!(reply.body["strategy"], strategy);
    assert_eq!(reply.body["user"]["username"], "alice");
    assert_eq!(
        cart_lines(&reply.body),
        [(1, 2)],
        "{strategy}: login keeps the cart"
    );

    let reply = client.add(3, 1).await;
    assert_eq!(cart_lines(&reply.body), [(1, 2), (3, 1)], "{strategy}");
    let other = if strategy == "memory" {
        "cookie"
    } else {
        "memory"
    };
    let reply = client.switch(other).await;
    assert_eq!(
        reply.body["user"]["username"], "alice",
        "{strategy} -> {other}"
    );
    let reply = client.switch(strategy).await;
    assert_eq!(reply.body["strategy"], strategy);
    assert_eq!(
        reply.body["user"]["username"], "alice",
        "{other} -> {strategy}"
    );
    assert_eq!(
        cart_lines(&reply.body),
        [(1, 2), (3, 1)],
        "{strategy}: round trip"
    );

    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(
        reply.body["strategy"], strategy,
        "{strategy}: a later request finds it"
    );
    assert_eq!(reply.body["notice"], Value::Null);
    assert_eq!(cart_lines(&reply.body), [(1, 2), (3, 1)]);

    let reply = client.send(Method::POST, "/checkout", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
    assert_eq!(reply.body["total_cents"], 2 * 450 + 1500);
    assert_eq!(reply.body["session"]["cart"]["count"], 0);
    let order_id = reply.body["order_id"].clone();
    let orders = client.send(Method::GET, "/orders", None).await;
    assert_eq!(
        orders.body[0]["order_id"], order_id,
        "{strategy}: newest first"
    );

    let reply = client.send(Method::POST, "/logout", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"], Value::Null);
}

#[tokio::test]
async fn every_strategy_passes_the_shop_journey() {
    for strategy in strategy_ids().await {
        let strategy = strategy.as_str();
        let mut client = Client::new().await;
        shop_journey(&mut client, strategy).await;
    }
}

#[tokio::test]
async fn a_jwt_api_client_uses_bearer_tokens_and_refreshes_them() {
    let mut client = Client::configured(|config| {
        // A second use at once is a replay here (the grace period has a test of its own).
        config.jwt_refresh_grace = Duration::ZERO;
    })
    .await;
    client.cookieless = true;
    client.strategy_header = Some("jwt".into());
    let reply = client.login("bob", "builder").await;
    assert_eq!(reply.status, StatusCode::OK);
    let access = reply.body["credential"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(access.split('.').count(), 3, "a JWT");

    // From now on the Bearer token alone picks the strategy and carries the session.
    client.strategy_header = None;
    client.bearer = Some(access.clone());
    let reply = client.add(2, 2).await;
    assert_eq!(reply.body["strategy"], "jwt");
    assert_eq!(reply.body["user"]["username"], "bob");
    let newer = reply.body["credential"].as_str().unwrap().to_owned();
    assert_ne!(newer, access, "every change returns a new token");
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&reply.body), [(2, 2)]);

    // Trade the refresh token; replaying it afterwards is refused.
    let traded = client
        .send(
            Method::POST,
            "/token/refresh",
            Some(json!({"access_token": newer, "refresh_token": refresh})),
        )
        .await;
    assert_eq!(traded.status, StatusCode::OK, "{}", traded.body);
    assert_eq!(cart_lines(&traded.body), [(2, 2)]);
    assert!(traded.body["refresh_token"].is_string());
    let replay = client
        .send(
            Method::POST,
            "/token/refresh",
            Some(json!({"access_token": newer, "refresh_token": refresh})),
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    // A replay means the refresh token leaked: every access token of its family dies with it,
    // the one just traded for included.
    let after_replay = client.send(Method::GET, "/session", None).await;
    assert_eq!(after_replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after_replay.error_code(), "session_invalid");

    client.bearer = None;
    client.strategy_header = Some("jwt".into());
    let reply = client.login("bob", "builder").await;
    client.strategy_header = None;
    client.bearer = Some(reply.body["credential"].as_str().unwrap().to_owned());
    client.add(2, 2).await;
    let reply = client.send(Method::POST, "/checkout", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let last = client.bearer.clone().unwrap();
    let reply = client.send(Method::POST, "/logout", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    client.bearer = Some(last);
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "a logged-out token is denied"
    );
    assert_eq!(reply.error_code(), "session_invalid");

    client.bearer = Some("not.a.jwt".into());
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_signed_url_client_needs_no_cookies() {
    let mut client = Client::new().await;
    client.cookieless = true;
    client.strategy_header = Some("signed-url".into());
    let reply = client.add(5, 1).await;
    assert_eq!(reply.body["strategy"], "signed-url");
    assert!(reply.set_cookies().is_empty(), "no cookies at all");
    assert_eq!(reply.headers["referrer-policy"], "no-referrer");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let token = client.url_token.clone().expect("a URL token");

    // The token alone picks the strategy.
    client.strategy_header = None;
    let reply = client.login("alice", "wonderland").await;
    assert_eq!(reply.body["user"]["username"], "alice");
    assert_ne!(
        client.url_token.as_deref(),
        Some(token.as_str()),
        "login rotates the id"
    );
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&reply.body), [(5, 1)]);

    // The pre-login token no longer opens anything.
    let current = client.url_token.replace(token);
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["notice"], "session_invalid");
    assert_eq!(reply.body["user"], Value::Null);

    client.url_token = current;
    let mut altered = client.url_token.clone().unwrap();
    altered.insert(3, 'x');
    let saved = client.url_token.replace(altered);
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["notice"], "session_invalid");
    client.url_token = saved;
    let reply = client.send(Method::POST, "/checkout", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// A database of its own on the test PostgreSQL server.
async fn postgres_database() -> String {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_POSTGRES_URL must name a PostgreSQL server (scripts/test.sh starts one)");
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
    let name = format!("shop_{}", std::process::id());
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&admin)
        .await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

#[tokio::test]
async fn the_sql_strategy_and_the_shop_run_on_postgresql() {
    let database_url = postgres_database().await;
    let mut client = Client::configured(|config| config.database_url = database_url).await;
    for strategy in strategy_ids().await {
        shop_journey(&mut client, &strategy).await;
        client.url_token = None;
    }
}
