//! Signed links that work under every strategy: "share this cart" (anyone with the link gets a
//! copy of the cart, for an hour) and magic login links (sent to the user's mailbox, the demo
//! outbox; one use, 15 minutes). Both are HMAC-signed for their own purpose, so neither can pass for
//! the other or for a session token.

use super::{accounts, outbox, session_view, Shop};
use crate::{
    error::{AppError, ErrorCode},
    model::SessionView,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use session_strategies::{
    clock::now_unix, crypto::url_signer::TokenError, ProductId, Quantity, Session, SessionUser,
};

const SHARE_PURPOSE: &str = "share-cart";
const MAGIC_PURPOSE: &str = "magic-login";
/// How long a shared-cart link works.
pub const SHARE_TTL_SECONDS: i64 = 3600;
/// How long a magic login link works.
pub const MAGIC_TTL_SECONDS: i64 = 15 * 60;

#[derive(Serialize, Deserialize)]
struct SharedCart {
    lines: Vec<(i64, i64)>,
}

#[derive(Serialize, Deserialize)]
struct MagicLogin {
    user_id: i64,
    username: String,
    jti: String,
}

fn link_error(error: TokenError) -> AppError {
    match error {
        TokenError::Expired => AppError::new(ErrorCode::LinkExpired, "this link has expired"),
        TokenError::Malformed | TokenError::BadSignature => invalid_link(),
    }
}

fn invalid_link() -> AppError {
    AppError::new(ErrorCode::LinkInvalid, "this link is not valid")
}

/// Signs `value` for `purpose`, valid for `ttl_seconds`.
fn write<T: Serialize>(
    shop: &Shop,
    purpose: &str,
    value: &T,
    ttl_seconds: i64,
) -> Result<String, AppError> {
    let payload = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(shop.links.sign(purpose, &payload, now_unix() + ttl_seconds))
}

/// The value a token signed for `purpose` carries, if it is genuine and unexpired.
fn read<T: DeserializeOwned>(shop: &Shop, purpose: &str, token: &str) -> Result<T, AppError> {
    let payload = shop.links.verify(purpose, token).map_err(link_error)?;
    serde_json::from_slice(&payload).map_err(|_| invalid_link())
}

/// The path a shared-cart token opens.
pub fn share_path(token: &str) -> String {
    format!("/share/{token}")
}

/// The path a magic-login token opens.
pub fn magic_path(token: &str) -> String {
    format!("/magic/{token}")
}

/// A token that gives whoever opens its link a copy of this session's cart.
pub fn share_cart(shop: &Shop, session: &Session) -> Result<String, AppError> {
    let data = session.data();
    if data.cart.is_empty() {
        return Err(AppError::bad_request(
            "there is nothing in the cart to share",
        ));
    }
    let shared = SharedCart {
        lines: data
            .cart
            .iter()
            .map(|line| (line.product_id.0, i64::from(line.quantity)))
            .collect(),
    };
    write(shop, SHARE_PURPOSE, &shared, SHARE_TTL_SECONDS)
}

/// Puts the shared cart's lines into this session's cart (the larger quantity wins).
pub async fn open_shared_cart(
    shop: &Shop,
    session: &Session,
    token: &str,
) -> Result<SessionView, AppError> {
    let shared: SharedCart = read(shop, SHARE_PURPOSE, token)?;
    session
        .change(|data| {
            for (product, quantity) in &shared.lines {
                let product = ProductId(*product);
                if shop.catalog.get(product).is_none() {
                    continue;
                }
                let quantity = Quantity::try_from(*quantity).map_err(|_| invalid_link())?;
                let keep = data
                    .quantity_of(product)
                    .map_or(quantity, |q| q.max(quantity));
                data.set_quantity(product, keep)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(session_view::view(shop, session))
}

/// Sends a one-use login link to `username`'s mailbox (the demo outbox), if such a user
/// exists. Whoever asks learns nothing either way: the link never comes back to them, and the
/// answer is the same for a user who does not exist. Asking is counted per username and per
/// address (the login limits), so nobody fills a mailbox.
pub async fn send_magic_link(
    shop: &Shop,
    username: &str,
    visitor: &super::visitor::Visitor,
) -> Result<(), AppError> {
    let limits = shop.login_limits;
    let username_key = username.to_lowercase();
    let by_user = (format!("magic:user:{username_key}"), limits.per_username);
    let by_address = visitor
        .address_key()
        .map(|address| (format!("magic:address:{address}"), limits.per_address));
    shop.login_attempts
        .attempt_all(std::iter::once(by_user).chain(by_address))
        .await?;
    let Some(user) = accounts::find(&shop.pool, username).await? else {
        return Ok(());
    };
    let login = MagicLogin {
        user_id: user.id,
        username: user.username.clone(),
        jti: session_strategies::crypto::secrets::random_id(),
    };
    let token = write(shop, MAGIC_PURPOSE, &login, MAGIC_TTL_SECONDS)?;
    outbox::send(
        &shop.pool,
        &user.username,
        "Your login link (one use, 15 minutes)",
        &magic_path(&token),
    )
    .await
}

/// Logs in with a magic link, once.
pub async fn open_magic_link(
    shop: &Shop,
    session: &Session,
    token: &str,
    visitor: &super::visitor::Visitor,
) -> Result<SessionView, AppError> {
    let login: MagicLogin = read(shop, MAGIC_PURPOSE, token)?;
    let spent = sqlx::query(
        "INSERT INTO used_links (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
    )
    .bind(&login.jti)
    .bind(now_unix() + MAGIC_TTL_SECONDS)
    .execute(&shop.pool)
    .await?;
    if spent.rows_affected() == 0 {
        return Err(AppError::new(
            ErrorCode::LinkUsed,
            "this link has already been used",
        ));
    }
    let user = SessionUser {
        id: login.user_id,
        username: login.username,
    };
    let logged_in = super::session_actions::logged_in(shop, session, user, visitor).await;
    if logged_in.is_err() {
        // The link logged nobody in (a store down, a cart too big for a cookie): it stays
        // usable. A second use meanwhile was refused, so it is still used once at most.
        sqlx::query("DELETE FROM used_links WHERE jti = $1")
            .bind(&login.jti)
            .execute(&shop.pool)
            .await?;
    }
    logged_in
}
