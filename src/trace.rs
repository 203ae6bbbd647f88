//! What the session layer did, step by step, for the inspector.
//!
//! Backends and stores call [`step`] around each piece of work (a Redis GET, a signature
//! check). The session layer and its per-request handle run backend calls inside
//! [`within`], which makes a request's [`Trace`] current for that future only; outside it
//! [`step`] costs one thread-local lookup and records nothing. A request's steps then go into a
//! [`book::TraceBook`]: a ring of the last [`book::REQUESTS_KEPT`] requests per session, keyed by
//! a hash of the session's credential ([`TraceKey`]), so it needs no id of its own and works
//! for cookie and JWT sessions that have no server key. [`redact`] keeps secrets out of what a
//! trace or a log shows.

pub mod book;
pub mod redact;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    borrow::Cow,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

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
/// session itself, and with any token in it shortened ([`redact::redacted_path`]).
pub fn request_label(request: &http::request::Parts) -> String {
    format!(
        "{} {}",
        request.method,
        redact::redacted_path(request.uri.path())
    )
}

/// `ok`, or `error: …`: how a step that can fail came out.
pub fn outcome<T, E: std::fmt::Display>(result: &Result<T, E>) -> Label {
    match result {
        Ok(_) => "ok".into(),
        Err(error) => format!("error: {error}").into(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
