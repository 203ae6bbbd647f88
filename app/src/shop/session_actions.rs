//! What a visitor does to the session itself rather than the cart: log in and out, trade a
//! refresh token, move to another strategy.

use super::{
    accounts,
    session_view::view,
    your_sessions::{self, Visitor},
    Shop,
};
use crate::{
    error::{AppError, ErrorCode},
    model::SessionView,
};
use session_strategies::{strategy::UnknownStrategy, Session, Strategy};

/// Logs in, keeping the guest's cart, under a new session key. Failures are counted per
/// username and per client `address` (where known); past either limit the answer is `429`
/// until the window ends, right password or not, so guessing gets no faster.
pub async fn log_in(
    shop: &Shop,
    session: &Session,
    username: &str,
    password: &str,
    visitor: &Visitor,
) -> Result<SessionView, AppError> {
    let address = visitor.address.as_deref();
    if username.is_empty() || username.len() > 64 || password.len() > 256 {
        return Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "Wrong username or password.",
        ));
    }
    let limits = shop.login_limits;
    let user_key = format!("user:{}", username.to_lowercase());
    let address_key = address.map(|address| format!("address:{address}"));
    shop.login_attempts
        .check(&user_key, limits.per_username)
        .await?;
    if let Some(address_key) = &address_key {
        shop.login_attempts
            .check(address_key, limits.per_address)
            .await?;
    }
    match accounts::authenticate(&shop.pool, username, password).await {
        Ok(user) => {
            shop.login_attempts.clear(&user_key).await;
            session.log_in(user).await?;
            your_sessions::record_login(shop, session, visitor).await?;
            Ok(view(shop, session))
        }
        Err(error) => {
            if error.code == ErrorCode::InvalidCredentials {
                shop.login_attempts.count(&user_key).await;
                if let Some(address_key) = &address_key {
                    shop.login_attempts.count(address_key).await;
                }
            }
            Err(error)
        }
    }
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
