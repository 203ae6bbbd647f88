//! A test client for the JSON API: the real router driven with `oneshot`, a cookie jar kept
//! by hand, and the URL token or Bearer token a strategy hands out.

use axum::{body::Body, Router};
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use server::{config::Config, startup};
use session_strategies::{strategy::StrategyMeta, Strategy};
use std::collections::BTreeMap;
use tower::ServiceExt;

/// The ids of the catalogue's strategies whose entry `keep` accepts, in catalogue order.
pub fn strategies_where(keep: impl Fn(&StrategyMeta) -> bool) -> Vec<&'static str> {
    Strategy::ALL
        .iter()
        .map(|strategy| strategy.meta())
        .filter(|meta| keep(meta))
        .map(|meta| meta.id)
        .collect()
}

/// Every strategy the server runs, in the order `GET /strategies` lists them.
pub async fn strategy_ids() -> Vec<String> {
    let reply = Client::new()
        .await
        .send(Method::GET, "/strategies", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
        .body
        .as_array()
        .expect("a list of strategies")
        .iter()
        .map(|strategy| strategy["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// What a client holding `strategy`'s session sends for it on every request: its credential
/// cookies and URL parameter as `GET /strategies` names them (not the cookie naming the
/// strategy, nor the login limiter's device cookie).
pub async fn carried_bytes(client: &mut Client, strategy: &str) -> usize {
    let strategies = client.send(Method::GET, "/strategies", None).await.body;
    let info = strategies
        .as_array()
        .unwrap()
        .iter()
        .find(|info| info["id"] == strategy)
        .unwrap_or_else(|| panic!("{strategy} not in {strategies}"));
    let mut bytes = 0;
    for carrier in info["credentials"].as_array().unwrap() {
        let name = carrier["name"].as_str().unwrap();
        let value = match carrier["transport"].as_str().unwrap() {
            "cookie" => client.cookies.get(name),
            "url" => client.url_token.as_ref(),
            _ => None,
        };
        bytes += value.map_or(0, |value| name.len() + 1 + value.len());
    }
    bytes
}

pub struct Client {
    pub app: Router,
    pub cookies: BTreeMap<String, String>,
    /// `?s=` for every request (signed-url), when set.
    pub url_token: Option<String>,
    /// `Authorization: Bearer` for every request (jwt API clients), when set.
    pub bearer: Option<String>,
    /// Send no cookies and keep none, as a mobile app or curl without a jar.
    pub cookieless: bool,
    pub strategy_header: Option<String>,
    /// The socket peer the app sees: a loopback address of this client's own, as if each
    /// client were a browser on this machine (the outbox and the cluster controls answer only
    /// those), each counted on its own by the per-address limits.
    pub peer: std::net::SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    /// The session view of this reply (checkout nests it).
    pub fn session(&self) -> &Value {
        if self.body.get("session").is_some() {
            &self.body["session"]
        } else {
            &self.body
        }
    }
}

impl Client {
    /// A client of a new app over a fresh SQLite file.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::ephemeral(dir.path().to_owned());
        Self::with_config(config, Some(dir)).await
    }

    /// A client of a new app whose configuration `adjust` changes first.
    pub async fn configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::ephemeral(dir.path().to_owned());
        adjust(&mut config);
        Self::with_config(config, Some(dir)).await
    }

    pub async fn with_config(config: Config, dir: Option<tempfile::TempDir>) -> Self {
        let app = startup::build(config).await.unwrap();
        Self::for_app(app, dir)
    }

    /// Another client of the same app (another browser, another device).
    pub fn for_app(app: Router, dir: Option<tempfile::TempDir>) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
            url_token: None,
            bearer: None,
            cookieless: false,
            strategy_header: None,
            peer: {
                let [a, b, c] = session_strategies::crypto::secrets::random_bytes::<3>();
                std::net::SocketAddr::from(([127, a, b, c.max(1)], 40_000))
            },
            _dir: dir,
        }
    }

    pub async fn send(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_raw(method, path, body.map(|b| b.to_string()), &[])
            .await
    }

    /// The `Cookie` header carrying every cookie this client holds.
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A page (not the API) as a browser asks for it, with this client's cookies: its status,
    /// its `Set-Cookie` headers and its HTML.
    pub async fn page(&self, path: &str) -> (StatusCode, Vec<String>, String) {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if !self.cookies.is_empty() {
            request = request.header(header::COOKIE, self.cookie_header());
        }
        let mut request = request.body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap_or_default().to_owned())
            .collect();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            set_cookies,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    pub async fn send_raw(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        extra_headers: &[(&str, &str)],
    ) -> Reply {
        let uri = match &self.url_token {
            Some(token) => format!("/api/v1{path}?s={token}"),
            None => format!("/api/v1{path}"),
        };
        let mut request = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() && !self.cookieless {
            request = request.header(header::COOKIE, self.cookie_header());
        }
        if let Some(token) = &self.bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(strategy) = &self.strategy_header {
            request = request.header("x-session-strategy", strategy.as_str());
        }
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        let typed = extra_headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        let mut request = match body {
            Some(body) if typed => request.body(Body::from(body)),
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let reply = Reply {
            status,
            headers,
            body,
        };
        if !self.cookieless {
            for set_cookie in reply.set_cookies() {
                let pair = set_cookie.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                if value.is_empty() || set_cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        // A URL token lives as long as the session is a signed-url one.
        let session = reply.session();
        if reply.status.is_success() && session.get("strategy").is_some() {
            if session["strategy"] == "signed-url" {
                if let Some(token) = session["credential"].as_str() {
                    self.url_token = Some(token.to_owned());
                }
            } else {
                self.url_token = None;
            }
            if self.bearer.is_some() {
                if let Some(token) = session["credential"].as_str() {
                    self.bearer = Some(token.to_owned());
                }
            }
        }
        reply
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        self.send(
            Method::POST,
            "/login",
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    pub async fn add(&mut self, product_id: i64, quantity: i64) -> Reply {
        self.send(
            Method::POST,
            "/cart/items",
            Some(json!({"product_id": product_id, "quantity": quantity})),
        )
        .await
    }

    pub async fn switch(&mut self, strategy: &str) -> Reply {
        self.send(
            Method::PUT,
            "/session/strategy",
            Some(json!({"strategy": strategy})),
        )
        .await
    }

    /// Switches to `strategy` and logs in as alice, each step checked: a test that went on after
    /// a failed switch (its store down, say) would test the strategy it was already under.
    pub async fn log_in_under(&mut self, strategy: &str) {
        let switched = self.switch(strategy).await;
        assert_eq!(
            switched.status,
            StatusCode::OK,
            "{strategy}: {}",
            switched.body
        );
        let login = self.login("alice", "wonderland").await;
        assert_eq!(login.status, StatusCode::OK, "{strategy}: {}", login.body);
    }
}

pub fn cart_lines(body: &Value) -> Vec<(i64, i64)> {
    body["cart"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["product_id"].as_i64().unwrap(),
                item["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}
