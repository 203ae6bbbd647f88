//! Checkout and order history: [`place`] and [`history`] over the shop database, which the
//! orders service runs; [`checkout`] and [`list`] for a request's session.

use super::{catalog::Catalog, session_view, Shop};
use crate::{
    error::AppError,
    model::{CheckoutView, OrderItemView, OrderView, Product},
};
use session_strategies::{CartLine, Session};
use sqlx::AnyPool;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Writes an order of `cart` for `user_id`, priced from `catalog`: its id and total. A cart with
/// nothing the catalog sells is refused (`422`).
pub async fn place(
    pool: &AnyPool,
    catalog: &Catalog,
    user_id: i64,
    cart: &[CartLine],
) -> Result<(i64, i64), AppError> {
    let lines = priced(catalog, cart)?;
    let total_cents = total(&lines);
    let order_id = insert_order(pool, user_id, &now()?, total_cents, &lines).await?;
    Ok((order_id, total_cents))
}

fn priced<'c>(
    catalog: &'c Catalog,
    cart: &[CartLine],
) -> Result<Vec<(&'c Product, i64)>, AppError> {
    let lines: Vec<_> = cart
        .iter()
        .filter_map(|line| Some((catalog.get(line.product_id)?, i64::from(line.quantity))))
        .collect();
    if lines.is_empty() {
        return Err(AppError::bad_request("the cart is empty").with_status(422));
    }
    Ok(lines)
}

fn total(lines: &[(&Product, i64)]) -> i64 {
    lines
        .iter()
        .map(|(product, quantity)| product.price_cents * quantity)
        .sum()
}

fn now() -> Result<String, AppError> {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(AppError::internal)
}

/// Turns the cart into an order and empties the cart.
pub async fn checkout(shop: &Shop, session: &Session) -> Result<CheckoutView, AppError> {
    let data = session.data();
    let user = data.user.clone().ok_or_else(AppError::unauthenticated)?;
    let lines = priced(&shop.catalog, &data.cart)?;
    let total_cents = total(&lines);
    let now = now()?;

    // Empty the cart first: the order is written only once the emptied cart is stored, and a
    // failed write puts the cart back. No database transaction stays open across the session
    // store, which may be the same database.
    session
        .change(|data| {
            data.clear_cart();
            Ok::<_, AppError>(())
        })
        .await?;
    let order_id = match insert_order(&shop.pool, user.id, &now, total_cents, &lines).await {
        Ok(order_id) => order_id,
        Err(error) => {
            let cart = data.cart.clone();
            if let Err(restore) = session
                .change(|data| {
                    data.cart = cart.clone();
                    Ok::<_, AppError>(())
                })
                .await
            {
                tracing::error!(%restore, "could not put the cart back after a failed checkout");
            }
            return Err(error);
        }
    };
    Ok(CheckoutView {
        order_id,
        total_cents,
        session: session_view::view(shop, session),
    })
}

async fn insert_order(
    pool: &AnyPool,
    user_id: i64,
    now: &str,
    total_cents: i64,
    lines: &[(&Product, i64)],
) -> Result<i64, AppError> {
    let mut tx = pool.begin().await?;
    let (order_id,): (i64,) = sqlx::query_as(
        "INSERT INTO orders (user_id, created_at, total_cents) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(user_id)
    .bind(now)
    .bind(total_cents)
    .fetch_one(&mut *tx)
    .await?;
    for (product, quantity) in lines {
        sqlx::query(
            "INSERT INTO order_items (order_id, product_id, name, quantity, unit_price_cents) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(order_id)
        .bind(product.id)
        .bind(&product.name)
        .bind(quantity)
        .bind(product.price_cents)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(order_id)
}

/// The logged-in user's orders, newest first.
pub async fn list(shop: &Shop, session: &Session) -> Result<Vec<OrderView>, AppError> {
    let user = session.data().user.ok_or_else(AppError::unauthenticated)?;
    history(&shop.pool, user.id).await
}

/// `user_id`'s orders, newest first.
pub async fn history(pool: &AnyPool, user_id: i64) -> Result<Vec<OrderView>, AppError> {
    let orders: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, created_at, total_cents FROM orders WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let items: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT i.order_id, i.product_id, i.name, i.quantity, i.unit_price_cents \
         FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.user_id = $1 ORDER BY i.id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(orders
        .into_iter()
        .map(|(order_id, created_at, total_cents)| OrderView {
            order_id,
            created_at,
            total_cents,
            items: items
                .iter()
                .filter(|item| item.0 == order_id)
                .map(
                    |(_, product_id, name, quantity, unit_price_cents)| OrderItemView {
                        product_id: *product_id,
                        name: name.clone(),
                        quantity: *quantity,
                        unit_price_cents: *unit_price_cents,
                    },
                )
                .collect(),
        })
        .collect())
}
