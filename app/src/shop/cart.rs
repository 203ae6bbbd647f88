//! Cart edits: the typed facade over [`Session`] that handlers call, never raw keys. Every
//! change is stored before the answer is built, so the answer carries the new credential and a
//! failed store leaves the cart as it was.

use super::{session_view::view, Shop};
use crate::{
    error::{AppError, ErrorCode},
    model::SessionView,
};
use session_strategies::{session::data::CartError, ProductId, Quantity, Session};

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
