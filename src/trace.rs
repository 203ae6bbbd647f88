//! What the session layer did, step by step, for the inspector.
//!
//! Backends and stores call [`step`] around each piece of work (a Redis GET, a signature
//! check). The layer and [`Session`](crate::session::Session) run backend calls inside
//! [`within`], which makes a request's [`Trace`] current for that future only; outside it
//! [`step`] costs one thread-local lookup and records nothing. A request's steps then go into a
//! [`TraceBook`]: a ring of the last [`REQUESTS_KEPT`] requests per session, in memory, keyed by a
//! hash of the session's credential (so it needs no id of its own and works for cookie and JWT
//! sessions that have no server key).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    borrow::Cow,
    collections::{HashMap, VecDeque},
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::{Instant, SystemTime, UNIX_EPOCH},
};

/// Requests remembered per session.
pub const REQUESTS_KEPT: usize = 10;
/// Sessions remembered at once; the least recently active are forgotten first.
pub const SESSIONS_KEPT: usize = 10_000;
/// Steps kept for one request: a bound, not an expectation (a request takes three or four).
const STEPS_KEPT: usize = 32;

tokio::task_local! {
    static CURRENT: Trace;
}

/// Text of a trace: most labels and outcomes are fixed (`ok`, `not revoked`) and are kept
/// without a copy, as every request records a few of them and the ring drops as many.
pub type Label = Cow<'static, str>;

/// One thing a backend did, how it came out and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// What was done, as an engineer would write it: `redis GET cache:3fa2c1…`.
    pub operation: Label,
    /// `hit`, `miss`, `ok`, `expired`, `error: …`.
    pub outcome: Label,
    pub micros: f64,
}

/// The steps of one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestTrace {
    /// `GET /cart`.
    pub request: String,
    pub strategy: Label,
    /// Unix milliseconds when the request arrived.
    pub at_ms: i64,
    pub steps: Vec<TraceStep>,
    /// Time spent in the steps, in microseconds.
    pub session_micros: f64,
    /// The instance that served it (filled in when the entry is read or shared: a ring in
    /// this process holds only this instance's entries).
    #[serde(default)]
    pub instance: String,
}

/// The steps recorded for the request in progress. Cheap to clone; clones share the steps.
#[derive(Clone, Default)]
pub struct Trace {
    steps: Arc<Mutex<Vec<TraceStep>>>,
}

impl Trace {
    fn lock(&self) -> MutexGuard<'_, Vec<TraceStep>> {
        self.steps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, step: TraceStep) {
        let mut steps = self.lock();
        if steps.len() < STEPS_KEPT {
            steps.push(step);
        }
    }

    pub fn steps(&self) -> Vec<TraceStep> {
        self.lock().clone()
    }

    /// The steps so far as one request's entry.
    pub fn entry(&self, request: String, strategy: &'static str, at_ms: i64) -> RequestTrace {
        RequestTrace::of(request, strategy, at_ms, self.steps())
    }

    /// The request's steps as its entry, taking them: the request has ended.
    pub fn finish(&self, request: String, strategy: &'static str, at_ms: i64) -> RequestTrace {
        RequestTrace::of(request, strategy, at_ms, std::mem::take(&mut *self.lock()))
    }
}

impl RequestTrace {
    fn of(request: String, strategy: &'static str, at_ms: i64, steps: Vec<TraceStep>) -> Self {
        Self {
            request,
            strategy: Cow::Borrowed(strategy),
            at_ms,
            session_micros: steps.iter().map(|step| step.micros).sum(),
            steps,
            instance: String::new(),
        }
    }
}

/// A request's trace and the ring of the session it arrived with.
#[derive(Clone, Default)]
pub struct Tracing {
    pub trace: Trace,
    pub ring: Option<TraceKey>,
}

/// Runs `future` with `trace` as the current trace: the steps it records land there.
pub async fn within<F: Future>(trace: &Trace, future: F) -> F::Output {
    CURRENT.scope(trace.clone(), future).await
}

/// Records a step that started at `started`, if a trace is current. `describe` runs only then,
/// so nothing is formatted when nobody records.
pub fn step<O: Into<Label>, U: Into<Label>>(started: Instant, describe: impl FnOnce() -> (O, U)) {
    let micros = started.elapsed().as_nanos() as f64 / 1000.0;
    let _ = CURRENT.try_with(|trace| {
        let (operation, outcome) = describe();
        trace.push(TraceStep {
            operation: operation.into(),
            outcome: outcome.into(),
            micros: (micros * 10.0).round() / 10.0,
        });
    });
}

/// Times `future` and records it as `operation`, its outcome told by `outcome`.
pub async fn timed<T, O: Into<Label>, U: Into<Label>>(
    operation: impl FnOnce() -> O,
    outcome: impl FnOnce(&T) -> U,
    future: impl Future<Output = T>,
) -> T {
    let started = Instant::now();
    let result = future.await;
    step(started, || (operation(), outcome(&result)));
    result
}

