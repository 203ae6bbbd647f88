//! The JSON API through the real router (`oneshot`, no socket), with a real SQLite file per
//! test and a cookie jar kept by hand, asserting on status, body and `Set-Cookie`.

use crate::common::{carried_bytes, cart_lines, strategies_where, Client};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use session_strategies::Strategy;

#[tokio::test]
async fn health_names_the_instance_and_the_strategies() {
    let mut client = Client::new().await;
    let reply = client.send(Method::GET, "/health", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["x-instance"], "test-1");
    assert_eq!(reply.body["instance"], "test-1");
    assert_eq!(reply.body["strategies"]["memory"], "available");
    assert_eq!(reply.body["strategies"]["cookie"], "available");
}

#[tokio::test]
async fn the_catalog_has_twelve_priced_products() {
    let mut client = Client::new().await;
    let reply = client.send(Method::GET, "/products", None).await;
    let products = reply.body.as_array().unwrap();
    assert_eq!(products.len(), 12);
    assert!(products
        .iter()
        .all(|p| p["price_cents"].as_i64().unwrap() > 0));
    let strategies = client.send(Method::GET, "/strategies", None).await;
    let ids: Vec<&str> = strategies
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let every: Vec<&str> = Strategy::ALL.iter().map(|strategy| strategy.id()).collect();
    assert_eq!(ids, every, "every strategy runs, in display order");
}

#[tokio::test]
async fn a_guest_starts_with_an_empty_cart_and_no_cookie() {
    let mut client = Client::new().await;
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["strategy"], "memory");
    assert_eq!(reply.body["user"], Value::Null);
    assert_eq!(reply.body["cart"]["count"], 0);
    assert!(reply.set_cookies().is_empty());
}

#[tokio::test]
async fn login_with_good_credentials_keeps_the_cart_and_rotates_the_id() {
    let mut client = Client::new().await;
    client.add(3, 2).await;
    let guest_sid = client.cookies["sid"].clone();
    let reply = client.login("alice", "wonderland").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"]["username"], "alice");
    assert_eq!(cart_lines(&reply.body), [(3, 2)]);
    let new_sid = client.cookies["sid"].clone();
    assert_ne!(guest_sid, new_sid);
    let cookie = reply.set_cookies().join("\n");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    // The pre-login id no longer opens the session.
    client.cookies.insert("sid".into(), guest_sid);
    let stale = client.send(Method::GET, "/session", None).await;
    assert_eq!(stale.body["user"], Value::Null);
    assert_eq!(stale.body["notice"], "session_invalid");
}

#[tokio::test]
async fn login_with_bad_credentials_is_401_and_keeps_the_session() {
    let mut client = Client::new().await;
    client.add(1, 1).await;
    for (username, password) in [("alice", "nope"), ("mallory", "wonderland"), ("", "")] {
        let reply = client.login(username, password).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error_code(), "invalid_credentials");
    }
    let session = client.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&session.body), [(1, 1)]);
    let malformed = client
        .send_raw(Method::POST, "/login", Some("{\"username\":".into()), &[])
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_code(), "bad_request");
}

#[tokio::test]
async fn add_set_remove_and_empty_change_the_cart() {
    let mut client = Client::new().await;
    let reply = client.add(1, 2).await;
    assert_eq!(reply.body["cart"]["count"], 2);
    assert_eq!(reply.body["cart"]["total_cents"], 900);
    client.add(1, 1).await;
    let reply = client.add(5, 1).await;
    assert_eq!(cart_lines(&reply.body), [(1, 3), (5, 1)]);
    let reply = client
        .send(Method::PUT, "/cart/items/5", Some(json!({"quantity": 4})))
        .await;
    assert_eq!(cart_lines(&reply.body), [(1, 3), (5, 4)]);
    let reply = client.send(Method::DELETE, "/cart/items/1", None).await;
    assert_eq!(cart_lines(&reply.body), [(5, 4)]);
    let reply = client
        .send(Method::PUT, "/cart/items/5", Some(json!({"quantity": 0})))
        .await;
    assert!(cart_lines(&reply.body).is_empty());
    client.add(2, 1).await;
    let reply = client.send(Method::DELETE, "/cart", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["cart"]["count"], 0);
}

