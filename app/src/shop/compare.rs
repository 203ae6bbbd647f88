//! The figures on `/compare`, measured by running every backend on the current session.
//!
//! Each figure is a real save of a throwaway copy of the visitor's session (destroyed again at
//! once), so the page shows what the code does today, not what someone once wrote down.

use super::visitor::Visitor;
use super::Shop;
use crate::error::AppError;
use crate::model::{CompareRow, CompareView, LatencyView, SizeSeries, LATENCY_ROUNDS};
use session_strategies::{
    backends::cookie::COOKIE_LIMIT,
    inspect::measure::{self, SizePoint},
    session::data::MAX_CART_LINES,
    Session, SessionBackend, SessionData, Strategy,
};

/// The cart sizes the chart plots.
pub const CHART_LINES: [usize; 11] = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50];

/// Refuses when the visitor has asked for `kind` of measurement too often this minute: counted
/// per client address and per session, the session named by its key only where its
/// credential verified (a made-up credential per request earns no ration of its own).
pub(crate) async fn ration(
    shop: &Shop,
    session: &Session,
    visitor: &Visitor,
    kind: &str,
) -> Result<(), AppError> {
    let limit = shop.measurements_per_minute;
    // A guest with nothing stored yet has no key: the address counts for it.
    let by_address = visitor
        .address_key()
        .map(|address| format!("compare:{kind}:address:{address}"));
    let by_session = session
        .key()
        .map(|key| format!("compare:{kind}:session:{}", key.0));
    let counters = by_address.into_iter().chain(by_session);
    shop.measurements
        .attempt_all(counters.map(|key| (key, limit)))
        .await?;
    Ok(())
}

/// The table and the size chart for the visitor's current session, within its ration.
pub async fn compare_rationed(
    shop: &Shop,
    session: &Session,
    visitor: &Visitor,
) -> Result<CompareView, AppError> {
    ration(shop, session, visitor, "table").await?;
    Ok(compare(shop, &session.data()).await)
}

/// One strategy's latency for the visitor's current session, within its ration.
pub async fn latency_rationed(
    shop: &Shop,
    session: &Session,
    visitor: &Visitor,
    strategy: Strategy,
) -> Result<LatencyView, AppError> {
    ration(shop, session, visitor, "latency").await?;
    Ok(latency(shop, strategy, &session.data()).await)
}

/// The table and the size chart for `data`, the visitor's current session.
pub async fn compare(shop: &Shop, data: &SessionData) -> CompareView {
    let mut rows = Vec::new();
    let mut series = Vec::new();
    for strategy in Strategy::ALL {
        let meta = strategy.meta();
        let measured = match shop.measuring.get(strategy) {
            Ok(backend) => measure_strategy(backend.as_ref(), data).await,
            Err(error) => Err(error.to_string()),
        };
        let (client_bytes, server_bytes, change, size_limit, unavailable) = match measured {
            Ok(Measured {
                footprint,
                change,
                size_limit,
                points,
            }) => {
                series.push(SizeSeries {
                    id: strategy,
                    name: meta.name.to_owned(),
                    points: points
                        .into_iter()
                        .map(|point| (point.lines, point.bytes, point.refused))
                        .collect(),
                });
                (
                    Some(footprint.client_bytes),
                    Some(footprint.server_bytes),
                    Some(change),
                    size_limit,
                    None,
                )
            }
            Err(reason) => (
                None,
                None,
                None,
                "unknown: unavailable".to_owned(),
                Some(reason),
            ),
        };
        rows.push(CompareRow {
            id: strategy,
            name: meta.name.to_owned(),
            state_location: meta.state_location.to_owned(),
            client_bytes,
            server_bytes,
            change_bytes: change.map(|change| change.bytes_sent),
            change_signatures: change.map(|change| change.signatures),
            survives_restart: meta.survives_restart,
            shared_across_instances: meta.shared_across_instances,
            revocable: meta.revocable.to_owned(),
            without_cookies: meta.without_cookies.to_owned(),
            concurrent_writes: meta.concurrent_writes.to_owned(),
            second_service: format!(
                "{}: {}",
                meta.second_service.trust.method(),
                meta.second_service.needs
            ),
            learns_of_logout: meta.second_service.learns_of_logout.to_owned(),
            size_limit,
            unavailable,
        });
    }
    CompareView {
        cart_lines: data.cart.len(),
        cookie_limit: COOKIE_LIMIT,
        rows,
        series,
    }
}

