//! Counting attempts per key in a fixed window (failed logins, costly measurements), shared by
//! every instance through Redis, so that spreading them over instances gets nobody further. While Redis is
//! away each instance counts on its own: the limit then holds per instance rather than not at
//! all. Keys are the caller's (`user:alice`, `address:10.0.0.7`).

use fred::{interfaces::KeysInterface, types::ExpireOptions};
use session_strategies::redis::RedisConnection;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A key over its limit, and when it may try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; try again in {retry_after} s")]
pub struct TooManyAttempts {
    /// Seconds until the window ends.
    pub retry_after: u64,
}

/// Attempt counters with one window.
#[derive(Clone)]
pub struct Attempts {
    redis: Option<RedisConnection>,
    local: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
    window: Duration,
}

/// Local counters kept at most; past that the oldest windows are dropped first.
const LOCAL_KEYS: usize = 100_000;

impl Attempts {
    pub fn new(redis: Option<RedisConnection>, window: Duration) -> Self {
        Self {
            redis,
            local: Arc::default(),
            window,
        }
    }

    fn redis_key(key: &str) -> String {
        format!("attempts:{key}")
    }

    fn shared(&self) -> Option<&RedisConnection> {
        self.redis.as_ref().filter(|redis| redis.is_connected())
    }

    /// Refuses when `key` has been counted `limit` times in the current window.
    pub async fn check(&self, key: &str, limit: u32) -> Result<(), TooManyAttempts> {
        let (count, left) = match self.shared() {
            Some(redis) => {
                let client = redis.client();
                let key = Self::redis_key(key);
                let count: Option<u32> = client.get(&key).await.ok().flatten();
                let left: i64 = match count {
                    Some(count) if count >= limit => client.ttl(&key).await.unwrap_or(1),
                    _ => 0,
                };
                (count.unwrap_or(0), Duration::from_secs(left.max(1) as u64))
            }
            None => {
                let local = self.lock();
                match local.get(key) {
                    Some((count, started)) if started.elapsed() < self.window => {
                        (*count, self.window - started.elapsed())
                    }
                    _ => (0, Duration::ZERO),
                }
            }
        };
        if count >= limit {
            return Err(TooManyAttempts {
                retry_after: left.as_secs().max(1),
            });
        }
        Ok(())
    }

    /// Counts an attempt for `key`; the window starts at its first one.
    pub async fn count(&self, key: &str) {
        if let Some(redis) = self.shared() {
            let client = redis.client();
            let redis_key = Self::redis_key(key);
            let counted: Result<i64, _> = client.incr(&redis_key).await;
            let windowed: Result<(), _> = client
                .expire(
                    &redis_key,
                    self.window.as_secs() as i64,
                    Some(ExpireOptions::NX),
                )
                .await;
            if counted.is_ok() && windowed.is_ok() {
                return;
            }
            tracing::warn!("could not count an attempt in Redis; counting here");
        }
        let mut local = self.lock();
        if local.len() >= LOCAL_KEYS {
            let window = self.window;
            local.retain(|_, (_, started)| started.elapsed() < window);
        }
        let entry = local.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets `key`'s failures (after a success).
    pub async fn clear(&self, key: &str) {
        if let Some(redis) = self.shared() {
            let _: Result<(), _> = redis.client().del(Self::redis_key(key)).await;
        }
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_redis_a_key_is_refused_at_its_limit_until_the_window_ends() {
        let attempts = Attempts::new(None, Duration::from_millis(300));
        for _ in 0..3 {
            assert!(attempts.check("user:mallory", 3).await.is_ok());
            attempts.count("user:mallory").await;
        }
        let refused = attempts.check("user:mallory", 3).await.unwrap_err();
        assert!(refused.retry_after >= 1);
        assert!(
            attempts.check("user:alice", 3).await.is_ok(),
            "other keys are free"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(attempts.check("user:mallory", 3).await.is_ok());
        attempts.count("user:mallory").await;
        attempts.clear("user:mallory").await;
        assert!(attempts.check("user:mallory", 1).await.is_ok());
    }
}
