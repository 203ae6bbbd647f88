//! Deleting expired sessions in the background, for the stores whose engine does not expire
//! them by itself (memory, SQL; Redis and Memcached do).

use std::{future::Future, time::Duration};
use tower_sessions::session_store::{self, ExpiredDeletion};

/// How often expired sessions are swept.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Runs `pass` (one sweep of a store's expired sessions) every `period`, in the background.
/// A pass that fails is logged and the next one tried (tower-sessions' own loop stops at the
/// first error). Each pass's duration is logged (at `debug`, at `info` when slow): the scale
/// benchmark reads it.
pub fn sweep<F, Pass>(store_name: &'static str, period: Duration, pass: F)
where
    F: Fn() -> Pass + Send + 'static,
    Pass: Future<Output = session_store::Result<()>> + Send,
{
    tokio::spawn(async move {
        // The first pass one period after start: a starting instance has other work.
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let started = std::time::Instant::now();
            let swept = pass().await;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            let elapsed = format!("{elapsed_ms:.1}");
            match swept {
                Err(error) => {
                    tracing::warn!(store_name, %error, "the expired-session sweep failed")
                }
                Ok(()) if elapsed_ms >= SLOW_SWEEP_MS => {
                    tracing::info!(store_name, elapsed_ms = %elapsed, "swept expired sessions (slow)")
                }
                Ok(()) => {
                    tracing::debug!(store_name, elapsed_ms = %elapsed, "swept expired sessions")
                }
            }
        }
    });
}

/// [`sweep`] with tower-sessions' own `delete_expired` of `store` as the pass.
pub fn sweep_expired<S>(store_name: &'static str, store: S, period: Duration)
where
    S: ExpiredDeletion + Clone + 'static,
{
    sweep(store_name, period, move || {
        let store = store.clone();
        async move { store.delete_expired().await }
    });
}

/// A sweep that takes this long is worth a line in the log.
const SLOW_SWEEP_MS: f64 = 100.0;
