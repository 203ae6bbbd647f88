//! Redis lanes: a serving thread gets a client (a connection) of its own, any other thread
//! uses the first one, and a lane's writes are everyone's reads.

use crate::common::redis;
use session_strategies::{
    redis::{open_lanes_on_this_thread, RedisConnection},
    stores::redis::RedisRecords,
};
use std::time::{Duration, Instant};
use tower_sessions::session::{Id, Record};
use tower_sessions_redis_store::fred::{interfaces::ClientLike, types::CustomCommand};

/// Runs `work` on a thread of its own with a single-threaded runtime, as a serving thread is,
/// while this test's runtime keeps running (the first client's connection task is on it).
async fn on_a_thread<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = done.send(runtime.block_on(work));
    });
    result.await.expect("the thread panicked")
}

/// Which connection Redis sees the commands of `connection` come from, on this thread.
async fn redis_client_id(connection: &RedisConnection) -> i64 {
    let client_id = CustomCommand::new_static("CLIENT", None, false);
    connection
        .client()
        .custom(client_id, vec!["ID"])
        .await
        .unwrap()
}

#[tokio::test]
async fn a_serving_thread_talks_to_redis_on_a_connection_of_its_own() {
    let connection = redis().await;
    let first = redis_client_id(&connection).await;

    let in_lane = connection.clone();
    let (lane_id, lane_again) = on_a_thread(async move {
        open_lanes_on_this_thread(Duration::from_secs(5)).await;
        assert!(
            in_lane.is_connected(),
            "the lane's client connects before serving"
        );
        (
            redis_client_id(&in_lane).await,
            redis_client_id(&in_lane).await,
        )
    })
    .await;
    assert_ne!(
        lane_id, first,
        "the serving thread shares the first connection"
    );
    assert_eq!(lane_id, lane_again, "a lane keeps its connection");

    let elsewhere = connection.clone();
    let other_id = on_a_thread(async move { redis_client_id(&elsewhere).await }).await;
    assert_eq!(
        other_id, first,
        "a thread that is not a serving thread uses the first connection"
    );
}

#[tokio::test]
async fn what_one_lane_writes_every_thread_reads() {
    let connection = redis().await;
    let store = RedisRecords::traced(connection.clone());
    let record = Record {
        id: Id::default(),
        data: [("cart".to_owned(), serde_json::json!([3, 1]))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(5),
    };
    let written = record.clone();
    let in_lane = store.clone();
    on_a_thread(async move {
        open_lanes_on_this_thread(Duration::from_secs(5)).await;
        in_lane.create(&mut written.clone()).await.unwrap();
    })
    .await;
    let loaded = store
        .load(&record.id)
        .await
        .unwrap()
        .expect("saved on its lane");
    assert_eq!(loaded.data, record.data);
    store.delete(&record.id).await.unwrap();
    let in_lane = store.clone();
    let id = record.id;
    let after = on_a_thread(async move {
        open_lanes_on_this_thread(Duration::from_secs(5)).await;
        in_lane.load(&id).await.unwrap()
    })
    .await;
    assert!(
        after.is_none(),
        "a delete on the first client is seen on a lane"
    );
}

#[tokio::test]
async fn with_redis_down_a_lane_does_not_hold_up_its_thread() {
    // Nothing listens on port 1: the client keeps trying in the background.
    let down = RedisConnection::start("redis://127.0.0.1:1").unwrap();
    let in_lane = down.clone();
    let (waited, connected) = on_a_thread(async move {
        let started = Instant::now();
        open_lanes_on_this_thread(Duration::from_secs(30)).await;
        (started.elapsed(), in_lane.is_connected())
    })
    .await;
    assert!(!connected);
    assert!(
        waited < Duration::from_secs(10),
        "a serving thread waited {waited:?} for a Redis that is down"
    );
}
