//! The inspector's shared traces: every instance files a session's requests in Redis, and a
//! new credential (a login, a rotation) carries the session's ring to its new key, on one Redis
//! and on a Redis Cluster, where the two keys live in different slots.

use crate::common::{redis, redis_cluster};
use session_strategies::{
    crypto::secrets::random_id,
    redis::RedisConnection,
    trace::{book::TraceBook, Trace, TraceKey},
};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_sessions_ring_follows_it_to_a_new_credential() {
    follows_it_to_a_new_credential(redis().await).await;
}

#[tokio::test]
async fn a_sessions_ring_follows_it_to_a_new_credential_on_a_redis_cluster() {
    follows_it_to_a_new_credential(redis_cluster().await).await;
}

async fn follows_it_to_a_new_credential(redis: RedisConnection) {
    let first = TraceBook::for_instance("app-1").shared(redis.clone());
    let second = TraceBook::for_instance("app-2").shared(redis);
    let guest = TraceKey::of(&random_id());
    let logged_in = TraceKey::of(&random_id());
    let entry = |request: &str| Trace::default().entry(request.to_owned(), "redis", 0);

    first.record(Some(guest), Some(guest), entry("GET /"));
    first.record(Some(guest), Some(guest), entry("POST /api/v1/cart/items"));
    // Shared off the request's path: the first two are in Redis before the login moves them.
    until(|| async { second.recent(Some(guest)).await.len() == 2 }).await;
    second.record(Some(guest), Some(logged_in), entry("POST /api/v1/login"));

    until(|| async { first.recent(Some(logged_in)).await.len() == 3 }).await;
    let moved = first.recent(Some(logged_in)).await;
    let seen: Vec<(&str, &str)> = moved
        .iter()
        .map(|request| (request.request.as_str(), request.instance.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET /", "app-1"),
            ("POST /api/v1/cart/items", "app-1"),
            ("POST /api/v1/login", "app-2"),
        ]
    );
    assert!(
        second.recent(Some(guest)).await.is_empty(),
        "the old key holds nothing"
    );
}

/// Waits up to two seconds for `condition`.
async fn until<F: std::future::Future<Output = bool>>(condition: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !condition().await {
        assert!(Instant::now() < deadline, "not within 2 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
