//! Redis going down and coming back under a running app: its strategies answer
//! `503 strategy_unavailable` meanwhile, the rest go on, cache-aside falls back to SQL, and
//! nothing needs a restart afterwards.

use crate::common::{cart_lines, Client};
use http::{Method, StatusCode};
use server::config::Config;
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A redis-server of this test's own, on `port`, stopped on drop.
struct RedisServer(Child);

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/setup.sh installs it)");
        Self(child)
    }

    fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn redis_going_down_and_back_is_survived_without_a_restart() {
    let port = 6400 + (std::process::id() % 500) as u16;
    let redis = RedisServer::start(port);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::ephemeral(dir.path().to_owned());
    config.redis_url = format!("redis://127.0.0.1:{port}");
    let app = server::startup::build(config).await.unwrap();

    let mut on_redis = Client::for_app(app.clone(), None);
    let mut on_cache = Client::for_app(app.clone(), None);
    let mut on_memory = Client::for_app(app.clone(), None);
    assert!(
        eventually(async || on_redis.switch("redis").await.status == StatusCode::OK).await,
        "redis strategy up"
    );
    on_redis.add(1, 1).await;
    on_cache.switch("cache-aside").await;
    on_cache.add(2, 2).await;

    // Emptying the cache (every `cache:` key) loses nothing: SQL has every session.
    const EMPTY_THE_CACHE: &str =
        "for _, key in ipairs(redis.call('KEYS', 'cache:*')) do redis.call('DEL', key) end";
    let mut flush = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "EVAL", EMPTY_THE_CACHE, "0"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    flush.wait().unwrap();
    let reply = on_cache.send(Method::GET, "/session", None).await;
    assert_eq!(
        cart_lines(&reply.body),
        [(2, 2)],
        "cache-aside after its cache was emptied"
    );

    redis.stop();
    assert!(
        eventually(async || {
            on_redis.send(Method::GET, "/session", None).await.status
                == StatusCode::SERVICE_UNAVAILABLE
        })
        .await,
        "redis strategy reports unavailable"
    );
    let reply = on_redis.send(Method::GET, "/session", None).await;
    assert_eq!(reply.error_code(), "strategy_unavailable");
    // A client is told when to try again: about when a failover or a restart is over.
    assert_eq!(
        reply
            .headers
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()),
        Some("1"),
        "Retry-After"
    );
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("redis strategy is unavailable: "),
        "{message}"
    );
    let health = on_memory.send(Method::GET, "/health", None).await;
    assert_ne!(health.body["strategies"]["redis"], "available");
    assert_eq!(health.body["strategies"]["memory"], "available");
    // The other strategies go on, and cache-aside falls back to SQL.
    on_memory.add(3, 1).await;
    assert_eq!(
        cart_lines(&on_memory.send(Method::GET, "/session", None).await.body),
        [(3, 1)]
    );
    let reply = on_cache.add(4, 1).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(cart_lines(&reply.body), [(2, 2), (4, 1)]);
    let inspection = on_cache.send(Method::GET, "/inspect", None).await;
    let store = inspection.body["server"]["store"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        store.contains("cache is down"),
        "the inspector says so: {store}"
    );

    let _redis = RedisServer::start(port);
    assert!(
        eventually(async || {
            on_redis.send(Method::GET, "/session", None).await.status == StatusCode::OK
        })
        .await,
        "redis strategy back without a restart"
    );
    let reply = on_redis.add(5, 1).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = on_cache.send(Method::GET, "/session", None).await;
    assert_eq!(
        cart_lines(&reply.body),
        [(2, 2), (4, 1)],
        "cache-aside after the outage"
    );
}
