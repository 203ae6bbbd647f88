//! Attacks from the attacker's side, as raw HTTP: replayed tokens, foreign `Authorization`
//! schemes, forged cross-site requests, and the headers every response must carry.

use crate::common::{cart_lines, strategies_where, Client};
use axum::body::Body;
use http::{header, Method, Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn an_access_token_issued_before_logout_never_loads_again() {
    let mut client = Client::new().await;
    client.cookieless = true;
    client.strategy_header = Some("jwt".into());
    let login = client.login("alice", "wonderland").await;
    let first = login.body["credential"].as_str().unwrap().to_owned();
    client.strategy_header = None;
    client.bearer = Some(first.clone());
    // Every change mints a new token; the attacker copied the first one.
    let reply = client.add(2, 1).await;
    assert_ne!(client.bearer.as_deref(), Some(first.as_str()));
    assert_eq!(reply.status, StatusCode::OK);
    let logout = client.send(Method::POST, "/logout", None).await;
    assert_eq!(logout.status, StatusCode::OK);

    client.bearer = Some(first);
    let replay = client.send(Method::GET, "/session", None).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
    assert_eq!(replay.error_code(), "session_invalid");
}

#[tokio::test]
async fn an_authorization_header_of_another_scheme_is_not_a_bearer_token() {
    let mut client = Client::new().await;
    client.add(4, 2).await;
    let reply = client
        .send_raw(
            Method::GET,
            "/session",
            None,
            &[("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["strategy"], "memory");
    assert_eq!(cart_lines(&reply.body), [(4, 2)]);
}

#[tokio::test]
async fn a_cross_site_request_carried_by_a_cookie_changes_nothing() {
    let mut client =
        Client::configured(|config| config.allowed_hosts = vec!["shop.test".into()]).await;
    client.add(1, 1).await;
    let body = Some(json!({"product_id": 5, "quantity": 1}).to_string());
    for forged in [
        [("origin", "https://evil.example"), ("host", "shop.test")],
        [("sec-fetch-site", "cross-site"), ("host", "shop.test")],
        [("origin", "null"), ("host", "shop.test")],
        [
            ("referer", "https://evil.example/page"),
            ("host", "shop.test"),
        ],
    ] {
        let reply = client
            .send_raw(Method::POST, "/cart/items", body.clone(), &forged)
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{forged:?}");
        assert_eq!(reply.error_code(), "csrf");
    }
    let session = client.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&session.body), [(1, 1)], "nothing was added");

    // The site's own pages, and clients that are not browsers, go through.
    for own in [
        vec![("origin", "http://shop.test"), ("host", "shop.test")],
        vec![("sec-fetch-site", "same-origin")],
        vec![],
    ] {
        let reply = client
            .send_raw(Method::POST, "/cart/items", body.clone(), &own)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{own:?}: {}", reply.body);
    }
}

#[tokio::test]
async fn a_login_form_posted_from_another_site_is_refused_with_a_page() {
    let client = Client::new().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/sfn/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "cross-site")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from("username=mallory&password=mallory"))
        .unwrap();
    let response = client.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let page = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("came from another site"), "{page}");
}