/// How a trace names a request: `GET /cart`. The path only, a URL strategy's query holding the
/// session itself, and with any token in it shortened ([`redacted_path`]).
pub fn request_label(request: &http::request::Parts) -> String {
    format!("{} {}", request.method, redacted_path(request.uri.path()))
}

/// Longer path segments than this are taken for tokens (a signed link's is over 40 characters;
/// no page or API route has a segment half as long).
const TOKEN_SEGMENT: usize = 24;

/// `path` as logs and traces may show it: a segment long enough to be a token (a share or
/// magic link's) is shortened to its first characters, so whoever reads a log cannot open it.
pub fn redacted_path(path: &str) -> Cow<'_, str> {
    // Every request is labelled: most paths have nothing to shorten, and no allocation is
    // needed to say so.
    if path
        .split('/')
        .all(|segment| segment.len() <= TOKEN_SEGMENT)
    {
        return Cow::Borrowed(path);
    }
    path.split('/')
        .map(|segment| {
            if segment.len() > TOKEN_SEGMENT {
                short(segment)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

/// `ok`, or `error: …`: how a step that can fail came out.
pub fn outcome<T, E: std::fmt::Display>(result: &Result<T, E>) -> Label {
    match result {
        Ok(_) => "ok".into(),
        Err(error) => format!("error: {error}").into(),
    }
}

/// The first characters of a secret id: enough to tell sessions apart in a trace, too few to
/// be one.
pub fn short(id: &str) -> String {
    Short(id).to_string()
}

/// [`short`] inside a `format!`, without a string of its own.
pub struct Short<'a>(pub &'a str);

impl std::fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        self.0.chars().take(6).try_for_each(|c| f.write_char(c))?;
        f.write_char('…')
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

/// Names a session's trace ring without keeping its credential: a hash of the credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceKey([u8; 16]);

impl TraceKey {
    pub fn of(credential: &str) -> Self {
        let digest = Sha256::digest(credential.as_bytes());
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }
}

/// Hex: a name for the session that is not its credential (limits, logs).
impl std::fmt::Display for TraceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

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
    shared: Option<crate::redis_store::RedisConnection>,
}

/// How long a shared ring outlives its session's last request.
pub const SHARED_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// KEYS: the ring the request arrived with, the ring to file it under; ARGV: the entry, how
/// many to keep, the TTL in seconds.
const SHARED_RECORD: &str = r"
if KEYS[1] ~= KEYS[2] and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
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
    pub fn shared(mut self, redis: crate::redis_store::RedisConnection) -> Self {
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
            use tower_sessions_redis_store::fred::interfaces::ListInterface;
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
    redis: crate::redis_store::RedisConnection,
    before: Option<TraceKey>,
    after: Option<TraceKey>,
    entry: &RequestTrace,
    instance: &str,
) {
    use tower_sessions_redis_store::fred::interfaces::{KeysInterface, LuaInterface};
    let entry = RequestTrace {
        instance: instance.to_owned(),
        ..entry.clone()
    };
    let Ok(json) = serde_json::to_string(&entry) else {
        return;
    };
    tokio::spawn(async move {
        let result: Result<(), _> = match (before, after) {
            (before, Some(after)) => {
                let keys = vec![shared_key(before.unwrap_or(after)), shared_key(after)];
                let args = vec![
                    json,
                    REQUESTS_KEPT.to_string(),
                    SHARED_TTL.as_secs().to_string(),
                ];
                redis
                    .client()
                    .eval::<i64, _, _, _>(SHARED_RECORD, keys, args)
                    .await
                    .map(drop)
            }
            (Some(before), None) => redis
                .client()
                .del::<i64, _>(shared_key(before))
                .await
                .map(drop),
            (None, None) => Ok(()),
        };
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

    fn entry(request: &str) -> RequestTrace {
        Trace::default().entry(request.into(), "memory", 0)
    }

    #[test]
    fn tokens_in_paths_are_shortened_and_routes_are_not() {
        let token =
            "eyJsaW5lcyI6W1sxLDJdXX0AAAAAaWyG3A.kq3c0rW2hZ2b8mW1f0rWfR8pXy3c9s2a1b0c9d8e7f6";
        assert_eq!(redacted_path(&format!("/share/{token}")), "/share/eyJsaW…");
        assert_eq!(
            redacted_path("/api/v1/cart/items/12"),
            "/api/v1/cart/items/12"
        );
        assert_eq!(
            redacted_path("/strategies/cache-aside"),
            "/strategies/cache-aside"
        );
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

    #[tokio::test]
    async fn steps_are_recorded_only_inside_a_trace() {
        step::<&str, &str>(Instant::now(), || unreachable!("nobody is recording"));
        let trace = Trace::default();
        within(&trace, async {
            step(Instant::now(), || ("sign", "ok"));
        })
        .await;
        assert_eq!(trace.steps()[0].operation, "sign");
    }
}
