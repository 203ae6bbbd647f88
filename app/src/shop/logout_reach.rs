//! How long a logout at the shop takes to reach the orders service, per strategy, measured
//! live for `/cluster`: a session of a throwaway user (id 0, who has no orders) is saved with
//! the strategy's serving backend, shown to the orders service until it accepts it, ended as a
//! logout ends it, then shown again until it is refused. The live stores and ledgers are used,
//! so it is rationed as `/compare`'s measurements are.

use super::{
    compare::ration,
    orders_service::{Forwarded, OrdersService},
    visitor::Visitor,
    Shop,
};
use crate::{
    error::{AppError, ErrorCode},
    model::LogoutReach,
};
use http::{HeaderValue, Method};
use session_strategies::{
    session::transport::{cookie_name, own_carrier, ClientChange},
    strategy::Trust,
    Session, SessionBackend, SessionData, SessionUser, Strategy,
};
use std::time::{Duration, Instant};

/// How long a logged-out credential is tried before the measurement gives up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(3);
/// The throwaway sessions' user: no account has this id, so it has no orders.
const PROBE_USER: i64 = 0;
/// One measurement at a time in this process: each polls the orders service for up to
/// [`GIVE_UP_AFTER`] per strategy.
static UNDER_WAY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Every strategy's measurement, within the visitor's ration.
pub async fn measure(
    shop: &Shop,
    session: &Session,
    visitor: &Visitor,
) -> Result<Vec<LogoutReach>, AppError> {
    ration(shop, session, visitor, "logout-reach").await?;
    let _alone = UNDER_WAY.try_acquire().map_err(|_| {
        let mut busy = AppError::new(
            ErrorCode::TooManyAttempts,
            "another measurement is under way: try again in a moment",
        );
        busy.retry_after = Some(1);
        busy
    })?;
    let service = shop.orders_service.as_ref().ok_or_else(|| {
        AppError::new(
            ErrorCode::ServiceUnavailable,
            "this shop runs without an orders service (ORDERS_URL=off)",
        )
    })?;
    let mut measured = Vec::new();
    for strategy in shop.registry.strategies() {
        let outcome = match strategy.meta().second_service.trust {
            Trust::Cannot => Err("the orders service cannot check these sessions".to_owned()),
            _ => match shop.registry.get(strategy) {
                Ok(backend) => reach(shop, &**service, strategy, &*backend).await,
                Err(error) => Err(error.to_string()),
            },
        };
        measured.push(LogoutReach {
            strategy: strategy.id().to_owned(),
            micros: outcome.as_ref().ok().copied(),
            note: outcome.err(),
        });
    }
    Ok(measured)
}

/// Microseconds from the end of a logout to the first refusal at the orders service. The
/// throwaway session is ended whatever happens.
async fn reach(
    shop: &Shop,
    service: &dyn OrdersService,
    strategy: Strategy,
    backend: &dyn SessionBackend,
) -> Result<u64, String> {
    let mut data = SessionData::guest_for(shop.registry.max_age());
    data.user = Some(SessionUser {
        id: PROBE_USER,
        username: "logout-probe".into(),
    });
    let saved = backend
        .save(&data, None, true)
        .await
        .map_err(|error| error.to_string())?;
    let visitor = carrying(shop, strategy, backend, &saved.client);
    let status = |visitor| async move {
        let reply = service.call(Method::GET, visitor).await?;
        Ok::<_, String>(reply.status)
    };
    let accepted = status(&visitor).await;
    let ended = backend.destroy(saved.key.as_ref()).await;
    let logged_out = Instant::now();
    match (accepted?, ended) {
        (200, Ok(_)) => {}
        (_, Err(error)) => return Err(error.to_string()),
        (other, _) => {
            return Err(format!(
                "the orders service answered {other} before the logout"
            ))
        }
    }
    while logged_out.elapsed() < GIVE_UP_AFTER {
        if status(&visitor).await? == 401 {
            return Ok(logged_out.elapsed().as_micros() as u64);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err(format!("still accepted {GIVE_UP_AFTER:?} after the logout"))
}

/// A browser holding what `changes` hand out: its cookies, and a credential it sends itself in
/// the strategy's own carrier.
fn carrying(
    shop: &Shop,
    strategy: Strategy,
    backend: &dyn SessionBackend,
    changes: &[ClientChange],
) -> Forwarded {
    let over_https = shop.registry.secure_cookies();
    let cookies: Vec<String> = changes
        .iter()
        .filter_map(|change| match change {
            ClientChange::SetCookie { name, value, .. } => {
                Some(format!("{}={value}", cookie_name(name, over_https)))
            }
            _ => None,
        })
        .collect();
    let credential = changes.iter().find_map(|change| match change {
        ClientChange::Credential(value) => Some(value.clone()),
        _ => None,
    });
    Forwarded {
        strategy,
        cookie: HeaderValue::from_str(&cookies.join("; "))
            .ok()
            .filter(|_| !cookies.is_empty()),
        authorization: None,
        query: None,
        current: own_carrier(backend.carriers()).zip(credential),
    }
}
