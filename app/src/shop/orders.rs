//! Checkout and order history: [`place`] and [`history`] over the shop database, which the
//! orders service runs; [`checkout`] and [`list`] for a request's session, which the shop sends
//! to the orders service ([`super::orders_service`]), emptying the cart once the order is
//! placed. Where no orders service is configured (`ORDERS_URL=off`, and the tests that run the
//! shop alone in one process), the shop calls [`place`] and [`history`] itself.

use super::{catalog::Catalog, orders_service::ask, session_view, Shop};
use crate::{
    error::AppError,
    model::{CheckoutView, OrderItemView, OrderView, OrdersView, PlacedOrder, Product},
};
use http::{request::Parts, Method};
use session_strategies::{CartLine, Session};
use sqlx::AnyPool;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Writes an order of `cart` for `user_id`, priced from `catalog`. A cart with nothing the
/// catalog sells is refused (`422`).
pub async fn place(
    pool: &AnyPool,
    catalog: &Catalog,
    user_id: i64,
    cart: &[CartLine],
) -> Result<PlacedOrder, AppError> {
    let lines = priced(catalog, cart)?;
    let total_cents = lines
        .iter()
        .map(|(product, quantity)| product.price_cents * quantity)
        .sum();
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(AppError::internal)?;
    let order_id = insert_order(pool, user_id, &now, total_cents, &lines).await?;
    Ok(PlacedOrder {
        order_id,
        total_cents,
    })
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

/// Turns the cart into an order and empties the cart.
pub async fn checkout(
    shop: &Shop,
    session: &Session,
    request: &Parts,
) -> Result<CheckoutView, AppError> {
    let data = session.data();
    let user = data.user.clone().ok_or_else(AppError::unauthenticated)?;
    // An empty cart is refused here, before any call.
    priced(&shop.catalog, &data.cart)?;
    // The order first: the orders service reads the cart from the session as the request
    // carries it. Then the cart is emptied, a change to the session and the shop's own job; no
    // transaction spans the two, so should that fail, the order stands and the error says so.
    let (placed, orders_service) = match &shop.orders_service {
        Some(service) => {
            let asked = ask(&**service, Method::POST, session, &shop.registry, request);
            let (placed, served_by) = asked.await?;
            (placed, Some(served_by))
        }
        None => (
            place(&shop.pool, &shop.catalog, user.id, &data.cart).await?,
            None,
        ),
    };
    let emptied = session.change(|data| {
        data.clear_cart();
        Ok::<_, AppError>(())
    });
    emptied.await.map_err(|error| {
        let message = format!(
            "order #{} was placed, but the cart could not be emptied: {}",
            placed.order_id, error.message
        );
        AppError::new(error.code, message).with_status(error.status())
    })?;
    Ok(CheckoutView {
        order_id: placed.order_id,
        total_cents: placed.total_cents,
        session: session_view::view(shop, session),
        orders_service,
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
pub async fn list(shop: &Shop, session: &Session, request: &Parts) -> Result<OrdersView, AppError> {
    let user = session.data().user.ok_or_else(AppError::unauthenticated)?;
    if let Some(service) = &shop.orders_service {
        let asked = ask(&**service, Method::GET, session, &shop.registry, request);
        let (orders, served_by) = asked.await?;
        return Ok(OrdersView {
            orders,
            served_by: Some(served_by),
        });
    }
    Ok(OrdersView {
        orders: history(&shop.pool, user.id).await?,
        served_by: None,
    })
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