/// One strategy's figures for the visitor's session.
struct Measured {
    footprint: measure::Footprint,
    change: measure::ChangeCost,
    size_limit: String,
    points: Vec<SizePoint>,
}

// `size_limit` starts from the chart's first point: the empty cart.
const _: () = assert!(CHART_LINES[0] == 0);

async fn measure_strategy(
    backend: &dyn SessionBackend,
    data: &SessionData,
) -> Result<Measured, String> {
    backend
        .availability()
        .await
        .map_err(|unavailable| unavailable.reason)?;
    let footprint = measure::footprint(backend, data)
        .await
        .map_err(|error| match error {
            session_strategies::BackendError::TooLarge { bytes, limit } => {
                format!("this cart needs {bytes} bytes, over the {limit}-byte cookie limit")
            }
            other => failed(other),
        })?;
    let change = measure::cart_change(backend, data).await.map_err(failed)?;
    let mut points = Vec::with_capacity(CHART_LINES.len());
    for lines in CHART_LINES {
        points.push(
            measure::credential_size(backend, data, lines)
                .await
                .map_err(failed)?,
        );
    }
    let size_limit = size_limit(backend, data, points[0].bytes).await?;
    Ok(Measured {
        footprint,
        change,
        size_limit,
        points,
    })
}

/// How far the client's share grows: constant, or the most cart lines that still fit in a
/// cookie, found by bisection over real saves. `empty` is the client's bytes with no cart.
async fn size_limit(
    backend: &dyn SessionBackend,
    data: &SessionData,
    empty: usize,
) -> Result<String, String> {
    let bytes = |lines| async move {
        measure::credential_size(backend, data, lines)
            .await
            .map(|point| point.bytes)
            .map_err(failed)
    };
    let full = bytes(MAX_CART_LINES).await?;
    if full == empty {
        return Ok(format!(
            "none: the client carries {empty} B whatever the cart"
        ));
    }
    if full <= COOKIE_LIMIT {
        return Ok(format!(
            "fits: the {MAX_CART_LINES}-line cart maximum takes {full} B"
        ));
    }
    // The largest line count whose bytes fit: bytes grow with lines.
    let (mut fits, mut over) = (0, MAX_CART_LINES);
    while over - fits > 1 {
        let middle = (fits + over) / 2;
        if bytes(middle).await? <= COOKIE_LIMIT {
            fits = middle;
        } else {
            over = middle;
        }
    }
    Ok(format!(
        "full at {fits} lines: past that, over the {COOKIE_LIMIT}-byte cookie limit"
    ))
}

/// Why a measurement stopped, as the page may say it: the store's own error text goes to the
/// log only.
fn failed(error: impl std::fmt::Display) -> String {
    tracing::warn!(%error, "a measurement failed");
    "its store failed during the measurement".to_owned()
}

/// Load and save latency of `strategy` against its live stores.
pub async fn latency(shop: &Shop, strategy: Strategy, data: &SessionData) -> LatencyView {
    let measured = match shop.measuring.get(strategy) {
        Ok(backend) => match backend.availability().await {
            Ok(()) => measure::latency(backend.as_ref(), data, LATENCY_ROUNDS)
                .await
                .map_err(failed),
            Err(unavailable) => Err(unavailable.reason),
        },
        Err(error) => Err(error.to_string()),
    };
    let mut view = LatencyView {
        id: strategy,
        name: strategy.meta().name.to_owned(),
        rounds: 0,
        load_median: 0.0,
        load_p95: 0.0,
        save_median: 0.0,
        save_p95: 0.0,
        unavailable: None,
    };
    match measured {
        Ok(latency) => {
            view.rounds = latency.rounds;
            view.load_median = latency.load.median_micros;
            view.load_p95 = latency.load.p95_micros;
            view.save_median = latency.save.median_micros;
            view.save_p95 = latency.save.p95_micros;
        }
        Err(reason) => view.unavailable = Some(reason),
    }
    view
}
