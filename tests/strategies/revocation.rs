//! The revocation ledger as every instance sees it: SQL under Redis, and the in-memory mirror
//! each instance keeps current through Redis announcements (on one Redis or a Redis Cluster)
//! and a re-read of SQL.

use crate::common::{ledger, redis, redis_cluster, redis_database};
use session_strategies::{
    clock::now_unix,
    crypto::secrets::random_id,
    redis::RedisConnection,
    revocation::{
        mirror::{Arrival, MirroredFamilies, SYNC_PERIOD},
        redis::RedisFirstFamilies,
        RevokedFamilies,
    },
};
use std::{sync::Arc, time::Instant};

#[tokio::test]
async fn losing_redis_never_takes_a_revocation_back() {
    let sql = ledger().await;
    let before = RedisFirstFamilies::new(redis().await, sql.clone());
    let family = random_id();
    before
        .revoke_family(&family, now_unix() + 600)
        .await
        .unwrap();
    assert!(before.is_family_revoked(&family).await.unwrap());
    // The same ledger after a Redis flush: an empty Redis (a database nothing wrote to).
    let flushed = RedisFirstFamilies::new(redis_database(7).await, sql);
    assert!(
        flushed.is_family_revoked(&family).await.unwrap(),
        "SQL still says so"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_every_instance_within_a_second() {
    reaches_every_instance_within_a_second(redis().await).await;
}

/// On a cluster the subscriber and the publisher each talk to a node of fred's choosing, the
/// same one or two different ones: either way the announcement arrives (a cluster carries a
/// `PUBLISH` to every node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_every_instance_within_a_second_through_a_redis_cluster() {
    reaches_every_instance_within_a_second(redis_cluster().await).await;
}

/// Two instances' mirrors over one ledger: a revocation made on one reaches the other through
/// `redis` in well under a second (the figure is printed), and without Redis through the SQL
/// re-sync; a lookup makes no round trip either way.
async fn reaches_every_instance_within_a_second(redis: RedisConnection) {
    let sql = ledger().await;
    let mirror = |announcements: Option<RedisConnection>| {
        let underneath: Arc<dyn RevokedFamilies> =
            Arc::new(RedisFirstFamilies::new(redis.clone(), sql.clone()));
        MirroredFamilies::start(underneath, sql.clone(), announcements, SYNC_PERIOD)
    };
    let here = mirror(Some(redis.clone())).await.unwrap();
    let there = mirror(Some(redis.clone())).await.unwrap();
    let without_redis = mirror(None).await.unwrap();
    assert!(
        here.until_subscribed(std::time::Duration::from_secs(5))
            .await
    );
    assert!(
        there
            .until_subscribed(std::time::Duration::from_secs(5))
            .await
    );

    let family = random_id();
    assert!(!there.is_family_revoked(&family).await.unwrap());
    let revoked_at = Instant::now();
    here.revoke_family(&family, now_unix() + 600).await.unwrap();
    assert_eq!(here.arrival(&family), Some(Arrival::Local));
    while there.arrival(&family).is_none() {
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(1),
            "not announced within 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let Some(Arrival::Announced { after_ms }) = there.arrival(&family) else {
        panic!("announced through Redis: {:?}", there.arrival(&family));
    };
    println!("revocation propagated through Redis pub/sub in {after_ms} ms");
    assert!(after_ms < 1_000);
    assert!(there.is_family_revoked(&family).await.unwrap());

    // Without Redis, the periodic re-read of SQL carries it.
    while without_redis.arrival(&family).is_none() {
        assert!(
            revoked_at.elapsed() < SYNC_PERIOD * 2,
            "not re-read from SQL within two periods"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(without_redis.arrival(&family), Some(Arrival::Synced));

    // A new instance starts with every live revocation.
    let late = mirror(None).await.unwrap();
    assert_eq!(late.arrival(&family), Some(Arrival::Synced));
}
