//! Shared-cart and magic-login links: they work once opened in another session, and expired,
//! altered or reused ones are refused with a clear error.

use crate::common::{cart_lines, Client};
use axum::body::Body;
use http::{header, Method, Request, StatusCode};
use serde_json::json;
use server::config::Config;
use session_strategies::{clock::now_unix, crypto::url_signer::UrlSigner};
use tower::ServiceExt;

/// A request for `path` carrying `client`'s cookies.
fn browser_request(client: &Client, method: Method, path: &str) -> Request<Body> {
    let cookie = client
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Opens `path` as a browser would: the GET shows a button and changes nothing, the button's
/// POST does what the link says. Returns where the POST redirects.
async fn open(client: &mut Client, path: &str) -> String {
    let page = client
        .app
        .clone()
        .oneshot(browser_request(client, Method::GET, path))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    assert!(
        page.headers().get(header::SET_COOKIE).is_none(),
        "a GET changes nothing"
    );
    let html = http_body_util::BodyExt::collect(page.into_body())
        .await
        .unwrap()
        .to_bytes();
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains("<form method=\"post\""), "{html}");
    let request = browser_request(client, Method::POST, path);
    let response = client.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    for set_cookie in response.headers().get_all(header::SET_COOKIE) {
        let set_cookie = set_cookie.to_str().unwrap();
        let (name, value) = set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap();
        client.cookies.insert(name.to_owned(), value.to_owned());
    }
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn two_clients() -> (Client, Client, UrlSigner) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::ephemeral(dir.path().to_owned());
    let signer = UrlSigner::derived(&config.session_keys, "links");
    let first = Client::with_config(config, Some(dir)).await;
    let second = Client::for_app(first.app.clone(), None);
    (first, second, signer)
}

#[tokio::test]
async fn a_shared_cart_link_gives_its_opener_a_copy() {
    let (mut alice, mut friend, _) = two_clients().await;
    alice.add(2, 3).await;
    alice.add(7, 1).await;
    let reply = alice.send(Method::POST, "/cart/share", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let url = reply.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/share/"));

    friend.switch("cookie").await;
    assert_eq!(open(&mut friend, &url).await, "/cart");
    let reply = friend.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&reply.body), [(2, 3), (7, 1)]);
    // The original is untouched.
    let reply = alice.send(Method::GET, "/session", None).await;
    assert_eq!(cart_lines(&reply.body), [(2, 3), (7, 1)]);
}

#[tokio::test]
async fn altered_or_expired_share_links_are_refused() {
    let (mut alice, mut friend, signer) = two_clients().await;
    alice.add(1, 1).await;
    let url = alice.send(Method::POST, "/cart/share", None).await.body["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut altered = url.clone().into_bytes();
    let index = altered.len() - 5;
    altered[index] = if altered[index] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(
        open(&mut friend, &altered).await,
        "/cart?error=link_invalid"
    );
    let expired = signer.sign("share-cart", br#"{"lines":[[1,1]]}"#, now_unix() - 1);
    assert_eq!(
        open(&mut friend, &format!("/share/{expired}")).await,
        "/cart?error=link_expired"
    );
    // A session token is no share link: purposes do not mix.
    let forged = signer.sign("session", br#"{"lines":[[1,1]]}"#, now_unix() + 60);
    assert_eq!(
        open(&mut friend, &format!("/share/{forged}")).await,
        "/cart?error=link_invalid"
    );
    let reply = friend.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["cart"]["count"], 0);
}

/// The newest link the demo outbox holds for `username`.
async fn mailed_link(client: &mut Client, username: &str) -> Option<String> {
    let outbox = client.send(Method::GET, "/outbox", None).await;
    assert_eq!(outbox.status, StatusCode::OK, "{}", outbox.body);
    outbox.body.as_array().unwrap().iter().find_map(|message| {
        (message["recipient"] == username).then(|| message["link"].as_str().unwrap().to_owned())
    })
}

#[tokio::test]
async fn a_magic_link_goes_to_the_mailbox_and_logs_in_once() {
    let (mut visitor, mut other, signer) = two_clients().await;
    let reply = visitor
        .send(
            Method::POST,
            "/login/magic",
            Some(json!({"username": "alice"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(
        !reply.body.to_string().contains("/magic/"),
        "the link never goes back to whoever asked: {}",
        reply.body
    );
    let url = mailed_link(&mut visitor, "alice")
        .await
        .expect("a link in alice's mail");
    visitor.add(4, 1).await;
    assert_eq!(open(&mut visitor, &url).await, "/");
    let reply = visitor.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["user"]["username"], "alice");
    assert_eq!(
        cart_lines(&reply.body),
        [(4, 1)],
        "the guest cart comes along"
    );

    assert_eq!(open(&mut other, &url).await, "/login?error=link_used");
    let reply = other.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["user"], serde_json::Value::Null);

    let expired = signer.sign(
        "magic-login",
        br#"{"user_id":1,"username":"alice","jti":"x"}"#,
        now_unix() - 1,
    );
    assert_eq!(
        open(&mut other, &format!("/magic/{expired}")).await,
        "/login?error=link_expired"
    );

    // Nobody learns whether a user exists: the same answer, and no mail.
    let reply = visitor
        .send(
            Method::POST,
            "/login/magic",
            Some(json!({"username": "mallory"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(mailed_link(&mut visitor, "mallory").await, None);
}

#[tokio::test]
async fn opening_a_magic_link_without_pressing_its_button_spends_nothing() {
    let (mut visitor, mut scanner, _) = two_clients().await;
    visitor
        .send(
            Method::POST,
            "/login/magic",
            Some(json!({"username": "bob"})),
        )
        .await;
    let url = mailed_link(&mut visitor, "bob").await.unwrap();
    // A mail scanner or a prefetcher follows the link: a GET, nothing more.
    for _ in 0..3 {
        let response = scanner
            .app
            .clone()
            .oneshot(browser_request(&scanner, Method::GET, &url))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let reply = scanner.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["user"], serde_json::Value::Null);
    // The link still works for its owner, once.
    assert_eq!(open(&mut visitor, &url).await, "/");
    let reply = visitor.send(Method::GET, "/session", None).await;
    assert_eq!(reply.body["user"]["username"], "bob");
}