#[tokio::test]
async fn an_unknown_product_is_404() {
    let mut client = Client::new().await;
    for reply in [
        client.add(999, 1).await,
        client
            .send(Method::PUT, "/cart/items/999", Some(json!({"quantity": 1})))
            .await,
        client.send(Method::DELETE, "/cart/items/999", None).await,
    ] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.error_code(), "not_found");
    }
}

#[tokio::test]
async fn quantities_outside_one_to_ninety_nine_are_rejected() {
    let mut client = Client::new().await;
    for quantity in [0, 100, -1] {
        let reply = client.add(1, quantity).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{quantity}");
        assert_eq!(reply.error_code(), "invalid_quantity");
    }
    let reply = client
        .send_raw(
            Method::POST,
            "/cart/items",
            Some(r#"{"product_id": 1, "quantity": "abc"}"#.into()),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "bad_request");
    let reply = client
        .send(Method::PUT, "/cart/items/abc", Some(json!({"quantity": 1})))
        .await;
    assert_eq!(reply.error_code(), "bad_request");
    client.add(1, 99).await;
    let reply = client.add(1, 1).await;
    assert_eq!(reply.error_code(), "invalid_quantity");
    let session = client.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&session.body), [(1, 99)]);
}

#[tokio::test]
async fn switching_strategies_keeps_user_and_cart() {
    let mut client = Client::new().await;
    client.add(4, 2).await;
    client.login("bob", "builder").await;
    let memory_sid = client.cookies["sid"].clone();

    let reply = client.switch("cookie").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["strategy"], "cookie");
    assert_eq!(reply.body["user"]["username"], "bob");
    assert_eq!(cart_lines(&reply.body), [(4, 2)]);
    assert_eq!(client.cookies["strategy"], "cookie");
    assert!(client.cookies.contains_key("session"));
    assert!(
        !client.cookies.contains_key("sid"),
        "the old sid is cleared"
    );

    let reply = client.add(6, 1).await;
    assert_eq!(cart_lines(&reply.body), [(4, 2), (6, 1)]);

    let reply = client.switch("memory").await;
    assert_eq!(reply.body["strategy"], "memory");
    assert_eq!(reply.body["user"]["username"], "bob");
    assert_eq!(cart_lines(&reply.body), [(4, 2), (6, 1)]);
    assert!(!client.cookies.contains_key("session"));
    assert_ne!(client.cookies["sid"], memory_sid);

    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["strategy"], "memory");
    assert_eq!(cart_lines(&reply.body), [(4, 2), (6, 1)]);
}

#[tokio::test]
async fn an_unknown_strategy_is_400_and_an_unconfigured_one_503() {
    let mut client = Client::new().await;
    let reply = client.switch("floppy-disk").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "strategy_unknown");
    let reply = client
        .send_raw(
            Method::GET,
            "/session",
            None,
            &[("x-session-strategy", "floppy")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "strategy_unknown");
    assert_eq!(reply.headers["x-instance"], "test-1");
}

#[tokio::test]
async fn the_strategy_header_wins_over_the_cookie() {
    let mut client = Client::new().await;
    client.switch("cookie").await;
    let reply = client
        .send_raw(
            Method::GET,
            "/session",
            None,
            &[("x-session-strategy", "memory")],
        )
        .await;
    assert_eq!(reply.body["strategy"], "memory");
}

