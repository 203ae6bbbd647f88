//! Whole requests through the app's router, in process: no socket, no load generator. What each
//! strategy adds to a session read (`GET /api/v1/session`, Alice with two cart lines) over the
//! app's no-session route (`GET /api/v1/products` as a guest), with the kernel's and wrk's share
//! of the CPU left out, which on a shared 2-core host moves the HTTP benchmark
//! (`scripts/bench.mjs`) by more than most changes. Runs on one single-threaded runtime, as a
//! serving thread does, with [`IN_FLIGHT`] requests at a time as the HTTP benchmark's
//! connections are. The time reported is the thread's CPU time per request (from
//! `/proc/thread-self/schedstat`, in nanoseconds), not the wall clock: time the thread spends
//! waiting, for Redis's answer (a Redis read is mostly a loopback round trip of idle waiting) or
//! for a core, is not counted. Redis's own CPU is not counted either; the client's connection
//! task and the thread's system calls are, as in the server. Redis comes from `REDIS_URL` (`scripts/bench.sh` starts one); a
//! strategy whose store cannot be reached is reported and left out, never measured as zero.

use axum::{body::Body, Router};
use criterion::{criterion_group, criterion_main, Criterion};
use http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use server::{config::Config, startup};
use std::time::Duration;
use tower::ServiceExt;

/// The server binary's allocator: a request's allocations are a quarter of its CPU under
/// glibc's malloc, so measuring the router with another allocator than the one it is deployed
/// with would measure something else.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a browser holds: its cookies, and the signed-url strategy's token.
#[derive(Default)]
struct Visitor {
    cookies: Vec<(String, String)>,
    query: String,
}

impl Visitor {
    fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Request<Body> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{path}{}", self.query))
            .header(header::ACCEPT, "application/json");
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("a valid request")
    }

    /// Sends a request and keeps what the answer gives the client; the status and the body.
    async fn send(
        &mut self,
        app: &Router,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = app
            .clone()
            .oneshot(self.request(method, path, body.as_ref()))
            .await
            .expect("the router never fails");
        let status = response.status();
        for set_cookie in response.headers().get_all(header::SET_COOKIE) {
            let set_cookie = set_cookie.to_str().unwrap_or_default();
            let pair = set_cookie.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(kept, _)| kept != name);
            if !value.is_empty() && !set_cookie.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let session = body.get("session").unwrap_or(&body);
        if session["strategy"] == "signed-url" {
            if let Some(token) = session["credential"].as_str() {
                self.query = format!("?s={token}");
            }
        }
        (status, body)
    }
}

/// Alice, logged in under `strategy` with two cart lines; `None` if the strategy is unavailable.
async fn alice_under(app: &Router, strategy: &str) -> Option<Visitor> {
    let mut visitor = Visitor::default();
    let steps = [
        (
            Method::PUT,
            "/api/v1/session/strategy",
            json!({ "strategy": strategy }),
        ),
        (
            Method::POST,
            "/api/v1/login",
            json!({ "username": "alice", "password": "wonderland" }),
        ),
        (
            Method::POST,
            "/api/v1/cart/items",
            json!({ "product_id": 1, "quantity": 2 }),
        ),
        (
            Method::POST,
            "/api/v1/cart/items",
            json!({ "product_id": 3, "quantity": 1 }),
        ),
    ];
    for (method, path, body) in steps {
        let (status, answer) = visitor.send(app, method.clone(), path, Some(body)).await;
        if status != StatusCode::OK {
            eprintln!("{strategy} left out: {method} {path} answered {status}: {answer}");
            return None;
        }
    }
    Some(visitor)
}

/// Requests in flight at once, as `scripts/bench.sh`'s 32 connections.
const IN_FLIGHT: u32 = 32;

/// One request, answered 200 and read to the end.
async fn answer(app: Router, request: Request<Body>) {
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.unwrap();
}

/// The CPU time this thread has had (Linux), else the wall clock since the first call.
fn thread_time() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| START.get_or_init(std::time::Instant::now).elapsed())
}

/// Runs `iterations` rounds of [`IN_FLIGHT`] concurrent copies of `request`; the thread's time
/// per request.
async fn per_request(
    app: &Router,
    iterations: u64,
    request: impl Fn() -> Request<Body>,
) -> Duration {
    let started = thread_time();
    for _ in 0..iterations {
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..IN_FLIGHT {
            requests.spawn(answer(app.clone(), request()));
        }
        while let Some(answered) = requests.join_next().await {
            answered.expect("a request panicked");
        }
    }
    thread_time().saturating_sub(started) / IN_FLIGHT
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = runtime
        .block_on(startup::build(Config::ephemeral(dir.path().to_owned())))
        .expect("the app starts");
    let guest = Visitor::default();
    c.bench_function("no-session/read", |b| {
        b.to_async(&runtime).iter_custom(|iterations| {
            per_request(&app, iterations, || {
                guest.request(Method::GET, "/api/v1/products", None)
            })
        })
    });
    let strategies: Vec<String> = runtime
        .block_on(Visitor::default().send(&app, Method::GET, "/api/v1/strategies", None))
        .1
        .as_array()
        .expect("the strategies")
        .iter()
        .filter_map(|strategy| strategy["id"].as_str().map(str::to_owned))
        .collect();
    for strategy in strategies {
        let Some(visitor) = runtime.block_on(alice_under(&app, &strategy)) else {
            continue;
        };
        c.bench_function(&format!("{strategy}/read"), |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                per_request(&app, iterations, || {
                    visitor.request(Method::GET, "/api/v1/session", None)
                })
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = requests
}
criterion_main!(benches);
