//! The session as a client sees it: priced from the catalog, and for pages, without what an
//! HttpOnly cookie keeps from scripts.

use super::Shop;
use crate::model::{CartItemView, CartView, SessionView, UserView};
use session_strategies::{Notice, Session};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// The session as the client sees it, priced from the catalog.
pub fn view(shop: &Shop, session: &Session) -> SessionView {
    super::your_sessions::seen(shop, session);
    let data = session.data();
    let url_credential = session.url_credential();
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
        // A URL token is in every link anyway; other tokens only for clients that keep them.
        credential: url_credential
            .as_ref()
            .map(|token| token.value.clone())
            .or_else(|| {
                session
                    .keeps_tokens()
                    .then(|| session.credential())
                    .flatten()
            }),
        url_param: url_credential.map(|token| token.param),
        refresh_token: session
            .keeps_tokens()
            .then(|| session.refresh_token())
            .flatten(),
        client_bytes: session.client_bytes(),
        notice: notice(session),
        instance: shop.instance.to_string(),
    }
}

/// `session_expired` or `session_invalid` when the request's session could not be used.
fn notice(session: &Session) -> Option<String> {
    session.notice().map(|notice| {
        match notice {
            Notice::SessionExpired => "session_expired",
            Notice::SessionInvalid => "session_invalid",
        }
        .to_owned()
    })
}

fn rfc3339(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// The view a page's script may see: a credential an HttpOnly cookie carries stays out of reach
/// of scripts; only a URL token, which every link must carry anyway, is kept.
pub fn browser_view(mut view: SessionView) -> SessionView {
    if view.url_param.is_none() {
        view.credential = None;
    }
    view.refresh_token = None;
    view
}
