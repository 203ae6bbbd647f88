//! The last requests of every recently active session, for the inspector: a ring per session,
//! in this process, and in Redis as well when the instances share them.

use super::{RequestTrace, TraceKey};
use crate::redis::RedisConnection;
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};
use tower_sessions_redis_store::fred::{
    error::Error,
    interfaces::{KeysInterface, ListInterface, LuaInterface},
};

/// Requests remembered per session.
pub const REQUESTS_KEPT: usize = 10;
/// Sessions remembered at once; the least recently active are forgotten first.
pub const SESSIONS_KEPT: usize = 10_000;

/// The last requests of every recently active session. Shared by all requests.
///
/// Kept in this process by default. Behind a load balancer a session's requests land on
/// several instances, so the cluster run keeps the rings in Redis as well ([`Self::shared`]),
/// where every instance reads them; they expire after [`SHARED_TTL`] without a request.
#[derive(Clone, Default)]
pub struct TraceBook {
    inner: Arc<Mutex<Book>>,
    /// The instance named in every entry this book records.
    instance: Arc<str>,
    shared: Option<RedisConnection>,
}

/// How long a shared ring outlives its session's last request.
pub const SHARED_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// KEYS: the ring; ARGV: how many entries to keep, the TTL in seconds, then the entries to
/// append, oldest first.
const SHARED_APPEND: &str = r"
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
";

fn shared_key(key: TraceKey) -> String {
    format!("trace:{key}")
}

#[derive(Default)]
struct Book {
    /// Keys are hashes already; foldhash reads them faster than SipHash.
    rings: HashMap<TraceKey, Ring, foldhash::fast::RandomState>,
    clock: u64,
}

struct Ring {
    requests: VecDeque<RequestTrace>,
    touched: u64,
}

impl Ring {
    fn empty() -> Self {
        Self {
            requests: VecDeque::with_capacity(REQUESTS_KEPT),
            touched: 0,
        }
    }
}

impl TraceBook {
    /// A book whose entries name `instance`.
    pub fn for_instance(instance: &str) -> Self {
        Self {
            instance: Arc::from(instance),
            ..Self::default()
        }
    }

    /// Keeps the rings in `redis` too, so that every instance sees every request of a session.
    pub fn shared(mut self, redis: RedisConnection) -> Self {
        self.shared = Some(redis);
        self
    }

    /// The instance this book's entries name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session's last requests, oldest first: from Redis when the book is shared and
    /// Redis answers, else from this process.
    pub async fn recent(&self, key: Option<TraceKey>) -> Vec<RequestTrace> {
        let Some(key) = key else {
            return Vec::new();
        };
        if let Some(redis) = self.shared.as_ref().filter(|redis| redis.is_connected()) {
            let found: Result<Vec<String>, _> = redis.client().lrange(shared_key(key), 0, -1).await;
            match found {
                Ok(entries) => {
                    return entries
                        .iter()
                        .filter_map(|entry| serde_json::from_str(entry).ok())
                        .collect()
                }
                Err(error) => tracing::debug!(%error, "shared traces unreadable; local ones shown"),
            }
        }
        let mut requests: Vec<RequestTrace> = self
            .lock()
            .rings
            .get(&key)
            .map(|ring| ring.requests.iter().cloned().collect())
            .unwrap_or_default();
        for request in &mut requests {
            request.instance = self.instance.to_string();
        }
        requests
    }

    /// Adds a request to the ring of the session it arrived with (`before`) and files the ring
    /// under the credential the client holds after it (`after`): a new token or a rotated id
    /// keeps its history, a session that ended loses it.
    pub fn record(&self, before: Option<TraceKey>, after: Option<TraceKey>, entry: RequestTrace) {
        if let Some(redis) = self.shared.as_ref().filter(|redis| redis.is_connected()) {
            record_shared(redis.clone(), before, after, &entry, &self.instance);
        }
        let mut book = self.lock();
        book.clock += 1;
        let touched = book.clock;
        let Some(after) = after else {
            if let Some(before) = before {
                book.rings.remove(&before);
            }
            return;
        };
        // Most requests keep their credential: their ring stays where it is.
        if before != Some(after) {
            let previous = before.and_then(|key| book.rings.remove(&key));
            book.rings
                .insert(after, previous.unwrap_or_else(Ring::empty));
        }
        let ring = book.rings.entry(after).or_insert_with(Ring::empty);
        if ring.requests.len() == REQUESTS_KEPT {
            ring.requests.pop_front();
        }
        ring.requests.push_back(entry);
        ring.touched = touched;
        if book.rings.len() > SESSIONS_KEPT {
            book.forget_oldest();
        }
    }
}

