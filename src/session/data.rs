//! What a session holds, whichever strategy keeps it.
//!
//! Only identifiers and quantities live here: names and prices come from the catalog on every
//! request, so a tampered or stale session can never change what something costs.

use crate::clock::now_unix;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bumped when the serialized shape changes, so an old cookie or token decodes as invalid
/// instead of as a wrong session.
pub const FORMAT: u8 = 2;

/// How long a session lasts at most, however active (the absolute timeout), unless the server
/// is configured otherwise (`SESSION_MAX_AGE_SECONDS`).
pub const DEFAULT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// The most distinct products one cart may hold; keeps every encoding bounded.
pub const MAX_CART_LINES: usize = 100;

/// A product's id as the catalog knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(pub i64);

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How many of one product a cart line holds: 1 to 99, checked on construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u8);

impl Quantity {
    pub const MIN: i64 = 1;
    pub const MAX: i64 = 99;

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A quantity outside 1 to 99.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("quantity must be between 1 and 99, got {0}")]
pub struct InvalidQuantity(pub i64);

impl TryFrom<i64> for Quantity {
    type Error = InvalidQuantity;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if (Self::MIN..=Self::MAX).contains(&value) {
            Ok(Self(value as u8))
        } else {
            Err(InvalidQuantity(value))
        }
    }
}

impl From<Quantity> for i64 {
    fn from(value: Quantity) -> Self {
        i64::from(value.0)
    }
}

/// The logged-in user, as much as a session needs to know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
}

/// One product in the cart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
}

/// Why a cart change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error(transparent)]
    Quantity(#[from] InvalidQuantity),
    #[error("the cart holds at most {MAX_CART_LINES} different products")]
    TooManyLines,
}

/// A session: who (or a guest) and their cart, plus the bookkeeping every strategy shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    /// The serialized shape's version, see [`FORMAT`].
    #[serde(rename = "v")]
    pub format: u8,
    pub user: Option<SessionUser>,
    pub cart: Vec<CartLine>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last save.
    pub last_seen: i64,
    /// Incremented on every save, so two copies of one session can be told apart by age.
    pub revision: u64,
    /// Unix seconds after which the session is over however active it is: the absolute
    /// timeout, counted from its creation and again from login. It travels inside the payload
    /// (the sealed cookie, the signed claims, the server's record), so no client can extend it.
    pub expires_by: i64,
    /// The login this session belongs to, whatever strategy keeps it now: a random handle made
    /// at login and kept through id rotation and strategy switches, so that the login can be
    /// listed, and ended from elsewhere. `None` for guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
}

impl SessionData {
    /// A new guest with an empty cart, lasting at most [`DEFAULT_MAX_AGE`].
    pub fn guest() -> Self {
        Self::guest_for(DEFAULT_MAX_AGE)
    }

    /// A new guest with an empty cart, lasting at most `max_age`.
    pub fn guest_for(max_age: std::time::Duration) -> Self {
        let now = now_unix();
        Self {
            format: FORMAT,
            user: None,
            cart: Vec::new(),
            created_at: now,
            last_seen: now,
            revision: 0,
            expires_by: now.saturating_add(max_age.as_secs() as i64),
            login: None,
        }
    }

    /// Whether the absolute timeout has passed.
    pub fn is_past_max_age(&self) -> bool {
        self.expires_by <= now_unix()
    }

    /// Whether anything worth storing is here: a fresh guest needs no storage at all.
    pub fn is_blank(&self) -> bool {
        self.user.is_none() && self.cart.is_empty()
    }

    /// Total number of items (not lines).
    pub fn item_count(&self) -> u32 {
        self.cart
            .iter()
            .map(|line| u32::from(line.quantity.get()))
            .sum()
    }

    pub fn quantity_of(&self, product: ProductId) -> Option<Quantity> {
        self.cart
            .iter()
            .find(|line| line.product_id == product)
            .map(|line| line.quantity)
    }

    /// Adds to a line, creating it if needed; the sum must stay within 1 to 99.
    pub fn add_item(&mut self, product: ProductId, quantity: Quantity) -> Result<(), CartError> {
        match self.cart.iter_mut().find(|line| line.product_id == product) {
            Some(line) => {
                let sum = i64::from(line.quantity) + i64::from(quantity);
                line.quantity = Quantity::try_from(sum)?;
            }
            None => {
                if self.cart.len() >= MAX_CART_LINES {
                    return Err(CartError::TooManyLines);
                }
                self.cart.push(CartLine {
                    product_id: product,
                    quantity,
                });
            }
        }
        Ok(())
    }

    /// Sets a line's quantity, creating the line if needed.
    pub fn set_quantity(
        &mut self,
        product: ProductId,
        quantity: Quantity,
    ) -> Result<(), CartError> {
        match self.cart.iter_mut().find(|line| line.product_id == product) {
            Some(line) => line.quantity = quantity,
            None => return self.add_item(product, quantity),
        }
        Ok(())
    }

    /// Removes a line; returns whether it was there.
    pub fn remove_item(&mut self, product: ProductId) -> bool {
        let before = self.cart.len();
        self.cart.retain(|line| line.product_id != product);
        self.cart.len() != before
    }

    pub fn clear_cart(&mut self) {
        self.cart.clear();
    }

    /// Marks a save: bumps the revision and the last-seen time.
    pub fn touch(&mut self) {
        self.revision += 1;
        self.last_seen = now_unix();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qty(n: i64) -> Quantity {
        Quantity::try_from(n).unwrap()
    }

    #[test]
    fn quantity_accepts_one_to_ninety_nine_only() {
        assert!(Quantity::try_from(0).is_err());
        assert!(Quantity::try_from(-1).is_err());
        assert!(Quantity::try_from(100).is_err());
        assert_eq!(Quantity::try_from(1).unwrap().get(), 1);
        assert_eq!(Quantity::try_from(99).unwrap().get(), 99);
    }

    #[test]
    fn a_quantity_out_of_range_does_not_deserialize() {
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("250").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("7").unwrap(), qty(7));
    }

    #[test]
    fn adding_twice_sums_the_line_and_caps_at_ninety_nine() {
        let mut data = SessionData::guest();
        data.add_item(ProductId(1), qty(60)).unwrap();
        data.add_item(ProductId(1), qty(39)).unwrap();
        assert_eq!(data.quantity_of(ProductId(1)), Some(qty(99)));
        assert_eq!(
            data.add_item(ProductId(1), qty(1)),
            Err(CartError::Quantity(InvalidQuantity(100)))
        );
        assert_eq!(data.cart.len(), 1);
    }

    #[test]
    fn set_remove_and_clear_change_only_what_they_name() {
        let mut data = SessionData::guest();
        data.add_item(ProductId(1), qty(2)).unwrap();
        data.add_item(ProductId(2), qty(3)).unwrap();
        data.set_quantity(ProductId(2), qty(5)).unwrap();
        assert_eq!(data.item_count(), 7);
        assert!(data.remove_item(ProductId(1)));
        assert!(!data.remove_item(ProductId(1)));
        assert_eq!(data.item_count(), 5);
        data.clear_cart();
        assert!(data.cart.is_empty());
    }

    #[test]
    fn a_cart_refuses_a_line_past_the_limit() {
        let mut data = SessionData::guest();
        for id in 0..MAX_CART_LINES as i64 {
            data.add_item(ProductId(id), qty(1)).unwrap();
        }
        assert_eq!(
            data.add_item(ProductId(-1), qty(1)),
            Err(CartError::TooManyLines)
        );
    }
}
