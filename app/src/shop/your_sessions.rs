//! "Your sessions": every login of a user, whatever strategy keeps it, with where and when it
//! was last seen, and ending one or all others. Server-side strategies could delete their own
//! records, but a cookie or a JWT can only be refused; one mechanism serves them all: the
//! login's handle goes on the revocation ledger, and the session layer refuses every session
//! that carries it, on every instance, within about a second ([`session_strategies::logins`]).

use super::{visitor::Visitor, Shop};
use crate::{
    error::{AppError, ErrorCode},
    model::{SessionListing, SessionsView},
};
use session_strategies::{clock::now_unix, Session};
use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Records a login that has just happened in `session`.
pub async fn record_login(
    shop: &Shop,
    session: &Session,
    visitor: &Visitor,
) -> Result<(), AppError> {
    let data = session.data();
    let (Some(handle), Some(user)) = (data.login, data.user) else {
        return Ok(());
    };
    let now = now_unix();
    sqlx::query(
        "INSERT INTO user_sessions (handle, user_id, strategy, created_at, last_seen, instance, browser) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&handle)
    .bind(user.id)
    .bind(session.strategy().id())
    .bind(now)
    .bind(now)
    .bind(&*shop.instance)
    .bind(&visitor.browser)
    .execute(&shop.pool)
    .await?;
    Ok(())
}

/// Notes that the login in `session` was just seen here, under its current strategy: at most
/// once a minute per login and instance, and off the request's path.
pub fn seen(shop: &Shop, session: &Session) {
    static LAST: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    let Some(handle) = session.login() else {
        return;
    };
    {
        let mut last = LAST
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last
            .get(&handle)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        if last.len() > 100_000 {
            last.clear();
        }
        last.insert(handle.clone(), Instant::now());
    }
    let (pool, instance, strategy) = (
        shop.pool.clone(),
        shop.instance.to_string(),
        session.strategy().id(),
    );
    tokio::spawn(async move {
        let updated = sqlx::query(
            "UPDATE user_sessions SET last_seen = $2, instance = $3, strategy = $4 WHERE handle = $1",
        )
        .bind(handle)
        .bind(now_unix())
        .bind(instance)
        .bind(strategy)
        .execute(&pool)
        .await;
        if let Err(error) = updated {
            tracing::warn!(%error, "could not note where a session was seen");
        }
    });
}

/// Forgets logins older than `max_age`, the absolute timeout counted from login, which the
/// session layer enforces under every strategy: a row per login would otherwise outlive it for
/// good. Not by `last_seen`: only pages note it, and a stolen session kept alive by API calls
/// alone must stay listed, so that its owner can still see and end it.
pub async fn sweep(pool: &sqlx::AnyPool, max_age: Duration) -> Result<u64, AppError> {
    let swept = sqlx::query("DELETE FROM user_sessions WHERE created_at < $1")
        .bind(now_unix() - max_age.as_secs() as i64)
        .execute(pool)
        .await?;
    Ok(swept.rows_affected())
}

/// Notes that the login in `session` now lives under another strategy.
pub async fn moved(shop: &Shop, session: &Session) -> Result<(), AppError> {
    let Some(handle) = session.login() else {
        return Ok(());
    };
    sqlx::query("UPDATE user_sessions SET strategy = $2, last_seen = $3 WHERE handle = $1")
        .bind(handle)
        .bind(session.strategy().id())
        .bind(now_unix())
        .execute(&shop.pool)
        .await?;
    Ok(())
}

/// Ends login `handle` everywhere and forgets it.
async fn end(shop: &Shop, handle: &str) -> Result<(), AppError> {
    if let Some(logins) = shop.registry.logins() {
        let until = now_unix() + shop.registry.max_age().as_secs() as i64;
        logins
            .end(handle, until)
            .await
            .map_err(AppError::internal)?;
    }
    sqlx::query("DELETE FROM user_sessions WHERE handle = $1")
        .bind(handle)
        .execute(&shop.pool)
        .await?;
    Ok(())
}

/// Ends the login of `session` (it is logging out): no copy of it anywhere loads again.
pub async fn ended_by_logout(shop: &Shop, handle: Option<String>) -> Result<(), AppError> {
    match handle {
        Some(handle) => end(shop, &handle).await,
        None => Ok(()),
    }
}

fn user_of(session: &Session) -> Result<(i64, Option<String>), AppError> {
    let data = session.data();
    let user = data.user.ok_or_else(AppError::unauthenticated)?;
    Ok((user.id, data.login))
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The signed-in user's sessions, newest first, the current one marked.
pub async fn list(shop: &Shop, session: &Session) -> Result<SessionsView, AppError> {
    let (user_id, current) = user_of(session)?;
    let rows: Vec<(String, String, i64, i64, String, String)> = sqlx::query_as(
        "SELECT handle, strategy, created_at, last_seen, instance, browser FROM user_sessions \
         WHERE user_id = $1 AND created_at > $2 ORDER BY created_at DESC",
    )
    .bind(user_id)
    .bind(now_unix() - shop.registry.max_age().as_secs() as i64)
    .fetch_all(&shop.pool)
    .await?;
    Ok(SessionsView {
        sessions: rows
            .into_iter()
            .map(
                |(handle, strategy, created_at, last_seen, instance, browser)| SessionListing {
                    current: current.as_deref() == Some(handle.as_str()),
                    id: handle,
                    strategy,
                    created_at: rfc3339(created_at),
                    last_seen: rfc3339(last_seen),
                    instance,
                    browser,
                },
            )
            .collect(),
    })
}

/// Ends one of the user's other sessions.
pub async fn end_one(shop: &Shop, session: &Session, id: &str) -> Result<SessionsView, AppError> {
    let (user_id, current) = user_of(session)?;
    if current.as_deref() == Some(id) {
        return Err(AppError::bad_request(
            "this is the session you are using: log out instead",
        ));
    }
    let owner: Option<(i64,)> =
        sqlx::query_as("SELECT user_id FROM user_sessions WHERE handle = $1")
            .bind(id)
            .fetch_optional(&shop.pool)
            .await?;
    if owner.map(|(owner,)| owner) != Some(user_id) {
        return Err(AppError::new(
            ErrorCode::NotFound,
            "you have no such session",
        ));
    }
    end(shop, id).await?;
    list(shop, session).await
}

/// Ends every session of the user but this one.
pub async fn end_all_others(shop: &Shop, session: &Session) -> Result<SessionsView, AppError> {
    let listed = list(shop, session).await?;
    for other in listed.sessions.iter().filter(|listed| !listed.current) {
        end(shop, &other.id).await?;
    }
    list(shop, session).await
}