/// API clients that carry the session in the URL or a Bearer token send no `Origin` and pass;
/// a browser saying the request comes from another site is refused whatever it carries, a
/// credential that verifies included (it may be the forger's own).
#[tokio::test]
async fn no_credential_exempts_a_cross_site_request() {
    let mut url_client = Client::new().await;
    url_client.cookieless = true;
    url_client.strategy_header = Some("signed-url".into());
    url_client.add(1, 1).await;
    url_client.strategy_header = None;
    let body = Some(json!({"product_id": 2, "quantity": 1}).to_string());
    let reply = url_client
        .send_raw(Method::POST, "/cart/items", body.clone(), &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(cart_lines(&reply.body), [(1, 1), (2, 1)]);
    let reply = url_client
        .send_raw(
            Method::POST,
            "/cart/items",
            body,
            &[("origin", "https://elsewhere.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(reply.error_code(), "csrf");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let mut client = Client::new().await;
    let reply = client.send(Method::GET, "/session", None).await;
    let header = |name: &str| reply.headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin");
    assert_eq!(header("cache-control"), "no-store", "it shows a session");
    assert!(
        reply.headers.get("strict-transport-security").is_none(),
        "not over HTTPS"
    );

    client.switch("signed-url").await;
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(
        reply.headers["referrer-policy"], "no-referrer",
        "the URL holds the session"
    );
}

#[tokio::test]
async fn a_copied_session_cookie_is_worthless_after_logout() {
    let mut client = Client::new().await;
    client.switch("cookie").await;
    client.login("alice", "wonderland").await;
    client.add(6, 1).await;
    let copied = client.cookies["session"].clone();
    let logout = client.send(Method::POST, "/logout", None).await;
    assert_eq!(logout.status, StatusCode::OK);

    client.cookies.insert("session".into(), copied);
    let replay = client.send(Method::GET, "/session", None).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(
        replay.body["user"],
        serde_json::Value::Null,
        "{}",
        replay.body
    );
    assert_eq!(replay.body["notice"], "session_invalid");
    assert!(
        !replay
            .set_cookies()
            .iter()
            .any(|cookie| cookie.starts_with("session=") && !cookie.contains("Max-Age=0")),
        "the copied cookie is not sealed afresh"
    );
}

#[tokio::test]
async fn activity_never_carries_a_session_past_its_absolute_timeout() {
    let mut client = Client::configured(|config| {
        config.session_max_age = std::time::Duration::from_secs(2);
    })
    .await;
    let login = client.login("alice", "wonderland").await;
    assert_eq!(login.status, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(2500);
    let first = client.send(Method::GET, "/session", None).await;
    assert_eq!(first.body["user"]["username"], "alice", "alive while young");
    let mut told = false;
    while std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let reply = client.add(1, 1).await;
        told |= reply.body["notice"] == "session_expired";
    }
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(
        reply.body["user"],
        serde_json::Value::Null,
        "{}",
        reply.body
    );
    told |= reply.body["notice"] == "session_expired";
    assert!(told, "the visitor is told why the session ended");
}

#[tokio::test]
async fn a_response_to_a_cookie_carried_request_never_holds_a_token() {
    let mut browser = Client::new().await;
    browser.add(1, 1).await;
    for reply in [
        browser.switch("jwt").await,
        browser.login("alice", "wonderland").await,
        browser.add(2, 1).await,
        browser.send(Method::GET, "/session", None).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.body["credential"],
            serde_json::Value::Null,
            "{}",
            reply.body
        );
        assert!(reply.body.get("refresh_token").is_none(), "{}", reply.body);
    }
    assert!(browser.cookies.contains_key("jwt") && browser.cookies.contains_key("refresh"));

    // A client that keeps its own tokens still gets them.
    let mut api = Client::new().await;
    api.cookieless = true;
    api.strategy_header = Some("jwt".into());
    let login = api.login("alice", "wonderland").await;
    assert!(login.body["credential"].is_string() && login.body["refresh_token"].is_string());
}

#[tokio::test]
async fn a_failing_store_is_named_but_its_error_text_stays_in_the_log() {
    let mut client = Client::configured(|config| {
        config.redis_url = "redis://127.0.0.1:1".into();
    })
    .await;
    client.strategy_header = Some("redis".into());
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "strategy_unavailable");
    assert_eq!(
        reply.body["error"]["message"],
        "the redis strategy is unavailable: its store does not answer"
    );
}

#[tokio::test]
async fn guessing_passwords_is_stopped_per_username_and_per_address() {
    let mut client = Client::configured(|config| {
        config.login_limits.per_username = 3;
        config.login_limits.per_address = 5;
    })
    .await;
    // Keys of their own: the counters live in the test run's shared Redis.
    let run = session_strategies::crypto::secrets::random_id();
    let guess = |username: &str| json!({"username": username, "password": "guess"}).to_string();

    let victim = format!("victim-{run}");
    for _ in 0..3 {
        let reply = client
            .send_raw(Method::POST, "/login", Some(guess(&victim)), &[])
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let refused = client
        .send_raw(Method::POST, "/login", Some(guess(&victim)), &[])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.error_code(), "too_many_attempts");
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");

    // One address spraying many usernames is stopped too (a client of its own address).
    let mut sprayer = Client::for_app(client.app.clone(), None);
    let mut statuses = Vec::new();
    for attempt in 0..6 {
        let reply = sprayer
            .send_raw(
                Method::POST,
                "/login",
                Some(guess(&format!("spray-{run}-{attempt}"))),
                &[],
            )
            .await;
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    // Naming another address in X-Forwarded-For changes nothing: no proxy of ours wrote it.
    let reply = sprayer
        .send_raw(
            Method::POST,
            "/login",
            Some(guess(&format!("spray-{run}-forwarded"))),
            &[("x-forwarded-for", "192.0.2.77")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held back by this one (a user nobody guessed at, as the demo
    // users' counters are shared with the rest of the run).
    let reply = client
        .send_raw(
            Method::POST,
            "/login",
            Some(guess(&format!("other-{run}"))),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
}

#[tokio::test]
async fn a_refresh_token_sent_twice_at_once_is_not_taken_for_a_replay() {
    let mut client = Client::new().await;
    client.cookieless = true;
    client.strategy_header = Some("jwt".into());
    let login = client.login("bob", "builder").await;
    let body = Some(
        json!({
            "access_token": login.body["credential"],
            "refresh_token": login.body["refresh_token"],
        })
        .to_string(),
    );
    let mut second_tab = Client::for_app(client.app.clone(), None);
    second_tab.cookieless = true;
    let (first, second) = tokio::join!(
        client.send_raw(Method::POST, "/token/refresh", body.clone(), &[]),
        second_tab.send_raw(Method::POST, "/token/refresh", body, &[])
    );
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(first.body["credential"], second.body["credential"]);
    assert_eq!(first.body["refresh_token"], second.body["refresh_token"]);
}

#[tokio::test]
async fn over_https_every_cookie_is_secure_and_host_prefixed() {
    let mut client = Client::configured(|config| {
        config.secure_cookies = true;
    })
    .await;
    let login = client.login("alice", "wonderland").await;
    assert_eq!(login.status, StatusCode::OK);
    let cookies = login.set_cookies();
    assert!(!cookies.is_empty());
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
    assert!(login.headers["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let reply = client.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["user"]["username"], "alice");

    // The same value under the unprefixed name (planted by a plain-HTTP page or a subdomain)
    // is not the session.
    let sid = client.cookies.remove("__Host-sid").unwrap();
    client.cookies.insert("sid".into(), sid);
    let planted = client.send(Method::GET, "/session", None).await;
    assert_eq!(planted.body["user"], serde_json::Value::Null);
}

/// Over HTTPS every strategy keeps its session, and every cookie it keeps it in carries the
/// `__Host-` name: the user stays logged in with the cart they filled.
#[tokio::test]
async fn over_https_every_cookie_strategy_keeps_its_session() {
    for strategy in strategies_where(|_| true) {
        let mut client = Client::configured(|config| {
            config.secure_cookies = true;
        })
        .await;
        client.log_in_under(strategy).await;
        client.add(3, 2).await;
        for _ in 0..2 {
            let reply = client.send(Method::GET, "/session", None).await;
            assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
            assert_eq!(reply.body["strategy"], strategy, "{}", reply.body);
            assert_eq!(
                reply.body["user"]["username"], "alice",
                "{strategy}: {}",
                reply.body
            );
            assert_eq!(reply.body["notice"], serde_json::Value::Null, "{strategy}");
            assert_eq!(
                reply.body["cart"]["items"].as_array().map(Vec::len),
                Some(1),
                "{strategy}: {}",
                reply.body
            );
        }
        assert!(
            client
                .cookies
                .keys()
                .all(|name| name.starts_with("__Host-")),
            "{strategy}: {:?}",
            client.cookies.keys().collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn ending_a_session_or_every_other_one_reaches_every_strategy() {
    ending_sessions_reaches_every_strategy(Client::new().await).await;
}

#[tokio::test]
async fn over_https_ending_a_session_or_every_other_one_reaches_every_strategy() {
    let first = Client::configured(|config| {
        config.secure_cookies = true;
    })
    .await;
    ending_sessions_reaches_every_strategy(first).await;
}

/// A device of alice's per strategy besides `first`'s; each is seen logged in before it is
/// ended (an ending is only shown by a session that loaded before it).
async fn ending_sessions_reaches_every_strategy(mut first: Client) {
    let first_strategy = first.send(Method::GET, "/session", None).await.body["strategy"].clone();
    let mut devices = Vec::new();
    for strategy in strategies_where(|meta| first_strategy != meta.id) {
        let mut device = Client::for_app(first.app.clone(), None);
        device.log_in_under(strategy).await;
        let reply = device.send(Method::GET, "/session", None).await;
        assert_eq!(reply.body["strategy"], strategy, "{}", reply.body);
        assert_eq!(
            reply.body["user"]["username"], "alice",
            "{strategy}: {}",
            reply.body
        );
        devices.push((strategy, device));
    }
    let mut mine = first;
    mine.login("alice", "wonderland").await;
    let listed = mine.send(Method::GET, "/sessions", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let sessions = listed.body["sessions"].as_array().unwrap().clone();
    assert!(sessions.len() > devices.len(), "{}", listed.body);
    assert_eq!(
        sessions
            .iter()
            .filter(|listed| listed["current"] == true)
            .count(),
        1
    );
    let listed_strategies: Vec<&str> = sessions
        .iter()
        .map(|listed| listed["strategy"].as_str().unwrap())
        .collect();
    for (strategy, _) in &devices {
        assert!(
            listed_strategies.contains(strategy),
            "{strategy}: {listed_strategies:?}"
        );
    }

    // End the cookie session from here: a cookie cannot be deleted, yet it no longer loads.
    let (_, cookie_device) = devices
        .iter_mut()
        .find(|(strategy, _)| *strategy == "cookie")
        .unwrap();
    let cookie_session = sessions
        .iter()
        .find(|listed| listed["strategy"] == "cookie")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = mine
        .send(Method::DELETE, &format!("/sessions/{cookie_session}"), None)
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let reply = cookie_device.send(Method::GET, "/session", None).await;
    assert_eq!(
        reply.body["user"],
        serde_json::Value::Null,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["notice"], "session_invalid");

    // Then every other one, in every strategy; this one stays.
    let everywhere = mine.send(Method::POST, "/logout-everywhere", None).await;
    assert_eq!(everywhere.status, StatusCode::OK, "{}", everywhere.body);
    assert_eq!(everywhere.body["sessions"].as_array().unwrap().len(), 1);
    for (strategy, device) in devices
        .iter_mut()
        .filter(|(strategy, _)| *strategy != "cookie")
    {
        let reply = device.send(Method::GET, "/session", None).await;
        let ended = reply.body["user"].is_null() || reply.status == StatusCode::UNAUTHORIZED;
        assert!(ended, "{strategy}: {}", reply.body);
    }
    let reply = mine.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["user"]["username"], "alice");
}

#[tokio::test]
async fn a_jwt_refresh_family_ends_at_the_idle_timeout() {
    let mut client = Client::configured(|config| {
        config.session_ttl = std::time::Duration::from_secs(1);
    })
    .await;
    client.cookieless = true;
    client.strategy_header = Some("jwt".into());
    let login = client.login("alice", "wonderland").await;
    let body = Some(
        json!({
            "access_token": login.body["credential"],
            "refresh_token": login.body["refresh_token"],
        })
        .to_string(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let refreshed = client
        .send_raw(Method::POST, "/token/refresh", body, &[])
        .await;
    assert_eq!(
        refreshed.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refreshed.body
    );
    assert_eq!(refreshed.error_code(), "session_expired");
}
