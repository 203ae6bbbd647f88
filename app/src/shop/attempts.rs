//! Counting attempts per key in a fixed window (logins, magic links, costly measurements),
//! shared by every instance through Redis, so that spreading them over instances gets nobody
//! further. While Redis is away each instance counts on its own: the limit then holds per
//! instance rather than not at all. Keys are the caller's (`user:alice`, `address:10.0.0.7`).
//!
//! An attempt is counted before it is made, in one atomic step that also answers the count
//! ([`Attempts::attempt`]): checking first and counting after the attempt (a password hash
//! later) let 200 guesses sent at once all pass a check that had seen none of them.

use fred::interfaces::LuaInterface;
use session_strategies::redis::RedisConnection;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A key over its limit, and when it may try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; try again in {retry_after} s")]
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

/// Local counters kept at most; past that the ended windows are dropped, and if none has
/// ended, every counter (a flood of new keys while Redis is down restarts each window).
const LOCAL_KEYS: usize = 100_000;

/// KEYS[1]: the counter; ARGV[1]: the window in seconds. Counts one attempt, starting the
/// window at the first, and answers the count and the seconds the window has left.
const COUNT_ATTEMPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('TTL', KEYS[1])}
";

/// KEYS[1]: the counter. Takes one attempt back, if any is counted.
const FORGIVE_ATTEMPT: &str = r"
if (tonumber(redis.call('GET', KEYS[1]) or '0')) > 0 then
  redis.call('DECR', KEYS[1])
end
return 1
";

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

    /// Counts an attempt against each `(key, limit)` in turn; refused at the first that is
    /// over its limit (those after it are not counted).
    pub async fn attempt_all(
        &self,
        counters: impl IntoIterator<Item = (String, u32)>,
    ) -> Result<(), TooManyAttempts> {
        for (key, limit) in counters {
            self.attempt(&key, limit).await?;
        }
        Ok(())
    }

    /// Counts an attempt for `key`, and refuses it if it is over `limit` in the current window.
    pub async fn attempt(&self, key: &str, limit: u32) -> Result<(), TooManyAttempts> {
        let (count, left) = match self.count_shared(key).await {
            Some(counted) => counted,
            None => self.count_here(key),
        };
        if count > limit {
            return Err(TooManyAttempts {
                retry_after: left.as_secs().max(1),
            });
        }
        Ok(())
    }

    /// Counts in Redis: the count and the window's time left, or `None` when Redis cannot.
    async fn count_shared(&self, key: &str) -> Option<(u32, Duration)> {
        let redis = self.shared()?;
        let window = self.window.as_secs().max(1).to_string();
        let counted: Result<(i64, i64), _> = redis
            .client()
            .eval(COUNT_ATTEMPT, vec![Self::redis_key(key)], vec![window])
            .await;
        match counted {
            Ok((count, left)) => Some((
                u32::try_from(count).unwrap_or(u32::MAX),
                Duration::from_secs(left.max(1) as u64),
            )),
            Err(error) => {
                tracing::warn!(%error, "could not count an attempt in Redis; counting here");
                None
            }
        }
    }

    fn count_here(&self, key: &str) -> (u32, Duration) {
        let mut local = self.lock();
        if local.len() >= LOCAL_KEYS {
            let window = self.window;
            local.retain(|_, (_, started)| started.elapsed() < window);
            if local.len() >= LOCAL_KEYS {
                tracing::warn!("{LOCAL_KEYS} attempt counters in this process: starting over");
                local.clear();
            }
        }
        let entry = local.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
        (entry.0, self.window.saturating_sub(entry.1.elapsed()))
    }

    /// Takes back an attempt counted for `key` that turned out to be no guess (a login with the
    /// right password): the owner's own logins never use up the limit.
    pub async fn forgive(&self, key: &str) {
        if let Some(redis) = self.shared() {
            let forgiven: Result<i64, _> = redis
                .client()
                .eval(
                    FORGIVE_ATTEMPT,
                    vec![Self::redis_key(key)],
                    Vec::<String>::new(),
                )
                .await;
            if forgiven.is_ok() {
                return;
            }
        }
        if let Some((count, _)) = self.lock().get_mut(key) {
            *count = count.saturating_sub(1);
        }
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
    async fn without_redis_a_key_is_refused_past_its_limit_until_the_window_ends() {
        let attempts = Attempts::new(None, Duration::from_millis(300));
        for _ in 0..3 {
            assert!(attempts.attempt("user:mallory", 3).await.is_ok());
        }
        let refused = attempts.attempt("user:mallory", 3).await.unwrap_err();
        assert!(refused.retry_after >= 1);
        assert!(
            attempts.attempt("user:alice", 3).await.is_ok(),
            "other keys are free"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(attempts.attempt("user:mallory", 1).await.is_ok());
        attempts.forgive("user:mallory").await;
        assert!(
            attempts.attempt("user:mallory", 1).await.is_ok(),
            "a forgiven attempt does not count"
        );
    }
}
