//! Concurrent writes to one session, as two tabs (or a dozen) make them: on every strategy
//! that keeps the session on the server, each write applies its change to the copy the one
//! before stored, so none is lost; a logout wins over every write in flight. Where the client
//! holds the whole session (cookie, JWT), the response the browser keeps last wins: measured
//! here, not hidden.

use crate::common::{cart_lines, strategies_where, Client};
use http::{Method, StatusCode};

/// Clients holding the same session as `client`, each adding a different product at once;
/// returns the cart a request with the session of the last tab sees afterwards, and how many
/// adds were answered 200.
async fn add_at_once(client: &Client, products: &[i64]) -> (usize, usize) {
    let mut tabs = Vec::new();
    for &product in products {
        let mut tab = Client::for_app(client.app.clone(), None);
        tab.cookies = client.cookies.clone();
        tab.url_token = client.url_token.clone();
        tabs.push(tokio::spawn(async move {
            let reply = tab.add(product, 1).await;
            (reply.status, tab)
        }));
    }
    let mut answered = 0;
    let mut last = None;
    for tab in tabs {
        let (status, tab) = tab.await.unwrap();
        if status == StatusCode::OK {
            answered += 1;
        }
        last = Some(tab);
    }
    // The browser keeps the cookies of whichever response it handled last.
    let mut browser = last.unwrap();
    let reply = browser.send(Method::GET, "/session", None).await;
    (cart_lines(&reply.body).len(), answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_to_one_server_side_session_all_land() {
    let products: Vec<i64> = (1..=12).collect();
    for strategy in strategies_where(|meta| meta.capabilities.server_copy) {
        let mut client = Client::new().await;
        client.switch(strategy).await;
        client.login("alice", "wonderland").await;
        let (lines, answered) = add_at_once(&client, &products).await;
        assert_eq!(answered, 12, "{strategy}");
        assert_eq!(lines, 12, "{strategy}: every add landed");
    }
}

/// Twelve tabs opened on one session, each adding a product: every request carries the session
/// as it was before any of them, so each response holds that cart plus its own line, and the
/// browser keeps whichever response it handled last. Sent one after another, so that the
/// outcome does not depend on how the requests interleave: with the session in the client no
/// order of them keeps more.
#[tokio::test]
async fn with_the_session_in_the_client_the_last_response_wins() {
    for strategy in strategies_where(|meta| !meta.capabilities.server_copy) {
        let mut client = Client::new().await;
        client.switch(strategy).await;
        client.login("alice", "wonderland").await;
        let mut last = None;
        for product in 1..=12 {
            let mut tab = Client::for_app(client.app.clone(), None);
            tab.cookies = client.cookies.clone();
            let reply = tab.add(product, 1).await;
            assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
            last = Some(tab);
        }
        let mut browser = last.expect("twelve tabs");
        let reply = browser.send(Method::GET, "/session", None).await;
        assert_eq!(
            cart_lines(&reply.body),
            [(12, 1)],
            "{strategy}: only the last tab's line survives; the guide says so"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_wins_over_every_write_in_flight() {
    for strategy in strategies_where(|_| true) {
        let mut client = Client::new().await;
        client.switch(strategy).await;
        client.login("alice", "wonderland").await;
        let (old_cookies, old_token) = (client.cookies.clone(), client.url_token.clone());
        let mut writes = Vec::new();
        for product in 0..50 {
            let mut tab = Client::for_app(client.app.clone(), None);
            tab.cookies = old_cookies.clone();
            tab.url_token = old_token.clone();
            writes.push(tokio::spawn(async move {
                tab.add(product % 12 + 1, 1).await.status
            }));
        }
        let logout = client.send(Method::POST, "/logout", None).await;
        assert_eq!(logout.status, StatusCode::OK, "{strategy}");
        for write in writes {
            let status = write.await.unwrap();
            // Done before the logout, refused after it (409), or, with fifty at once on a
            // loaded machine, a store that did not answer in time (503): never anything else.
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::CONFLICT,
                    StatusCode::SERVICE_UNAVAILABLE
                ]
                .contains(&status),
                "{strategy}: {status}"
            );
        }
        // Afterwards the old credential never loads again.
        let mut stale = Client::for_app(client.app.clone(), None);
        stale.cookies = old_cookies;
        stale.url_token = old_token;
        for _ in 0..3 {
            let reply = stale.send(Method::GET, "/session", None).await;
            assert_eq!(
                reply.body["user"],
                serde_json::Value::Null,
                "{strategy}: {}",
                reply.body
            );
        }
    }
}

/// The strategies whose server copy every instance shares: only theirs can be written through
/// two instances at once.
fn shared_server_copies() -> Vec<&'static str> {
    strategies_where(|meta| meta.capabilities.server_copy && meta.shared_across_instances)
}

/// Two instances of the server over the same stores and keys, as behind a load balancer: each
/// keeps its own memory and its own write turns, so only the stores' compare-and-set orders
/// their writes.
async fn two_instances() -> (Client, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let config = server::config::Config::ephemeral(dir.path().to_owned());
    let other = server::startup::build(config.clone()).await.unwrap();
    (Client::with_config(config, Some(dir)).await, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_through_two_instances_all_land() {
    let products: Vec<i64> = (1..=12).collect();
    for strategy in shared_server_copies() {
        let (mut client, other) = two_instances().await;
        client.switch(strategy).await;
        client.login("alice", "wonderland").await;
        let mut tabs = Vec::new();
        for (turn, &product) in products.iter().chain(products.iter()).enumerate() {
            let app = if turn % 2 == 0 {
                client.app.clone()
            } else {
                other.clone()
            };
            let mut tab = Client::for_app(app, None);
            tab.cookies = client.cookies.clone();
            tab.url_token = client.url_token.clone();
            tabs.push(tokio::spawn(
                async move { tab.add(product, 1).await.status },
            ));
        }
        for tab in tabs {
            assert_eq!(tab.await.unwrap(), StatusCode::OK, "{strategy}");
        }
        let reply = client.send(Method::GET, "/session", None).await;
        let lines = cart_lines(&reply.body);
        assert_eq!(lines.len(), 12, "{strategy}: every product landed");
        let quantities: Vec<i64> = lines.iter().map(|&(_, quantity)| quantity).collect();
        assert!(
            quantities.iter().all(|&quantity| quantity == 2),
            "{strategy}: each product added twice, once through each instance: {quantities:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_one_instance_wins_over_writes_on_the_other() {
    for strategy in shared_server_copies() {
        let (mut client, other) = two_instances().await;
        client.switch(strategy).await;
        client.login("alice", "wonderland").await;
        let (old_cookies, old_token) = (client.cookies.clone(), client.url_token.clone());
        let mut writes = Vec::new();
        for product in 0..30 {
            let mut tab = Client::for_app(other.clone(), None);
            tab.cookies = old_cookies.clone();
            tab.url_token = old_token.clone();
            writes.push(tokio::spawn(async move {
                tab.add(product % 12 + 1, 1).await.status
            }));
        }
        let logout = client.send(Method::POST, "/logout", None).await;
        assert_eq!(logout.status, StatusCode::OK, "{strategy}");
        for write in writes {
            let status = write.await.unwrap();
            assert!(
                [StatusCode::OK, StatusCode::CONFLICT].contains(&status),
                "{strategy}: {status}"
            );
        }
        for app in [client.app.clone(), other.clone()] {
            let mut stale = Client::for_app(app, None);
            stale.cookies = old_cookies.clone();
            stale.url_token = old_token.clone();
            let reply = stale.send(Method::GET, "/session", None).await;
            assert_eq!(
                reply.body["user"],
                serde_json::Value::Null,
                "{strategy}: {}",
                reply.body
            );
        }
    }
}