/// Files `entry` in Redis in one round trip, off the request's path (the response does not
/// wait for it).
fn record_shared(
    redis: RedisConnection,
    before: Option<TraceKey>,
    after: Option<TraceKey>,
    entry: &RequestTrace,
    instance: &str,
) {
    let entry = RequestTrace {
        instance: instance.to_owned(),
        ..entry.clone()
    };
    let Ok(json) = serde_json::to_string(&entry) else {
        return;
    };
    tokio::spawn(async move {
        let client = redis.client();
        let result: Result<(), Error> = async {
            match (before, after) {
                (before, Some(after)) => {
                    let mut entries = Vec::new();
                    // A new credential (a login, a rotation) files the ring under a new key. It
                    // moves in two steps, read and delete, then append: on a Redis Cluster the
                    // two keys are in different slots, where no one command may touch both.
                    if let Some(before) = before.filter(|before| *before != after) {
                        entries = client.lrange(shared_key(before), 0, -1).await?;
                        client.del::<i64, _>(shared_key(before)).await?;
                    }
                    entries.push(json);
                    let mut args =
                        vec![REQUESTS_KEPT.to_string(), SHARED_TTL.as_secs().to_string()];
                    args.extend(entries);
                    let keys = vec![shared_key(after)];
                    client
                        .eval::<i64, _, _, _>(SHARED_APPEND, keys, args)
                        .await?;
                }
                (Some(before), None) => {
                    client.del::<i64, _>(shared_key(before)).await?;
                }
                (None, None) => {}
            }
            Ok(())
        }
        .await;
        if let Err(error) = result {
            tracing::debug!(%error, "could not share a trace");
        }
    });
}

impl Book {
    /// Drops the least recently active tenth of the rings: amortised, so one request in a
    /// thousand pays for the scan.
    fn forget_oldest(&mut self) {
        let mut ages: Vec<u64> = self.rings.values().map(|ring| ring.touched).collect();
        let cut = ages.len() / 10;
        let (_, threshold, _) = ages.select_nth_unstable(cut);
        let threshold = *threshold;
        self.rings.retain(|_, ring| ring.touched > threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Trace;

    fn entry(request: &str) -> RequestTrace {
        Trace::default().entry(request.into(), "memory", 0)
    }

    #[tokio::test]
    async fn a_ring_keeps_the_last_requests_and_follows_the_credential() {
        let book = TraceBook::default();
        let first = TraceKey::of("a");
        book.record(None, Some(first), entry("GET /0"));
        for n in 1..=REQUESTS_KEPT {
            book.record(Some(first), Some(first), entry(&format!("GET /{n}")));
        }
        let kept = book.recent(Some(first)).await;
        assert_eq!(kept.len(), REQUESTS_KEPT);
        assert_eq!(kept[0].request, "GET /1");
        let rotated = TraceKey::of("b");
        book.record(Some(first), Some(rotated), entry("POST /login"));
        assert!(book.recent(Some(first)).await.is_empty());
        assert_eq!(
            book.recent(Some(rotated)).await.last().unwrap().request,
            "POST /login"
        );
        book.record(Some(rotated), None, entry("POST /logout"));
        assert!(book.recent(Some(rotated)).await.is_empty());
    }

    #[tokio::test]
    async fn the_book_forgets_the_least_recently_active_sessions() {
        let book = TraceBook::default();
        for n in 0..=SESSIONS_KEPT {
            book.record(None, Some(TraceKey::of(&n.to_string())), entry("GET /"));
        }
        assert!(book.lock().rings.len() <= SESSIONS_KEPT);
        assert!(book.recent(Some(TraceKey::of("0"))).await.is_empty());
        assert_eq!(
            book.recent(Some(TraceKey::of(&SESSIONS_KEPT.to_string())))
                .await
                .len(),
            1
        );
    }
}
