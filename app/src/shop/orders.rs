//! Checkout and order history.

use super::{session_view, Shop};
use crate::{
    error::AppError,
    model::{CheckoutView, OrderItemView, OrderView},
};
use session_strategies::Session;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Turns the cart into an order and empties the cart.
pub async fn checkout(shop: &Shop, session: &Session) -> Result<CheckoutView, AppError> {
    let data = session.data();
    let user = data.user.clone().ok_or_else(AppError::unauthenticated)?;
    let lines: Vec<_> = data
        .cart
        .iter()
        .filter_map(|line| Some((shop.catalog.get(line.product_id)?, i64::from(line.quantity))))
        .collect();
    if lines.is_empty() {
        return Err(AppError::bad_request("the cart is empty").with_status(422));
    }
    let total_cents: i64 = lines
        .iter()
        .map(|(product, quantity)| product.price_cents * quantity)
        .sum();
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(AppError::internal)?;

    // Empty the cart first: the order is written only once the emptied cart is stored, and a
    // failed write puts the cart back. No database transaction stays open across the session
    // store, which may be the same database.
    session
        .change(|data| {
            data.clear_cart();
            Ok::<_, AppError>(())
        })
        .await?;
    let order_id = match insert_order(shop, user.id, &now, total_cents, &lines).await {
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
    shop: &Shop,
    user_id: i64,
    now: &str,
    total_cents: i64,
    lines: &[(&crate::model::Product, i64)],
) -> Result<i64, AppError> {
    let mut tx = shop.pool.begin().await?;
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
    let orders: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, created_at, total_cents FROM orders WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user.id)
    .fetch_all(&shop.pool)
    .await?;
    let items: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT i.order_id, i.product_id, i.name, i.quantity, i.unit_price_cents \
         FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.user_id = $1 ORDER BY i.id",
    )
    .bind(user.id)
    .fetch_all(&shop.pool)
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
