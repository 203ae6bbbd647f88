//! What a visitor does to the session itself rather than the cart: log in and out, trade a
//! refresh token, move to another strategy.

use super::{accounts, known_devices, session_view::view, visitor::Visitor, your_sessions, Shop};
use crate::{
    error::{AppError, ErrorCode},
    model::SessionView,
};
use session_strategies::{strategy::UnknownStrategy, Session, SessionUser, Strategy};

/// Logs in, keeping the guest's cart, under a new session key.
///
/// Every attempt is counted before the password is checked, in one atomic step, and refused
/// with `429` past a limit until the window ends, right password or not. From a browser that
/// logged in as this user before ([`known_devices`]), the attempt counts against
/// that device only; from anywhere else, against the username and the client's address, so
/// that guessing from many addresses gets no faster than from one. A right password takes its
/// own attempt back. The price, stated in `docs/SECURITY.md`: while someone guesses a user's
/// password, the user can log in only from a known device or with a magic link.
pub async fn log_in(
    shop: &Shop,
    session: &Session,
    username: &str,
    password: &str,
    visitor: &Visitor,
) -> Result<SessionView, AppError> {
    if username.is_empty() || username.len() > 64 || password.len() > 256 {
        return Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "Wrong username or password.",
        ));
    }
    let limits = shop.login_limits;
    let username_key = username.to_lowercase();
    let device = visitor
        .device
        .as_deref()
        .and_then(|token| known_devices::known_device(shop, token, &username_key));
    let counters: Vec<(String, u32)> = match device {
        Some(device) => vec![(format!("device:{device}"), limits.per_username)],
        None => std::iter::once((format!("user:{username_key}"), limits.per_username))
            .chain(
                visitor
                    .address_key()
                    .map(|address| (format!("address:{address}"), limits.per_address)),
            )
            .collect(),
    };
    shop.login_attempts.attempt_all(counters.clone()).await?;
    let user = accounts::authenticate(&shop.pool, username, password).await?;
    for (key, _) in &counters {
        shop.login_attempts.forgive(key).await;
    }
    logged_in(shop, session, user, visitor).await
}

/// Logs `user` in (the password or the link checked), keeping the guest's cart, and marks this
/// browser a known device of theirs when it keeps the session in cookies anyway.
pub async fn logged_in(
    shop: &Shop,
    session: &Session,
    user: SessionUser,
    visitor: &Visitor,
) -> Result<SessionView, AppError> {
    let username = user.username.to_lowercase();
    session.log_in(user).await?;
    your_sessions::record_login(shop, session, visitor).await?;
    known_devices::remember(shop, session, &username);
    Ok(view(shop, session))
}

/// Ends the session wherever it lives, every copy of its login included.
pub async fn log_out(shop: &Shop, session: &Session) -> Result<SessionView, AppError> {
    let login = session.data().login;
    session.log_out().await?;
    your_sessions::ended_by_logout(shop, login).await?;
    Ok(view(shop, session))
}

/// Trades a refresh token for new tokens (API clients of the strategy that issues them).
pub async fn refresh_tokens(
    shop: &Shop,
    session: &Session,
    access_token: &str,
    refresh_token: &str,
) -> Result<SessionView, AppError> {
    session.refresh(access_token, refresh_token).await?;
    Ok(view(shop, session))
}

/// Moves the session to another strategy.
pub async fn switch_strategy(
    shop: &Shop,
    session: &Session,
    strategy: &str,
) -> Result<SessionView, AppError> {
    let target: Strategy = strategy.parse().map_err(|error: UnknownStrategy| {
        AppError::new(ErrorCode::StrategyUnknown, error.to_string())
    })?;
    session.switch_to(target).await?;
    your_sessions::moved(shop, session).await?;
    Ok(view(shop, session))
}
