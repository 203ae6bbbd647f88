//! What a shopper does to their session: the typed facade over [`Session`] that handlers call,
//! never raw keys. Every change is stored before the answer is built, so the answer carries
//! the new credential and a failed store leaves the cart as it was.

use super::{accounts, Shop};
use crate::{
    error::{AppError, ErrorCode},
    model::{CartItemView, CartView, SessionView, UserView},
};
use session_strategies::{data::CartError, Notice, ProductId, Quantity, Session, Strategy};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// The session as the client sees it, priced from the catalog.
pub fn view(shop: &Shop, session: &Session) -> SessionView {
    let data = session.data();
    let items: Vec<CartItemView> = data
        .cart
        .iter()
        .filter_map(|line| {
            let product = shop.catalog.get(line.product_id)?;
            let quantity = i64::from(line.quantity);
            Some(CartItemView {
                product_id: product.id,
                name: product.name.clone(),
                quantity,
                unit_price_cents: product.price_cents,
                line_total_cents: product.price_cents * quantity,
            })
        })
        .collect();
    let cart = CartView {
        count: items.iter().map(|item| item.quantity).sum(),
        total_cents: items.iter().map(|item| item.line_total_cents).sum(),
        items,
    };
    SessionView {
        strategy: session.strategy().id().to_owned(),
        user: data.user.map(|user| UserView {
            id: user.id,
            username: user.username,
        }),
        cart,
        expires_at: session.expires_at().and_then(rfc3339),
        credential: session.credential(),
        refresh_token: session.refresh_token(),
        client_bytes: session.client_bytes(),
        notice: session.notice().map(|notice| {
            match notice {
                Notice::SessionExpired => "session_expired",
                Notice::SessionInvalid => "session_invalid",
            }
            .to_owned()
        }),
    }
}

fn rfc3339(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

fn product(shop: &Shop, id: i64) -> Result<ProductId, AppError> {
    let id = ProductId(id);
    shop.catalog
        .get(id)
        .map(|_| id)
        .ok_or_else(|| AppError::not_found(format!("there is no product {id}")))
}

fn quantity(value: i64) -> Result<Quantity, AppError> {
    Quantity::try_from(value)
        .map_err(|error| AppError::new(ErrorCode::InvalidQuantity, error.to_string()))
}

/// Adds `quantity` (1 to 99) of a product.
pub async fn add_item(
    shop: &Shop,
    session: &Session,
    product_id: i64,
    quantity_to_add: i64,
) -> Result<SessionView, AppError> {
    let product = product(shop, product_id)?;
    let quantity = quantity(quantity_to_add)?;
    session
        .change(|data| data.add_item(product, quantity).map_err(AppError::from))
        .await?;
    Ok(view(shop, session))
}

/// Sets a line's quantity; 0 removes it.
pub async fn set_quantity(
    shop: &Shop,
    session: &Session,
    product_id: i64,
    new_quantity: i64,
) -> Result<SessionView, AppError> {
    let product = product(shop, product_id)?;
    if new_quantity == 0 {
        return remove_item(shop, session, product_id).await;
    }
    let quantity = quantity(new_quantity)?;
    session
        .change(|data| {
            data.set_quantity(product, quantity)
                .map_err(|error: CartError| AppError::from(error))
        })
        .await?;
    Ok(view(shop, session))
}

/// Removes a line; removing what is not there is not an error.
pub async fn remove_item(
    shop: &Shop,
    session: &Session,
    product_id: i64,
) -> Result<SessionView, AppError> {
    let product = product(shop, product_id)?;
    session
        .change(|data| {
            data.remove_item(product);
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(view(shop, session))
}

pub async fn empty_cart(shop: &Shop, session: &Session) -> Result<SessionView, AppError> {
    session
        .change(|data| {
            data.clear_cart();
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(view(shop, session))
}

/// Logs in, keeping the guest's cart, under a new session key.
pub async fn log_in(
    shop: &Shop,
    session: &Session,
    username: &str,
    password: &str,
) -> Result<SessionView, AppError> {
    if username.is_empty() || username.len() > 64 || password.len() > 256 {
        return Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "Wrong username or password.",
        ));
    }
    let user = accounts::authenticate(&shop.pool, username, password).await?;
    session.log_in(user).await?;
    Ok(view(shop, session))
}

pub async fn log_out(shop: &Shop, session: &Session) -> Result<SessionView, AppError> {
    session.log_out().await?;
    Ok(view(shop, session))
}

/// The view a page's script may see: a credential an HttpOnly cookie carries stays out of reach
/// of scripts; only a URL token, which every link must carry anyway, is kept.
pub fn browser_view(mut view: SessionView) -> SessionView {
    let in_url = view
        .strategy
        .parse::<Strategy>()
        .is_ok_and(|strategy| strategy.properties().credential_in_url);
    if !in_url {
        view.credential = None;
    }
    view.refresh_token = None;
    view
}

/// Trades a refresh token for new tokens (API clients of the `jwt` strategy).
pub async fn refresh_tokens(
    shop: &Shop,
    session: &Session,
    access_token: &str,
    refresh_token: &str,
) -> Result<SessionView, AppError> {
    session
        .refresh(Strategy::Jwt, access_token, refresh_token)
        .await?;
    Ok(view(shop, session))
}

/// Moves the session to another strategy.
pub async fn switch_strategy(
    shop: &Shop,
    session: &Session,
    strategy: &str,
) -> Result<SessionView, AppError> {
    let target: Strategy =
        strategy
            .parse()
            .map_err(|error: session_strategies::strategy::UnknownStrategy| {
                AppError::new(ErrorCode::StrategyUnknown, error.to_string())
            })?;
    session.switch_to(target).await?;
    Ok(view(shop, session))
}
