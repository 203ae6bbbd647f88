//! What a strategy costs, measured by running its backend: the bytes a client carries and the
//! server keeps for a given session, and how long loads and saves take against the live stores.
//!
//! Every figure comes from a real save of a throwaway copy of the session, which is destroyed
//! again at once. Nothing here is typed in, so the comparison page cannot drift from the code.

use crate::session::{
    backend::{Saved, SessionBackend},
    data::{CartLine, ProductId, Quantity, SessionData},
    error::{BackendError, LoadError},
    transport::{client_bytes, request_carrying, ClientChange},
};
use crate::trace::{self, Trace};
use serde::Serialize;
use std::time::Instant;

/// The bytes one session costs under one strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Footprint {
    /// What the client sends with every request, counted by the backend's carriers.
    pub client_bytes: usize,
    /// The stored value on the server, as JSON; 0 where nothing is stored.
    pub server_bytes: usize,
}

/// Saves `data` with `backend`, measures it, and destroys it again.
pub async fn footprint(
    backend: &dyn SessionBackend,
    data: &SessionData,
) -> Result<Footprint, BackendError> {
    let saved = backend.save(data, None, false).await?;
    let client_bytes = client_bytes(backend.carriers(), &saved.client).unwrap_or_default();
    let server_bytes = match &saved.key {
        Some(key) => backend.server_copy(key).await.map_or(0, |copy| copy.bytes),
        None => 0,
    };
    backend.destroy(saved.key.as_ref()).await?;
    Ok(Footprint {
        client_bytes,
        server_bytes,
    })
}

/// What one cart change costs a strategy: what its response sends back to the client, and the
/// signatures the server computes for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeCost {
    /// The credential bytes the response sets (cookies, or a URL's token).
    pub bytes_sent: usize,
    /// Tokens signed (the trace's `sign` steps).
    pub signatures: usize,
}

/// Saves `data`, then changes its cart (one more line) and saves again as a cart change does,
/// measuring that second save; destroys it after.
pub async fn cart_change(
    backend: &dyn SessionBackend,
    data: &SessionData,
) -> Result<ChangeCost, BackendError> {
    let saved = backend.save(data, None, false).await?;
    let changed = with_cart_lines(data, data.cart.len() + 1);
    let trace = Trace::default();
    let second = trace::within(&trace, backend.save(&changed, saved.key.as_ref(), false)).await;
    let key = match &second {
        Ok(second) => second.key.as_ref(),
        Err(_) => saved.key.as_ref(),
    };
    backend.destroy(key).await?;
    let second = second?;
    let signatures = trace
        .steps()
        .iter()
        .filter(|step| step.operation.starts_with("sign "))
        .count();
    Ok(ChangeCost {
        bytes_sent: client_bytes(backend.carriers(), &second.client).unwrap_or_default(),
        signatures,
    })
}

/// Client bytes for a cart of `lines` lines, or the bytes a refused save would have needed.
pub async fn credential_size(
    backend: &dyn SessionBackend,
    base: &SessionData,
    lines: usize,
) -> Result<SizePoint, BackendError> {
    let data = with_cart_lines(base, lines);
    match footprint(backend, &data).await {
        Ok(footprint) => Ok(SizePoint {
            lines,
            bytes: footprint.client_bytes,
            refused: false,
        }),
        Err(BackendError::TooLarge { bytes, .. }) => Ok(SizePoint {
            lines,
            bytes,
            refused: true,
        }),
        Err(error) => Err(error),
    }
}

/// One point of the size chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SizePoint {
    pub lines: usize,
    pub bytes: usize,
    /// The backend refused to store it (a cookie over its limit).
    pub refused: bool,
}

/// `base` with a cart of `lines` distinct products, two of each.
pub fn with_cart_lines(base: &SessionData, lines: usize) -> SessionData {
    let mut data = base.clone();
    data.cart = (1..=lines as i64)
        .map(|id| CartLine {
            product_id: ProductId(id),
            quantity: Quantity::try_from(2).unwrap_or_else(|_| unreachable!("2 is a quantity")),
        })
        .collect();
    data
}

/// Median and 95th percentile of a run, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub median_micros: f64,
    pub p95_micros: f64,
}

impl Spread {
    /// `None` for an empty run.
    pub fn of(mut samples: Vec<f64>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let at = |quantile: f64| {
            let rank = (quantile * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        Some(Self {
            median_micros: at(0.5),
            p95_micros: at(0.95),
        })
    }
}

/// Load and save latency of one backend over `rounds` round trips.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub rounds: usize,
    pub load: Spread,
    pub save: Spread,
}

/// Why a latency run stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LatencyError {
    #[error(transparent)]
    Save(#[from] BackendError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("the session just saved did not load back")]
    Lost,
}

/// Saves `data` and loads it back from a request carrying the credential, `rounds` times,
/// then destroys the session. Each load is a full request-side load (signature checks,
/// decryption, store round trips) as the layer would run it.
pub async fn latency(
    backend: &dyn SessionBackend,
    data: &SessionData,
    rounds: usize,
) -> Result<Latency, LatencyError> {
    let rounds = rounds.max(1);
    let (mut loads, mut saves) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let mut saved = backend.save(data, None, false).await?;
    for _ in 0..rounds {
        let request = request_carrying(backend.carriers(), &saved.client);
        let started = Instant::now();
        let loaded = backend.load(&request).await?.ok_or(LatencyError::Lost)?;
        loads.push(started.elapsed().as_nanos() as f64 / 1000.0);
        let started = Instant::now();
        let next = backend
            .save(&loaded.data, loaded.key.as_ref(), false)
            .await?;
        saves.push(started.elapsed().as_nanos() as f64 / 1000.0);
        // A save may answer with only what changed (a JWT keeps its refresh cookie).
        let mut client = saved.client;
        client.retain(|old| !next.client.iter().any(|new| same_slot(old, new)));
        client.extend(next.client);
        saved = Saved { client, ..next };
    }
    backend.destroy(saved.key.as_ref()).await?;
    // `rounds` is at least one, so neither run is empty.
    match (Spread::of(loads), Spread::of(saves)) {
        (Some(load), Some(save)) => Ok(Latency { rounds, load, save }),
        _ => Err(LatencyError::Lost),
    }
}

fn same_slot(old: &ClientChange, new: &ClientChange) -> bool {
    match (old, new) {
        (ClientChange::SetCookie { name: a, .. }, ClientChange::SetCookie { name: b, .. }) => {
            a == b
        }
        (ClientChange::Credential(_), ClientChange::Credential(_))
        | (ClientChange::RefreshToken(_), ClientChange::RefreshToken(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranked_samples() {
        let spread = Spread::of((1..=100).map(f64::from).collect()).unwrap();
        assert_eq!(spread.median_micros, 50.0);
        assert_eq!(spread.p95_micros, 95.0);
        assert_eq!(Spread::of(vec![7.0]).unwrap().p95_micros, 7.0);
        assert!(Spread::of(Vec::new()).is_none());
    }

    #[test]
    fn carts_of_any_size_are_built_from_distinct_products() {
        let data = with_cart_lines(&SessionData::guest(), 50);
        assert_eq!(data.cart.len(), 50);
        assert_eq!(data.cart[49].product_id, ProductId(50));
    }
}
