//! Revocations with no round trip on the hot path. Every instance keeps the revoked families
//! (JWT families, logged-in cookie families, ended logins) in its own memory: filled from SQL at
//! start, kept current by a Redis pub/sub message each revocation publishes, and re-read from
//! SQL every sync period ([`SYNC_PERIOD`] unless configured) as the safety net. A lookup is then
//! a hash-map read, which is what JWT's "any instance verifies it without shared state" needs
//! to be true; a revocation reaches every instance within milliseconds through Redis, and
//! within a sync period without it. Revocations are still written to the ledger underneath
//! (SQL, Redis as its fast path).
//!
//! A mirror that cannot read SQL would go on answering "not revoked" for revocations it never
//! heard of. So it is trusted for [`STALE_AFTER_PERIODS`] sync periods after its last read of
//! SQL; after that every lookup asks the ledger itself, and where the ledger cannot answer
//! either, the request is refused (`503`) rather than a revoked credential accepted
//! (`docs/SECURITY.md`). Health checks and the trace say when it is stale.

use super::{sql::SqlLedger, RevokedFamilies};
use crate::{
    clock::{now_ms, now_unix},
    redis::RedisConnection,
    session::error::Unavailable,
    trace::{
        self,
        redact::{short, Short},
    },
};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// How often every instance re-reads the revoked families from SQL, by default.
pub const SYNC_PERIOD: Duration = Duration::from_secs(5);
/// Sync periods without a read of SQL after which the mirror is no longer trusted alone.
pub const STALE_AFTER_PERIODS: u32 = 3;
/// The Redis channel revocations are announced on.
pub const CHANNEL: &str = "revocations";

/// How a revocation reached this instance, for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Revoked here.
    Local,
    /// Announced by another instance; arrived this many milliseconds after it was published.
    Announced { after_ms: i64 },
    /// Read from SQL (at start, or by the periodic re-sync).
    Synced,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    until: i64,
    arrival: Arrival,
}

/// The revocation ledger, mirrored in this instance's memory.
#[derive(Clone)]
pub struct MirroredFamilies {
    ledger: Arc<dyn RevokedFamilies>,
    sql: SqlLedger,
    redis: Option<RedisConnection>,
    revoked: Arc<RwLock<HashMap<String, Entry>>>,
    /// Whether announcements are being received.
    subscribed: (
        Arc<tokio::sync::watch::Sender<bool>>,
        tokio::sync::watch::Receiver<bool>,
    ),
    period: Duration,
    /// When SQL was last read in full.
    synced_at: Arc<RwLock<Instant>>,
}

/// How current a mirror is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// SQL was read within the last few sync periods.
    Current,
    /// SQL has not been read for this long: lookups ask the ledger.
    Stale { since: Duration },
}