#[tokio::test]
async fn a_tampered_cookie_is_a_fresh_guest_with_a_notice_never_a_500() {
    let mut client = Client::new().await;
    client.switch("cookie").await;
    client.add(2, 2).await;
    let sealed = client.cookies["session"].clone();
    let mut tampered = sealed.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(tampered).unwrap(),
        sealed[..sealed.len() / 2].to_owned(),
        "garbage".to_owned(),
    ] {
        client.cookies.insert("session".into(), bad);
        let reply = client.send(Method::GET, "/session", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["notice"], "session_invalid");
        assert_eq!(reply.body["cart"]["count"], 0);
        assert!(
            reply
                .set_cookies()
                .iter()
                .any(|c| c.starts_with("session=;") || c.contains("Max-Age=0")),
            "the bad cookie is cleared"
        );
    }
    client.switch("memory").await;
    client
        .cookies
        .insert("sid".into(), "AAAAAAAAAAAAAAAAAAAAAA".into());
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["notice"], "session_invalid");
}

#[tokio::test]
async fn logout_destroys_the_server_copy() {
    let mut client = Client::new().await;
    client.login("alice", "wonderland").await;
    client.add(1, 1).await;
    let sid = client.cookies["sid"].clone();
    let reply = client.send(Method::POST, "/logout", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"], Value::Null);
    assert_eq!(reply.body["cart"]["count"], 0);
    assert!(!client.cookies.contains_key("sid"));
    client.cookies.insert("sid".into(), sid);
    let replay = client.send(Method::GET, "/session", None).await;
    assert_eq!(replay.body["user"], Value::Null);
    assert_eq!(replay.body["notice"], "session_invalid");
}

#[tokio::test]
async fn checkout_needs_a_login_and_a_cart_then_lists_the_order() {
    let mut client = Client::new().await;
    let reply = client.send(Method::POST, "/checkout", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "unauthenticated");
    client.login("alice", "wonderland").await;
    let reply = client.send(Method::POST, "/checkout", None).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "bad_request");
    client.add(1, 2).await;
    client.add(3, 1).await;
    let reply = client.send(Method::POST, "/checkout", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["total_cents"], 2 * 450 + 1500);
    assert_eq!(reply.body["session"]["cart"]["count"], 0);
    let order_id = reply.body["order_id"].as_i64().unwrap();
    let orders = client.send(Method::GET, "/orders", None).await;
    let orders = orders.body.as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order_id"], order_id);
    assert_eq!(orders[0]["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_unknown_api_route_is_a_json_404() {
    let mut client = Client::new().await;
    let reply = client.send(Method::GET, "/nope", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
}

#[tokio::test]
async fn client_side_sessions_grow_with_the_cart_and_server_side_ones_do_not() {
    for strategy in strategies_where(|_| true) {
        let grows = !strategy
            .parse::<Strategy>()
            .unwrap()
            .meta()
            .capabilities
            .server_copy;
        let mut client = Client::new().await;
        client.switch(strategy).await;
        let before = client.add(1, 1).await.body["client_bytes"]
            .as_u64()
            .unwrap();
        for product in 2..=10 {
            client.add(product, 5).await;
        }
        let reply = client.send(Method::GET, "/session", None).await;
        let after = reply.body["client_bytes"].as_u64().unwrap();
        assert!(before > 0, "{strategy}");
        assert_eq!(after > before, grows, "{strategy}: {before} -> {after}");
        // What the view reports is what the client really holds for its session.
        let held = carried_bytes(&mut client, strategy).await;
        assert_eq!(after as usize, held, "{strategy}");
    }
}

#[tokio::test]
async fn static_files_are_served_compressed_revalidated_and_without_a_session() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(
        site.path().join("pkg/app.js"),
        "console.log('hello');".repeat(50),
    )
    .unwrap();
    std::fs::write(site.path().join("pkg/app.js.br"), b"brotli bytes").unwrap();
    let root = site.path().to_str().unwrap().to_owned();
    let client = Client::configured(|config| config.leptos_options.site_root = root.into()).await;
    let get = |headers: &[(&str, &str)]| {
        let mut request = http::Request::get("/pkg/app.js");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(axum::body::Body::empty()).unwrap()
    };
    use tower::ServiceExt;
    let plain = client.app.clone().oneshot(get(&[])).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert!(
        plain.headers().get("set-cookie").is_none(),
        "no session for an asset"
    );
    let modified = plain.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();

    let compressed = client
        .app
        .clone()
        .oneshot(get(&[("accept-encoding", "br, gzip")]))
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "br");

    let again = client
        .app
        .clone()
        .oneshot(get(&[("if-modified-since", &modified)]))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let missing = client
        .app
        .clone()
        .oneshot(
            http::Request::get("/no/such/file")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hashed_assets_are_answered_from_memory_as_serve_dir_would() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    let script = "console.log('hashed');".repeat(50);
    std::fs::write(site.path().join("pkg/app.Ab12.js"), &script).unwrap();
    std::fs::write(site.path().join("pkg/app.Ab12.js.br"), b"brotli bytes").unwrap();
    std::fs::write(site.path().join("pkg/app.Ab12.js.gz"), b"gzip bytes").unwrap();
    let root = site.path().to_str().unwrap().to_owned();
    let client = Client::configured(|config| {
        config.leptos_options.site_root = root.into();
        config.leptos_options.hash_files = true;
    })
    .await;
    // Written after start: not in memory, still served (by ServeDir).
    std::fs::write(site.path().join("pkg/late.Cd34.css"), "body{}").unwrap();
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let fetch = |path: &str, headers: &[(&str, &str)]| {
        let mut request = http::Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(axum::body::Body::empty()).unwrap();
        client.app.clone().oneshot(request)
    };
    let body = |response: axum::response::Response| async move {
        response.into_body().collect().await.unwrap().to_bytes()
    };

    let plain = fetch("/pkg/app.Ab12.js", &[]).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(plain.headers()["content-type"], "text/javascript");
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.headers().get("set-cookie").is_none());
    let modified = plain.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(body(plain).await, script.as_bytes());

    for (accepted, encoding, bytes) in [
        ("br, gzip", "br", &b"brotli bytes"[..]),
        ("gzip, br;q=0", "gzip", &b"gzip bytes"[..]),
    ] {
        let reply = fetch("/pkg/app.Ab12.js", &[("accept-encoding", accepted)])
            .await
            .unwrap();
        assert_eq!(reply.headers()["content-encoding"], encoding);
        assert_eq!(reply.headers()["vary"], "accept-encoding");
        assert_eq!(body(reply).await, bytes);
    }

    let again = fetch("/pkg/app.Ab12.js", &[("if-modified-since", &modified)])
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let range = fetch("/pkg/app.Ab12.js", &[("range", "bytes=0-6")])
        .await
        .unwrap();
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(range).await, &script.as_bytes()[..7]);

    let late = fetch("/pkg/late.Cd34.css", &[]).await.unwrap();
    assert_eq!(late.status(), StatusCode::OK);
    assert_eq!(body(late).await, &b"body{}"[..]);

    // (A missing file renders the 404 page, whose scripts need cargo-leptos' hash.txt beside
    // the executable when names are hashed: the test above covers it, unhashed.)
}

/// The 404 page is a page of the shop: its header shows the visitor's cart and login, as every
/// other page's does (it rendered a guest's header, and logged three internal errors, when the
/// page sat outside the session layer).
#[tokio::test]
async fn the_404_page_shows_the_visitors_cart_and_login() {
    let mut client = Client::new().await;
    client.login("alice", "wonderland").await;
    assert_eq!(client.add(1, 2).await.status, StatusCode::OK);
    let (status, _, html) = client.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains(r#"aria-label="2 items""#), "{html}");
    assert!(html.contains("alice"), "{html}");

    let guest = Client::new().await;
    let (status, set_cookies, html) = guest.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains(r#"aria-label="0 items""#), "{html}");
    assert!(set_cookies.is_empty(), "a guest's 404 sets {set_cookies:?}");
}