impl MirroredFamilies {
    /// Fills the mirror from SQL (start-up waits for it: a restarted instance must never accept
    /// a revoked token), then keeps it current: Redis announcements when `redis` is given, and
    /// a re-read of SQL every `period`.
    pub async fn start(
        ledger: Arc<dyn RevokedFamilies>,
        sql: SqlLedger,
        redis: Option<RedisConnection>,
        period: Duration,
    ) -> Result<Self, Unavailable> {
        let mirror = Self {
            ledger,
            sql,
            redis,
            revoked: Arc::default(),
            subscribed: {
                let (sender, receiver) = tokio::sync::watch::channel(false);
                (Arc::new(sender), receiver)
            },
            period,
            synced_at: Arc::new(RwLock::new(Instant::now())),
        };
        mirror.sync().await?;
        if let Some(redis) = &mirror.redis {
            match redis.subscriber() {
                Ok(subscriber) => {
                    // Start-up does not wait for it: what is announced before the subscription
                    // is in place arrives with the next re-sync.
                    tokio::spawn(listen(
                        subscriber,
                        Arc::downgrade(&mirror.revoked),
                        mirror.subscribed.0.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "no revocation announcements: SQL re-sync only")
                }
            }
        }
        tokio::spawn(resync(mirror.clone()));
        Ok(mirror)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.revoked
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.revoked
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Re-reads every live revocation from SQL; lapsed ones are dropped.
    async fn sync(&self) -> Result<(), Unavailable> {
        let live = self.sql.live_revocations().await?;
        let now = now_unix();
        let mut revoked = self.write();
        revoked.retain(|_, entry| entry.until > now);
        for (family, until) in live {
            revoked.entry(family).or_insert(Entry {
                until,
                arrival: Arrival::Synced,
            });
        }
        drop(revoked);
        *self
            .synced_at
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        Ok(())
    }

    /// Whether the mirror read SQL recently enough to be trusted alone.
    pub fn freshness(&self) -> Freshness {
        let since = self
            .synced_at
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .elapsed();
        if since > self.period * STALE_AFTER_PERIODS {
            Freshness::Stale { since }
        } else {
            Freshness::Current
        }
    }

    /// How a revoked `family` reached this instance; `None` if it is not revoked.
    pub fn arrival(&self, family: &str) -> Option<Arrival> {
        let now = now_unix();
        self.read()
            .get(family)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.arrival)
    }

    /// Waits up to `limit` for the announcement subscription; whether it is in place.
    pub async fn until_subscribed(&self, limit: Duration) -> bool {
        let mut receiver = self.subscribed.1.clone();
        tokio::time::timeout(limit, receiver.wait_for(|subscribed| *subscribed))
            .await
            .is_ok_and(|waited| waited.is_ok())
    }

    /// How many revocations the mirror holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `{until} {published at, Unix ms} {family}`: families are base64url or `login:` handles,
/// never containing a space.
fn announcement(family: &str, until: i64) -> String {
    format!("{until} {} {family}", now_ms())
}

fn parse_announcement(text: &str) -> Option<(i64, i64, &str)> {
    let mut parts = text.splitn(3, ' ');
    let until = parts.next()?.parse().ok()?;
    let published = parts.next()?.parse().ok()?;
    Some((until, published, parts.next()?))
}

/// Applies announcements until the mirror is dropped.
async fn listen(
    subscriber: tower_sessions_redis_store::fred::clients::SubscriberClient,
    revoked: std::sync::Weak<RwLock<HashMap<String, Entry>>>,
    subscribed: Arc<tokio::sync::watch::Sender<bool>>,
) {
    use tower_sessions_redis_store::fred::interfaces::{
        ClientLike, EventInterface, PubsubInterface,
    };
    let _connection = subscriber.init().await;
    let _resubscribe = subscriber.manage_subscriptions();
    let mut messages = subscriber.message_rx();
    match subscriber.subscribe(CHANNEL).await {
        Ok(()) => {
            let _ = subscribed.send(true);
        }
        Err(error) => tracing::warn!(%error, "could not subscribe to revocation announcements"),
    }
    while let Ok(message) = messages.recv().await {
        let Some(revoked) = revoked.upgrade() else {
            return;
        };
        let Some(text) = message.value.as_str() else {
            continue;
        };
        let Some((until, published, family)) = parse_announcement(&text) else {
            continue;
        };
        let mut revoked = revoked
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        revoked.entry(family.to_owned()).or_insert(Entry {
            until,
            arrival: Arrival::Announced {
                after_ms: now_ms() - published,
            },
        });
    }
}

/// Re-reads SQL every sync period until the mirror is dropped.
async fn resync(mirror: MirroredFamilies) {
    let mut interval = tokio::time::interval(mirror.period);
    interval.tick().await;
    loop {
        interval.tick().await;
        // This task's copy is the last one: the server that made the mirror is gone.
        if Arc::strong_count(&mirror.revoked) <= 1 {
            return;
        }
        if let Err(error) = mirror.sync().await {
            tracing::warn!(%error, "could not re-read revocations from SQL");
        }
    }
}

fn describe(arrival: Option<Arrival>) -> trace::Label {
    match arrival {
        None => "not revoked".into(),
        Some(Arrival::Local) => "revoked (here)".into(),
        Some(Arrival::Announced { after_ms }) => {
            format!("revoked (announced through Redis, arrived {after_ms} ms after)").into()
        }
        Some(Arrival::Synced) => "revoked (read from SQL)".into(),
    }
}

#[async_trait]
impl RevokedFamilies for MirroredFamilies {
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable> {
        self.ledger.revoke_family(family, until).await?;
        self.write().insert(
            family.to_owned(),
            Entry {
                until,
                arrival: Arrival::Local,
            },
        );
        if let Some(redis) = self.redis.as_ref().filter(|redis| redis.is_connected()) {
            use tower_sessions_redis_store::fred::interfaces::PubsubInterface;
            let published: Result<i64, _> = trace::timed(
                || format!("redis PUBLISH {CHANNEL} {}", short(family)),
                trace::outcome,
                redis.client().publish(CHANNEL, announcement(family, until)),
            )
            .await;
            if let Err(error) = published {
                tracing::warn!(%error, "a revocation was not announced; the SQL re-sync will carry it");
            }
        }
        Ok(())
    }

    async fn is_family_revoked(&self, family: &str) -> Result<bool, Unavailable> {
        let started = std::time::Instant::now();
        let arrival = self.arrival(family);
        let freshness = self.freshness();
        trace::step(started, || {
            let outcome = match (arrival, freshness) {
                (None, Freshness::Stale { since }) => format!(
                    "stale (SQL last read {} s ago): asking the ledger",
                    since.as_secs()
                )
                .into(),
                _ => describe(arrival),
            };
            (format!("memory mirror revoked:{}", Short(family)), outcome)
        });
        match (arrival, freshness) {
            (Some(_), _) => Ok(true),
            (None, Freshness::Current) => Ok(false),
            (None, Freshness::Stale { .. }) => self.ledger.is_family_revoked(family).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back_and_nonsense_does_not() {
        let text = announcement("login:abc_DEF-1", 1_900_000_000);
        let (until, published, family) = parse_announcement(&text).unwrap();
        assert_eq!((until, family), (1_900_000_000, "login:abc_DEF-1"));
        assert!(published > 0);
        for bad in ["", "1", "1 2", "x 2 f", "1 y f"] {
            assert!(parse_announcement(bad).is_none(), "{bad:?}");
        }
    }
}
